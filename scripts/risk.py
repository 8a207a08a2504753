"""Contract-risk scores through the market, and the token listing registry that acts on them.

    ape run risk score --address 0x...                  # score the code at the head block: pay, wait, verify, print
    ape run risk score --address 0x... --block 1234     # the code as it was at block 1234
    ape run risk list-token --listing 0x... --token 0x...   # pay a TokenListing to review a token
    ape run risk status --listing 0x... --token 0x...       # listed? score? review pending?

`score` sends the reference {address, block, chain_id, code_hash} (the hash of the code at that
block, read here): the worker reads the code from its own node and refuses it unless it hashes
the same, and the result is recomputed here from the code under the model's tolerance.
--ttl and --timeout take durations (`10m`, `2h`). Needs a deployment with the risk model listed
and a running worker (`NC_MODELS=risk`). Every command takes --network and --account.
"""

import click
from ape import chain
from eth_utils import is_address, keccak, to_checksum_address

from offchain import inputs
from offchain.cli import chain_command
from offchain.cli import Command, Group, console, deployment_of, fmt_eth, parse_duration, resolve_account, \
    table, user_errors
from offchain.client import InferenceClient
from offchain.errors import InvalidInput
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.serve import find_model_id


@click.group(cls=Group)
def cli():
    """Score contract code for risky patterns; list tokens through a risk-gated registry."""


def _address(text: str, what: str) -> str:
    if not is_address(text):
        raise InvalidInput(f"{what} '{text}' is not an address (0x and 40 hex digits)")
    return to_checksum_address(text)


def _code(address: str, block: int) -> bytes:
    code = bytes(chain.provider.get_code(address, block_id=block) or b"")
    if not code:
        raise InvalidInput(f"no contract code at {address} at block {block}")
    return code


@chain_command(
    cli,
    click.option("--address", "address", required=True, help="The contract to score."),
    click.option("--block", default=None, type=int, help="Score the code as of this block [default: the head]."),
    click.option("--ttl", default="10m", show_default=True, help="Time until the request may be refunded."),
    click.option("--timeout", default="2m", show_default=True, help="How long to wait for a worker."),
)
def score(provider, account, address, block, ttl, timeout):
    """Pay for a risk score of a contract's code, wait, verify and print it."""
    sender = resolve_account(account, provider)
    ttl_s, timeout_s = parse_duration(ttl, "--ttl"), parse_duration(timeout, "--timeout")
    address = _address(address, "--address")
    head = chain.blocks.head.number
    block = head if block is None else block
    if not 0 <= block <= head:
        raise InvalidInput(f"--block {block} is not mined yet: the head is {head}")
    code = _code(address, block)
    spec = load_spec("risk")
    deployment = deployment_of(provider)
    model_id = find_model_id(deployment.ModelRegistry, spec.artifact_hash)
    document = inputs.encode_contract(chain.chain_id, address, block, keccak(code))
    client = InferenceClient(deployment.InferenceMarket, sender)
    price = client.quote(model_id)
    if provider.get_balance(sender.address) < price:
        raise InvalidInput(f"the request costs {fmt_eth(price)} ETH; your balance is lower")
    request_id = client.request(model_id, document, ttl=ttl_s)
    console.print(f"request {request_id}: paid {fmt_eth(price)} ETH to score {address} at block {block} "
                  f"(code hash 0x{keccak(code).hex()})")
    view = client.wait(request_id, timeout=timeout_s)
    verified = client.fetch(request_id, spec)
    runtime = load_runtime(spec)
    honest, gap = runtime.check(code, verified.result)
    labels = spec.manifest["output"]["labels"]
    rows = [("worker", view.worker), ("result hash (on-chain)", "0x" + verified.result_hash.hex()),
            ("recomputed here", f"{'within' if honest else 'OUTSIDE'} the model's tolerance (max diff {gap:g})")]
    rows += [(label, f"{value * 100:.2f} %") for label, value in zip(labels, verified.decoded["scores"], strict=True)]
    console.print(table(f"Risk of {address} at block {block}", ["field", "value"], rows))
    if not honest:
        raise InvalidInput(f"the worker's result for request {request_id} does not match the model: challenge it")


def _listing(project, address: str):
    listing = project.TokenListing.at(_address(address, "--listing"))
    return listing


@chain_command(
    cli,
    click.option("--listing", "listing_address", required=True, help="The TokenListing registry."),
    click.option("--token", "token", required=True, help="The token to list."),
    name="list-token",
)
def list_token(provider, account, listing_address, token):
    """Pay a TokenListing to review a token's code; the result lists or rejects it at finalization."""
    from ape import project

    sender = resolve_account(account, provider)
    listing = _listing(project, listing_address)
    token = _address(token, "--token")
    _code(token, chain.blocks.head.number)
    if listing.listed(token):
        raise InvalidInput(f"{token} is already listed")
    if listing.pending_request(token):
        raise InvalidInput(f"{token} is under review already (request {listing.pending_request(token)})")
    cost = listing.quote()
    if provider.get_balance(sender.address) < cost:
        raise InvalidInput(f"a review costs {fmt_eth(cost)} ETH; your balance is lower")
    listing.apply(token, sender=sender, value=cost)
    request_id = listing.pending_request(token)
    console.print(f"request {request_id}: paid {fmt_eth(cost)} ETH for a review of {token}; listed if its risk is "
                  f"below {listing.threshold_bps() / 100:g} % when the result is finalized "
                  f"(`ape run risk status --listing {listing.address} --token {token}`)")


@cli.command(cls=Command)
@click.option("--listing", "listing_address", required=True, help="The TokenListing registry.")
@click.option("--token", "token", required=True, help="The token.")
@user_errors
def status(provider, listing_address, token):
    """A token's standing in a TokenListing: listed, last score, pending review."""
    from ape import project

    listing = _listing(project, listing_address)
    token = _address(token, "--token")
    pending = listing.pending_request(token)
    rows = [("listed", "yes" if listing.listed(token) else "no"),
            ("last score", f"{listing.score_of(token) / 100:.2f} %" if listing.scored(token) else "none yet"),
            ("threshold", f"{listing.threshold_bps() / 100:g} %"),
            ("review pending", f"request {pending}" if pending else "no")]
    console.print(table(f"{token} in {listing.address}", ["field", "value"], rows))
