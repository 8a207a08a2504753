"""Pay for one inference and print the verified output.

    ape run infer --model digits --input models/digits/sample.json --network ethereum:local:foundry

Needs a deployment on that network (`ape run prepare_local` or `ape run deploy`)
and a running worker (`silverback run bots.worker:bot ...`).
"""

from pathlib import Path

import click
from ape import project
from ape.cli import ConnectedProviderCommand, account_option

from offchain.cli import console, fmt_eth, resolve_account, table, user_errors
from offchain.client import InferenceClient
from offchain.deploy import load_deployment
from offchain.models import load_spec
from offchain.serve import find_model_id


@click.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.option("--model", "model", required=True, help="Model id on-chain, or a model folder name (e.g. digits).")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ttl", default=600, show_default=True, help="Seconds until the request may be refunded.")
@click.option("--timeout", default=120, show_default=True, help="Seconds to wait for a worker.")
@user_errors
def cli(provider, account, model, input_path, ttl, timeout):
    sender = resolve_account(account, provider)
    deployment = load_deployment(project, provider)
    registry = deployment.ModelRegistry
    if model.isdigit():
        model_id = int(model)
        spec = load_spec(next(e.metadata_uri for e in registry.ModelRegistered.range(0, None)
                              if e.model_id == model_id).rsplit("/", 1)[-1])
    else:
        spec = load_spec(model)
        model_id = find_model_id(registry, spec.artifact_hash)
    client = InferenceClient(deployment.InferenceMarket, sender)
    price = client.quote(model_id)
    request_id = client.request(model_id, input_path.read_bytes(), ttl=ttl)
    console.print(f"request {request_id}: paid {fmt_eth(price)} ETH for model {model_id}; waiting for a worker")
    view = client.wait(request_id, timeout=timeout)
    verified = client.fetch(request_id, spec)
    probabilities = ", ".join(f"{p:.3f}" for p in verified.decoded["probabilities"])
    console.print(table(f"Request {request_id}", ["field", "value"], [
        ("worker", view.worker),
        ("result hash (on-chain)", "0x" + verified.result_hash.hex()),
        ("verified", "yes: the fetched result hashes to the attested hash"),
        ("predicted class", verified.decoded["class"]),
        ("probabilities", probabilities),
    ]))
