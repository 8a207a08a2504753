"""Serve paid calls over prepaid channels: the worker's HTTP API.

    ape run serve_channels --network ethereum:local:foundry --account <alias> --port 8700 [--models digits]
        [--state-dir DIR]

OpenAPI description at /openapi.json (interactive at /docs). The channel
books (accepted vouchers, receipt seqs, receipts not yet settled) live in
--state-dir (default NC_CHANNEL_STATE, else ~/.neural-commons/channels) and
survive restarts. The server follows the channels' events; it settles a
channel whose payer asked to close at once, the rest when the unsettled
total passes --settle-eth, on POST /v1/settle, and when it stops. The
receipt key is NC_SIGNER_KEY (hex), or the account's own key for test
accounts.
"""

import os
import signal

import click
from ape import chain
from ape.cli import account_option

from offchain.channels import ChannelWorker, create_app
from offchain.cli import deployment_of
from offchain.cli import Command, console, fmt_eth, parse_amount, resolve_account, user_errors
from offchain.errors import InvalidInput
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.serve import find_model_id


@click.command(cls=Command)
@account_option(prompt=False)
@click.option("--port", default=8700, show_default=True)
@click.option("--models", default="digits", show_default=True, help="Comma-separated model folders to serve.")
@click.option("--settle-eth", default="0.1", show_default=True,
              help="Unsettled ETH that triggers a settlement: '0.1 ether', '500 gwei' or 0.1.")
@click.option("--state-dir", default=None, type=click.Path(file_okay=False),
              help="Where the channel books live [default: NC_CHANNEL_STATE, else ~/.neural-commons/channels].")
@click.option("--tick", default=15.0, show_default=True,
              help="Seconds between looks at the chain's channel events (at most a quarter of the close delay).")
@click.option("--refresh-after", default=15.0, show_default=True,
              help="Seconds a channel's on-chain state is trusted before a call re-reads it (0: every call); "
                   "the events seen every --tick re-read it sooner.")
@user_errors
def cli(provider, account, port, models, settle_eth, state_dir, tick, refresh_after):
    import uvicorn

    worker = resolve_account(account, provider)
    threshold = parse_amount(settle_eth, "--settle-eth")
    for name, value in (("--tick", tick), ("--refresh-after", refresh_after)):
        if value < 0:
            raise InvalidInput(f"{name} must not be negative, got {value}")
    deployment = deployment_of(provider)
    if deployment.WorkerRegistry.active_signer(worker.address) == "0x" + "00" * 20:
        raise InvalidInput(f"{worker.address} is not an active staked worker: `ape run worker register --stake ...` "
                           f"first (`ape run worker status` shows why)")
    registry = deployment.ModelRegistry
    runtimes, prices = {}, {}
    for name in models.split(","):
        spec = load_spec(name)
        model_id = find_model_id(registry, spec.artifact_hash)
        runtimes[model_id] = load_runtime(spec, expected_hash=bytes(registry.models(model_id).artifact_hash))
        prices[model_id] = registry.model_terms(model_id)[1]
    api = ChannelWorker(deployment.PaymentChannels, worker, os.environ.get("NC_SIGNER_KEY") or worker.private_key,
                        runtimes, prices, chain_id=chain.chain_id,
                        settle_threshold=threshold, state_dir=state_dir, tick_every=tick,
                        refresh_after=refresh_after, tamper=_tamper())
    console.print(f"worker {worker.address} serving paid calls on http://127.0.0.1:{port} (models {sorted(runtimes)}); "
                  f"books in {api.ledger.path}; settles past {fmt_eth(threshold)} ETH")
    # uvicorn re-raises SIGTERM once it has shut down; without a handler that would end the process
    # before the shutdown settlement below.
    signal.signal(signal.SIGTERM, _stop)
    try:
        uvicorn.run(create_app(api), host="127.0.0.1", port=port, log_level="warning")
    except SystemExit:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the settlement finish
        done = api.settle()
        console.print(f"settled {done.total} wei on shutdown in {done.transactions} transaction(s)")
        for channel_id, reason in {**done.failed, **done.dropped}.items():
            console.print(f"channel 0x{channel_id.hex()}: {reason}")
        api.close()


def _stop(*_) -> None:
    raise SystemExit(0)


def _tamper():
    """NC_TAMPER (tests and benchmarks only, as for the worker bot): this worker cheats."""
    from offchain.tamper import Tamper

    value = os.environ.get("NC_TAMPER")
    return Tamper.parse(value) if value else None
