"""Pay for inferences and collect verified outputs: for app builders.

    ape run infer --model digits --input models/digits/sample.json        # pay, wait, verify, print
    ape run infer --model 1 --input FILE --url https://host/input.json     # the worker fetches the hosted copy
    ape run infer --model digits --input FILE --no-wait                    # pay now, fetch later
    ape run infer fetch REQUEST_ID [--model digits]                         # a result, verified against the chain
    ape run infer refund REQUEST_ID                                         # an unserved request after its deadline
    ape run infer list                                                      # your requests and their states

The input is checked against the model's schema before anything is paid. --ttl and --timeout take
durations (`10m`, `2h`; a bare number is seconds). Needs a deployment on that network and a running
worker (`ape run worker start`). Every command takes --network and --account.
"""

from pathlib import Path

import click
from ape import chain

from offchain.cli import chain_command, withdraw_owed, deployment_of
from offchain.cli import DefaultRequestGroup, console, fmt_eth, fmt_time, parse_count, parse_duration, resolve_account, \
    table
from offchain.client import InferenceClient
from offchain.errors import InvalidInput, ModelNotFound
from offchain.inputs import parse as check_input
from offchain.models import load_spec
from offchain.serve import find_model_id

STATES = {1: "requested", 2: "claimed", 3: "fulfilled", 4: "challenged", 5: "finalized", 6: "refunded"}
LABELS = {"class": "predicted class"}
STATE_MASK = 0x7F  # the state without the callback flag




@click.group(cls=DefaultRequestGroup)
def cli():
    """Request inferences, fetch and verify results, refund, list."""


def model_spec(registry, model: str):
    """(model id, spec) from an on-chain id or a model folder name."""
    if model.isdigit():
        model_id = int(model)
        found = [e.metadata_uri for e in registry.ModelRegistered.range(0, None, search_topics={"model_id": model_id})]
        if not found:
            raise ModelNotFound(f"no model {model_id} on this chain: `ape run model list` shows the registered ones")
        return model_id, load_spec(found[0].rstrip("/").rsplit("/", 1)[-1])
    spec = load_spec(model)
    return find_model_id(registry, spec.artifact_hash), spec


@chain_command(
    cli,
    click.option("--model", "model", required=True, help="Model id on-chain, or a model folder name (e.g. digits)."),
    click.option("--input", "input_paths", required=True, multiple=True,
                 help="The input document (JSON file). Repeat it to pay for several inputs in one transaction "
                 "(a batched request: each input inline, at most 256 bytes as a data: URI)."),
    click.option("--url", default=None, help="Where the worker fetches the input (http/https/ipfs) instead of "
                 "inline; --input is the same bytes, hashed and checked here (one input only)."),
    click.option("--ttl", default="10m", show_default=True, help="Time until the request may be refunded."),
    click.option("--timeout", default="2m", show_default=True, help="How long to wait for a worker."),
    click.option("--no-wait", is_flag=True, help="Pay and print the request id; `infer fetch` it later."),
)
def request(provider, account, model, input_paths, url, ttl, timeout, no_wait):
    """Pay for one inference (or one per --input, in one transaction), wait for it and print the verified output."""
    sender = resolve_account(account, provider)
    ttl_s, timeout_s = parse_duration(ttl, "--ttl"), parse_duration(timeout, "--timeout")
    paths = [Path(p) for p in input_paths]
    for path in paths:
        if not path.is_file():
            raise InvalidInput(f"--input {path} is not a file")
    if url is not None and not url.startswith(("http://", "https://", "ipfs://")):
        raise InvalidInput(f"--url '{url}' must start with http://, https:// or ipfs://")
    if url is not None and len(paths) > 1:
        raise InvalidInput("--url names one input: pass one --input with it")
    deployment = deployment_of(provider)
    model_id, spec = model_spec(deployment.ModelRegistry, model)
    documents = [path.read_bytes() for path in paths]
    for document in documents:
        check_input(spec.input_schema, document)  # a wrong input is refused here, before it is paid for
    active, _ = deployment.ModelRegistry.model_terms(model_id)
    if not active:
        raise InvalidInput(f"model {model_id} is not active (pending, suspended or retired): it cannot be paid for")
    client = InferenceClient(deployment.InferenceMarket, sender)
    price = client.quote(model_id)
    if provider.get_balance(sender.address) < price * len(documents):
        raise InvalidInput(f"the requests cost {fmt_eth(price * len(documents))} ETH; your balance is lower")
    if len(documents) == 1:
        request_ids = [client.request(model_id, documents[0], input_uri=url, ttl=ttl_s)]
    else:
        request_ids = client.request_many(model_id, documents, ttl=ttl_s, value_each=price)
    for request_id in request_ids:
        console.print(f"request {request_id}: paid {fmt_eth(price)} ETH for model {model_id}")
    if no_wait:
        console.print(f"fetch them with `ape run infer fetch REQUEST_ID`; refundable after "
                      f"{fmt_time(chain.blocks.head.timestamp + ttl_s)} if no worker serves them")
        return
    for request_id in request_ids:
        view = client.wait(request_id, timeout=timeout_s)
        _print_result(client, request_id, spec, view.worker)


