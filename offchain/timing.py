"""One timing loop for the throughput benchmarks (embeddings on CPU, the worker on CUDA), and the
embeddings round both measure: raw ONNX Runtime against the worker's runtime on the same batches."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass


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


@dataclass
class EmbeddingRound:
    """One batch size of an embeddings benchmark: the batches and the two measurements."""

    texts: list[list[str]]  # the batches of texts
    documents: list[list[bytes]]  # the same batches as JSON input documents
    padded: list  # the same batches tokenized and padded: (input_ids, attention_mask)
    raw: tuple[float, float]  # raw ONNX Runtime (session.run on padded ids): items/s, p50 s per batch
    worker: tuple[float, float]  # the worker's runtime (parse, tokenize, run, encode): items/s, p50 s


def embedding_round(runtime, spec, texts: list[str], documents: list[bytes], size: int,
                    rounds: int) -> EmbeddingRound:
    """`rounds` batches of `size` from the first texts (and their documents), timed through the raw
    graph and through the worker's runtime."""
    from offchain import inputs
    from offchain.runtime import TextTokenizer

    session = runtime.backend.session
    n = size * rounds
    chunk_texts = [texts[i : i + size] for i in range(0, n, size)]
    chunk_docs = [documents[i : i + size] for i in range(0, n, size)]
    padded = [TextTokenizer.pad(runtime.tokenizer.lengths_and_ids(c)) for c in chunk_texts]
    raw = timed(lambda b: session.run(None, {"input_ids": b[0], "attention_mask": b[1]}), padded,
                count_of=lambda b: b[0].shape[0])
    worker = timed(lambda docs: runtime.infer([inputs.parse(spec.input_schema, d) for d in docs]), chunk_docs)
    return EmbeddingRound(chunk_texts, chunk_docs, padded, raw, worker)
