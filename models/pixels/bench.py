"""Throughput of the pixels image model as the worker runs it (Runtime.infer: DDIM through the
ONNX graph, canonical PNG encoding), on this machine's CPU (or GPU when ONNX Runtime has CUDA).

    python models/pixels/bench.py [--repeats 5] [--batches 1,8,32]

Prints, per batch size, images/s and the p50 latency of one `infer` call (a batch of requests,
each its own digit and seed), after one warm-up call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from offchain.models import load_spec  # noqa: E402
from offchain.runtime import load_runtime  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", default="1,8,32")
    args = parser.parse_args()
    runtime = load_runtime(load_spec("pixels"))
    print(f"pixels on {runtime.backend.device} ({os.cpu_count()} CPUs), onnxruntime, "
          f"{runtime.spec.manifest['sampler']['steps']} DDIM steps with guidance")
    print("| batch | images/s | p50 per call (ms) |")
    print("|---|---|---|")
    seed = 0
    for batch in (int(b) for b in args.batches.split(",")):
        times = []
        for repeat in range(args.repeats + 1):
            requests = [{"digit": (seed + i) % 10, "seed": seed + i} for i in range(batch)]
            seed += batch
            started = time.perf_counter()
            runtime.infer(requests)
            if repeat:  # the first call warms up
                times.append(time.perf_counter() - started)
        p50 = statistics.median(times)
        print(f"| {batch} | {batch / p50:.1f} | {p50 * 1000:.0f} |")


if __name__ == "__main__":
    main()