def _print_result(client, request_id: int, spec, worker) -> None:
    verified = client.fetch(request_id, spec)
    rows = [("worker", worker), ("result hash (on-chain)", "0x" + verified.result_hash.hex()),
            ("verified", "yes: the fetched result hashes to the attested hash")]
    for key, value in verified.decoded.items():
        rows.append((LABELS.get(key, key), ", ".join(f"{p:.3f}" for p in value) if isinstance(value, list) else value))
    console.print(table(f"Request {request_id}", ["field", "value"], rows))


def _request(market, request_id: str):
    request_id = parse_count(request_id, "REQUEST_ID")
    if request_id > market.request_count():
        raise InvalidInput(f"no request {request_id} on this chain: `ape run infer list` shows yours")
    return request_id, market.get_request(request_id)


@chain_command(
    cli,
    click.argument("request_id"),
    click.option("--model", "model", default=None, help="Model folder whose encoding to decode with "
                 "[default: the request's model]."),
)
def fetch(provider, account, request_id, model):
    """Fetch a fulfilled request's result from its worker and verify it against the chain."""
    sender = resolve_account(account, provider)
    deployment = deployment_of(provider)
    request_id, view = _request(deployment.InferenceMarket, request_id)
    state = view.state & STATE_MASK
    if state not in (3, 5):
        raise InvalidInput(f"request {request_id} is {STATES.get(state, state)}, not fulfilled: "
                           + ("wait for a worker" if state < 3 else "it has no result to fetch"))
    _, spec = model_spec(deployment.ModelRegistry, model or str(view.model_id))
    _print_result(InferenceClient(deployment.InferenceMarket, sender), request_id, spec, view.worker)


@chain_command(cli, click.argument("request_id"))
def refund(provider, account, request_id):
    """Take back the payment of a request no worker served by its deadline (then `withdraw`)."""
    sender = resolve_account(account, provider)
    market = deployment_of(provider).InferenceMarket
    request_id, view = _request(market, request_id)
    state, now = view.state & STATE_MASK, chain.blocks.head.timestamp
    if state not in (1, 2):
        raise InvalidInput(f"request {request_id} is {STATES.get(state, state)}: only unserved requests are refunded")
    if now <= view.deadline:
        raise InvalidInput(f"request {request_id} may still be served until {fmt_time(view.deadline, now)}: "
                           f"refund after that")
    market.refund(request_id, sender=sender)
    console.print(f"request {request_id} refunded: {fmt_eth(market.owed(view.requester))} ETH owed to "
                  f"{view.requester} (`ape run infer withdraw`)")


@chain_command(cli)
def withdraw(provider, account):
    """Collect the ETH the market owes you (refunds)."""
    sender = resolve_account(account, provider)
    market = deployment_of(provider).InferenceMarket
    withdraw_owed(market.owed(sender), lambda: market.withdraw(sender=sender), "the market owes you nothing")


@chain_command(cli, name="list")
def list_command(provider, account):
    """Your requests: model, price, state, deadline."""
    sender = resolve_account(account, provider)
    market = deployment_of(provider).InferenceMarket
    logs = list(market.InferenceRequested.range(0, None, search_topics={"requester": sender.address}))
    now = chain.blocks.head.timestamp
    rows = []
    for log in logs:
        view = market.get_request(log.request_id)
        rows.append((log.request_id, log.model_id, fmt_eth(log.payment), STATES.get(view.state & STATE_MASK, "?"),
                     fmt_time(log.deadline, now)))
    console.print(table(f"Requests of {sender.address}", ["id", "model", "paid (ETH)", "state", "deadline"], rows))
