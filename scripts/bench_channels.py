"""Real-time paid inference: gas per inference amortized over settlements,
beside the per-request path; latency and throughput of paid calls through
the worker's channel API beside an unpaid FastAPI + ONNX Runtime server
(offchain/channels/baseline.py), from one run, clients in their own processes.

    ape run bench_channels                 # embedded chain
    ape run bench_channels --network ethereum:local:foundry
    ape run bench_channels --skip-gas --model minilm   # a real model (MiniLM sentence embeddings)
"""

import os

import click
from ape import accounts, project
from offchain.cli import Command, console, quiet_ape, require_local, table, user_errors
from offchain.demos.bench import BENCH_MODELS, channel_gas, channel_latency


@click.command(cls=Command)
@click.option("--calls", default=200, show_default=True, type=click.IntRange(1),
              help="Sequential paid calls for the latency figures.")
@click.option("--clients", default=8, show_default=True, type=click.IntRange(2, 8),
              help="Concurrent clients for the throughput figure (one client is the latency figure).")
@click.option("--rounds", default=2, show_default=True, type=click.IntRange(1),
              help="Times each measure is taken (best kept).")
@click.option("--model", type=click.Choice(BENCH_MODELS), default="digits", show_default=True,
              help="The model served: digits (a tiny one: the payment's cost shows most) or minilm.")
@click.option("--credit", default=10, show_default=True, type=click.IntRange(1),
              help="Also pay with a voucher every this many calls (paid ahead); 1: only a voucher every call.")
@click.option("--skip-gas", is_flag=True, help="Only the API figures.")
@user_errors
def cli(provider, calls, clients, rounds, model, credit, skip_gas):
    require_local(provider, "the benchmark (it advances time)")
    quiet_ape()
    where = f"{provider.network.name}:{provider.name}"
    if not skip_gas:
        single, rows = channel_gas(project, accounts.test_accounts)
        console.print(table(f"Channel operations on {where}", ["operation", "gas"], single))
        console.print(table(
            "Gas per paid inference",
            ["inferences per settlement", "settlement only", "with open + close of the channel",
             "per-request path (batched request + claim/fulfil/finalize, batches of 100)"],
            rows,
        ))
    console.print(table(
        f"Paid calls of {model} through the worker's channel API beside the unpaid baseline on {where} "
        f"({os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.2f} at the start)",
        ["measure", "unpaid (FastAPI + ONNX Runtime)", "paid (channel API)", "paid vs unpaid"],
        channel_latency(project, accounts.test_accounts, calls=calls, clients=clients, rounds=rounds,
                        model=model, credit=credit)))
