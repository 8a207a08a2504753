"""Throughput of the contract-risk model on this machine: bytecode features, raw ONNX Runtime, the
worker runtime (features + graph + canonical encoding) and PyTorch, at batch sizes 1-64, on the
runtime code of the 300 contracts of the model's data set (compiled by `models/risk/build.py`, cached
in .cache/risk/; the first run compiles them, ~3 min on 2 cores).

    ape run bench_risk [--rounds 3]
"""

import statistics
import time

import click
import numpy as np

from offchain import bytecode
from offchain.cli import console, table
from offchain.models import load_spec
from offchain.runtime import load_runtime

BATCHES = (1, 8, 32, 64)


def _timed(fn, batches) -> tuple[float, float]:
    """(items/s over the whole run, p50 seconds per batch), after one warm-up call."""
    fn(batches[0])
    times, items = [], 0
    for batch in batches:
        started = time.perf_counter()
        fn(batch)
        times.append(time.perf_counter() - started)
        items += len(batch)
    return items / sum(times), statistics.median(times)


@click.command()
@click.option("--rounds", default=3, show_default=True, help="Passes over the 300 contracts per cell.")
def cli(rounds):
    """Contracts scored per second, per stage and batch size."""
    spec = load_spec("risk")
    build = spec.build_module()
    codes = build.compile_all(build.dataset())
    onnx, torch_rt = load_runtime(spec, "onnxruntime"), load_runtime(spec, "torch")
    features = [bytecode.features(c) for c in codes]
    sizes = [len(c) for c in codes]
    rows = []
    started = time.perf_counter()
    for _ in range(rounds):
        for code in codes:
            bytecode.features(code)
    feature_rate = rounds * len(codes) / (time.perf_counter() - started)
    for size in BATCHES:
        chunks = [codes[i : i + size] for i in range(0, len(codes), size)] * rounds
        feature_chunks = [np.stack(features[i : i + size]) for i in range(0, len(codes), size)] * rounds
        raw = _timed(onnx.backend.run, feature_chunks)
        runtime = _timed(onnx.infer, chunks)
        reference = _timed(torch_rt.infer, chunks)
        rows.append((size, *(f"{rate:,.0f} / {p50 * 1000:.2f} ms" for rate, p50 in (raw, runtime, reference))))
    console.print(f"{len(codes)} contracts, runtime code {min(sizes):,}-{max(sizes):,} bytes "
                  f"(median {int(statistics.median(sizes)):,}); features alone: {feature_rate:,.0f} contracts/s")
    console.print(table("Contract-risk throughput (contracts/s / p50 per batch)",
                        ["batch", "raw ONNX Runtime (features given)", "worker runtime (features + ORT + encoding)",
                         "PyTorch (features + encoding)"], rows))
