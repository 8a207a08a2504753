"""The worker's throughput on CUDA for the biggest model the project serves (minilm, sentence
embeddings) against raw ONNX Runtime CUDA on the same texts: a prepared check for a machine with an
NVIDIA GPU and onnxruntime-gpu. No chain needed.

    python -m offchain.demos.gpu [--sizes 1,8,32,64,128] [--rounds 20] [--out gpu.md]
    ape run bench_gpu ...                      # the same (scripts/bench_gpu.py)

Per batch size B: embeddings/s and p50 per batch of
  - raw ONNX Runtime CUDA: the built graph on pre-tokenized, padded ids (session.run only);
  - the worker's runtime: JSON input documents parsed, tokenized, run on CUDA, canonically encoded
    (what a worker does per batch of requests);
and the ratio worker / raw, with the largest difference between the two outputs. Without CUDA it stops
with one line and exit status 1 (it never measures the CPU under a GPU label).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from offchain.timing import embedding_round

ROOT = Path(__file__).resolve().parents[2]


def cuda_or_exit() -> None:
    """One clear line and exit 1 unless ONNX Runtime can run on CUDA here."""
    try:
        import onnxruntime as ort
    except ImportError:
        sys.exit("bench_gpu: onnxruntime is not installed; install onnxruntime-gpu on a machine with an NVIDIA GPU")
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        sys.exit(f"bench_gpu: no CUDA here (ONNX Runtime {ort.__version__} offers {', '.join(available)}); "
                 "run it with onnxruntime-gpu on a machine with an NVIDIA GPU")



def measure(sizes: list[int], rounds: int, *, cpu_dry_run: bool = False) -> list[tuple]:
    import numpy as np

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "models" / "minilm"))
    import corpus

    from offchain import canonical, inputs
    from offchain.models import load_spec
    from offchain.runtime import load_runtime

    spec = load_spec("minilm")
    runtime = load_runtime(spec)
    if runtime.backend.device != "cuda" and not cpu_dry_run:
        sys.exit(f"bench_gpu: ONNX Runtime offers CUDA but the session runs on {runtime.backend.session.get_providers()}"
                 " (CUDA or cuDNN libraries missing?)")
    session = runtime.backend.session
    # The corpus holds about 2,400 sentences; larger runs reuse them (throughput, not accuracy, is measured).
    distinct = corpus.texts(2_000)
    texts = [distinct[i % len(distinct)] for i in range(max(sizes) * rounds)]
    documents = [inputs.encode_text(t) for t in texts]
    _, scale = spec.encoding
    rows = []
    for size in sizes:
        measured = embedding_round(runtime, spec, texts, documents, size, rounds)
        raw, worker, chunk_docs, padded = measured.raw, measured.worker, measured.documents, measured.padded
        # The worker's canonical outputs against the raw graph's float32 (the encoding's rounding and the
        # padding differences are all that may separate them).
        mine = np.stack([canonical.decode_embedding(scale, r)
                         for r in runtime.infer([inputs.parse(spec.input_schema, d) for d in chunk_docs[0]])])
        reference = session.run(None, {"input_ids": padded[0][0], "attention_mask": padded[0][1]})[0]
        gap = float(np.max(np.abs(mine - reference)))
        rows.append((size, raw, worker, gap))
        print(f"batch {size}: raw ONNX Runtime {raw[0]:,.0f}/s, worker runtime {worker[0]:,.0f}/s", flush=True)
    return rows


def gpu_name() -> str:
    import subprocess

    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
        return out.splitlines()[0] if out else "unknown GPU"
    except (OSError, subprocess.SubprocessError):
        return "unknown GPU"


@click.command()
@click.option("--sizes", default="1,8,32,64,128", show_default=True, help="Batch sizes.")
@click.option("--rounds", default=20, show_default=True, help="Batches per size.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the table (markdown) here.")
@click.option("--cpu-dry-run", is_flag=True, help="Run on the CPU to check the script itself (labelled CPU).")
def cli(sizes, rounds, out, cpu_dry_run):
    if not cpu_dry_run:
        cuda_or_exit()
    try:
        sizes = [int(s) for s in sizes.split(",")]
    except ValueError:
        sys.exit(f"bench_gpu: --sizes takes whole numbers separated by commas, not {sizes!r}")
    import onnxruntime as ort

    rows = measure(sizes, rounds, cpu_dry_run=cpu_dry_run)
    where = "the CPU (dry run, not a GPU figure)" if cpu_dry_run else f"{gpu_name()} (CUDAExecutionProvider)"
    lines = [f"minilm on {where}, ONNX Runtime {ort.__version__}, {rounds} batches a size",
             "", "| batch | raw ONNX Runtime: embeddings/s (p50 per batch) | worker runtime: embeddings/s "
             "(p50 per batch) | worker / raw | max output difference |", "|---|---|---|---|---|"]
    for size, raw, worker, gap in rows:
        lines.append(f"| {size} | {raw[0]:,.0f} ({raw[1] * 1e3:.2f} ms) | {worker[0]:,.0f} ({worker[1] * 1e3:.2f} ms) "
                     f"| {worker[0] / raw[0]:.2f} | {gap:.2e} |")
    text = "\n".join(lines)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


if __name__ == "__main__":
    cli()
