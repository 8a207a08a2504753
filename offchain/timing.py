"""One timing loop for the throughput benchmarks (embeddings on CPU, the worker on CUDA)."""

from __future__ import annotations

import statistics
import time


def timed(run, batches, count_of=len) -> tuple[float, float]:
    """(items/s, p50 seconds per batch) of `run` over `batches`, after two warm-up batches
    (the first and the last: the smallest and largest shapes, which CUDA and ONNX Runtime plan once)."""
    run(batches[0])
    run(batches[-1])
    latencies, count = [], 0
    start = time.perf_counter()
    for batch in batches:
        t = time.perf_counter()
        run(batch)
        latencies.append(time.perf_counter() - t)
        count += count_of(batch)
    return count / (time.perf_counter() - start), statistics.median(latencies)
