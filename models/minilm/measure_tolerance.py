"""Measures how far honest backends disagree on minilm embeddings and how far
tampered outputs land, to choose the manifest's verification bound.

    python models/minilm/measure_tolerance.py [--texts 1200] [--tampered 300] [--markdown out.md]

Reference: PyTorch (eager, float32, CPU), length-sorted batches of 64. Every
output goes through the canonical `embedding-int32` encoding first, so the
distances are those a verifier sees. Per setting it reports, over the texts,
the largest per-element |difference| (max_abs) and 1 - cosine: the maximum
for honest settings (the worst case a bound must accept), the minimum for
tampered ones (the mildest a bound must still reject). The corpus is
`corpus.texts()` (packaged text only, deterministic).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import corpus  # noqa: E402

from offchain import canonical  # noqa: E402
from offchain.models import load_spec  # noqa: E402
from offchain.runtime import TextTokenizer, load_runtime  # noqa: E402


def quantised(spec, rows: np.ndarray) -> np.ndarray:
    """Encode and decode, as a verifier sees the output."""
    kind, scale = spec.encoding
    return np.stack([canonical.decode_embedding(scale, b) for b in canonical.encode(kind, scale, rows)])


def distances(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    max_abs = np.abs(a - b).max(axis=1)
    cos = 1.0 - (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return max_abs, cos


def ort_embed(artifact: bytes, tokenizer: TextTokenizer, texts: list[str], *, threads: int, level: str,
              batch: int) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = {
        "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
    options.log_severity_level = 3
    session = ort.InferenceSession(artifact, sess_options=options, providers=["CPUExecutionProvider"])
    ids = tokenizer.lengths_and_ids(texts)
    out = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(ids[i])) if batch > 1 else list(range(len(texts)))
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        input_ids, mask = TextTokenizer.pad([ids[i] for i in chunk])
        for i, row in zip(chunk, session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0],
                          strict=True):
            out[i] = row
    return np.stack(out)


def torch_embed(model, tokenizer: TextTokenizer, texts: list[str], *, batch: int = 64, dtype=None) -> np.ndarray:
    import torch

    ids = tokenizer.lengths_and_ids(texts)
    out = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    with torch.no_grad():
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            input_ids, mask = TextTokenizer.pad([ids[i] for i in chunk])
            if dtype is None:
                rows = model(torch.from_numpy(input_ids), torch.from_numpy(mask))
            else:
                with torch.autocast("cpu", dtype=dtype):
                    rows = model(torch.from_numpy(input_ids), torch.from_numpy(mask))
            for i, row in zip(chunk, rows.float().numpy(), strict=True):
                out[i] = row
    return np.stack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1200)
    parser.add_argument("--tampered", type=int, default=300, help="texts for the model-level tampering runs")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args()

    import torch

    spec = load_spec("minilm")
    texts = corpus.texts(args.texts)
    tokenizer = TextTokenizer(spec)
    artifact = spec.read_artifact()
    build = spec.build_module()
    model = load_runtime(spec, "torch").backend.model
    started = time.monotonic()
    reference = quantised(spec, torch_embed(model, tokenizer, texts))
    rows: list[tuple[str, str, int, np.ndarray, np.ndarray]] = []

    def honest(label: str, output: np.ndarray) -> None:
        rows.append(("honest", label, len(output), *distances(quantised(spec, output), reference[: len(output)])))
        print(f"  {label}: max_abs {rows[-1][3].max():.3g}", flush=True)

    def tampered(label: str, output: np.ndarray, against: np.ndarray | None = None) -> None:
        ref = reference[: len(output)] if against is None else against
        rows.append(("tampered", label, len(output), *distances(quantised(spec, output), ref)))
        print(f"  {label}: min max_abs {rows[-1][3].min():.3g}", flush=True)

    print(f"{len(texts)} texts; reference: torch eager fp32 batch 64", flush=True)
    for threads, level, batch in ((1, "all", 1), (2, "all", 1), (1, "all", 64), (2, "all", 64),
                                  (2, "basic", 64), (2, "disabled", 64), (1, "disabled", 16)):
        honest(f"onnxruntime {level} opt, {threads} thread(s), batch {batch}",
               ort_embed(artifact, tokenizer, texts, threads=threads, level=level, batch=batch))
    honest("torch eager fp32, batch 1", np.stack([torch_embed(model, tokenizer, [t], batch=1)[0] for t in texts]))
    try:
        import tempfile
        import zipfile
        from io import BytesIO

        from sentence_transformers import SentenceTransformer

        with tempfile.TemporaryDirectory() as tmp:
            zipfile.ZipFile(BytesIO(build.package_zip())).extractall(tmp)
            st = SentenceTransformer(tmp, device="cpu")
            honest("sentence-transformers 6.2.0, batch 32", st.encode(texts, batch_size=32))
    except ImportError:
        print("  sentence-transformers not installed: skipped")

    n = min(args.tampered, len(texts))
    subset = texts[:n]
    rng = np.random.default_rng(0)
    base = reference[:n]

    def variant(mutate) -> torch.nn.Module:
        clone = copy.deepcopy(model)
        with torch.no_grad():
            mutate(clone)
        return clone.eval()

    def round_weights(dtype):
        def mutate(m):
            for p in m.parameters():
                p.copy_(p.to(dtype).float())
        return mutate

    def perturb(relative):
        generator = torch.Generator().manual_seed(1)

        def mutate(m):
            for p in m.parameters():
                p.mul_(1 + relative * torch.randn(p.shape, generator=generator))
        return mutate

    def drop_last_layer(m):
        m.bert.encoder.layer = m.bert.encoder.layer[:-1]

    tampered("weights rounded to fp16", torch_embed(variant(round_weights(torch.float16)), tokenizer, subset))
    tampered("weights rounded to bf16", torch_embed(variant(round_weights(torch.bfloat16)), tokenizer, subset))
    tampered("bf16 compute (autocast)", torch_embed(model, tokenizer, subset, dtype=torch.bfloat16))
    for relative in (1e-4, 1e-3):
        tampered(f"other weights: each x (1 + {relative:g} N(0,1))",
                 torch_embed(variant(perturb(relative)), tokenizer, subset))
    tampered("last layer dropped", torch_embed(variant(drop_last_layer), tokenizer, subset))
    tampered("output rounded to fp16", base.astype(np.float16).astype(np.float64))
    for sigma in (1e-6, 3e-6, 1e-5, 1e-4):
        noisy = base + rng.normal(0, sigma, base.shape)
        tampered(f"gaussian noise sigma {sigma:g} on the output", noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    tampered("swapped inputs (another text's embedding)", np.roll(base, 1, axis=0), against=base)
    truncated = [t[: max(8, len(t) // 2)] for t in subset]
    tampered("input truncated to half", torch_embed(model, tokenizer, truncated))

    table = render(rows, spec, time.monotonic() - started)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)


def render(rows, spec, seconds: float) -> str:
    bound = spec.verification["bound"]
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}; "
             f"reference torch eager fp32 (CPU); outputs through embedding-int32 at scale "
             f"{spec.encoding[1]:,}; {seconds:.0f} s.", "",
             "| kind | setting | texts | max_abs (max / median / min) | 1 - cos (max / min) | "
             f"passes bound {bound:g} |", "|---|---|---:|---|---|---|"]
    for kind, label, count, max_abs, cos in rows:
        passes = int((max_abs <= bound).sum())
        lines.append(f"| {kind} | {label} | {count} | {max_abs.max():.2e} / {np.median(max_abs):.2e} / "
                     f"{max_abs.min():.2e} | {cos.max():.1e} / {cos.min():.1e} | {passes} of {count} |")
    worst_honest = max(r[3].max() for r in rows if r[0] == "honest")
    mildest = min((r[3].min(), r[1]) for r in rows if r[0] == "tampered" and "sigma 1e-06" not in r[1]
                  and "sigma 3e-06" not in r[1])
    lines += ["", f"Worst honest max_abs {worst_honest:.2e}; mildest tampering (noise below the bound aside) "
              f"{mildest[0]:.2e} ({mildest[1]}). Bound {bound:g}: {bound / worst_honest:.0f}x above honest, "
              f"{mildest[0] / bound:.1f}x below that tampering.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
