"""Worker throughput and end-to-end latency on a real node, against raw ONNX
Runtime on the same inputs (the protocol's overhead), and gas per settled request.

    ape run bench_worker --network ethereum:local:foundry [--requests 100] [--workers 1]
"""

import click
from ape import accounts, project
from offchain.cli import Command, console, quiet_ape, table, user_errors
from offchain.demos.bench import worker_bench


@click.command(cls=Command)
@click.option("--requests", default=100, show_default=True)
@click.option("--workers", default=1, show_default=True)
@user_errors
def cli(provider, requests, workers):
    if provider.name == "test":
        raise click.UsageError("the worker benchmark needs a real node: --network ethereum:local:foundry")
    quiet_ape()
    rows = worker_bench(project, accounts.test_accounts, count=requests, workers=workers)
    console.print(table(f"Worker benchmark on {provider.network.name}:{provider.name}", ["measure", "value"], rows))
