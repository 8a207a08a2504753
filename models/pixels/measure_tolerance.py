"""Measures how far honest backends disagree on `pixels` images and how far
tampered outputs land, to choose the manifest's verification bound.

    python models/pixels/measure_tolerance.py [--images 100] [--markdown out.md]

Every image goes through the runtime's sampler (offchain/diffusion.py) and
the canonical `png-gray8` encoding and back, so the distances are those a
verifier sees: the largest |difference| in grey levels (0..255) over the
256 pixels of an image. Reference: PyTorch (weights.pt, float32, CPU, 1
thread), all images in one batch. For honest settings the table shows the
worst image (the case a bound must accept) and how many pixels differ in
all; for tampered ones the mildest image (the case a bound must still
reject). Inputs: `--images` (digit, seed) pairs, digit = i % 10, seed =
10_000 + i.
"""

from __future__ import annotations

import argparse
import copy
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from offchain import canonical, diffusion, images  # noqa: E402
from offchain.models import load_spec  # noqa: E402
from offchain.runtime import TorchBackend  # noqa: E402


def decoded(pixels: np.ndarray) -> np.ndarray:
    """Encode and decode, as a verifier sees the output."""
    return np.stack([images.decode_png(b) for b in canonical.encode(canonical.PNG, 255, pixels)]).astype(np.int64)


def draw(denoise, sampler: diffusion.Sampler, seeds, digits, *, batch: int) -> np.ndarray:
    out = []
    for start in range(0, len(seeds), batch):
        out.append(diffusion.to_pixels(diffusion.sample(denoise, sampler, seeds[start:start + batch],
                                                        digits[start:start + batch])))
    return decoded(np.concatenate(out))


def ort_denoiser(artifact: bytes, *, threads: int, optimise: bool = True):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    if not optimise:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(artifact, sess_options=options, providers=["CPUExecutionProvider"])
    return lambda x, t, y: session.run(None, {"sample": x, "timestep": t, "label": y})[0]


def torch_denoiser(model, *, threads: int):
    import torch

    def run(x, t, y):
        torch.set_num_threads(threads)
        with torch.no_grad():
            return model(torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(y)).numpy()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    args = parser.parse_args()
    import torch

    spec = load_spec("pixels")
    sampler = diffusion.Sampler.from_manifest(spec.manifest["sampler"])
    artifact = spec.read_artifact()
    model = TorchBackend(spec).model.cpu()
    n = args.images
    seeds = [10_000 + i for i in range(n)]
    digits = [i % 10 for i in range(n)]
    started = time.monotonic()
    reference = draw(torch_denoiser(model, threads=1), sampler, seeds, digits, batch=n)

    half = copy.deepcopy(model)
    with torch.no_grad():
        for p in half.parameters():
            p.copy_(p.half().float())
    honest = {
        "onnxruntime, 1 thread, batch 1": lambda: draw(ort_denoiser(artifact, threads=1), sampler, seeds, digits,
                                                       batch=1),
        "onnxruntime, 2 threads, batch 32": lambda: draw(ort_denoiser(artifact, threads=2), sampler, seeds, digits,
                                                         batch=32),
        "onnxruntime, no graph optimisation, 1 batch": lambda: draw(ort_denoiser(artifact, threads=2, optimise=False),
                                                                    sampler, seeds, digits, batch=n),
        "torch, 2 threads, batch 16": lambda: draw(torch_denoiser(model, threads=2), sampler, seeds, digits,
                                                   batch=16),
    }
    rng = np.random.default_rng(0)
    exact = torch_denoiser(model, threads=2)

    def gpu_like(x, t, y):  # TF32-like arithmetic: relative noise 2**-11 on every predicted noise
        eps = exact(x, t, y)
        return (eps * (1 + rng.normal(0, 2**-11, eps.shape))).astype(np.float32)

    honest["simulated: relative noise 2^-11 on every step (TF32-like GPU arithmetic)"] = lambda: draw(
        gpu_like, sampler, seeds, digits, batch=n)
    ort = ort_denoiser(artifact, threads=2)
    tampered = {
        "fp16 weights (torch)": lambda: draw(torch_denoiser(half, threads=2), sampler, seeds, digits, batch=n),
        "10 DDIM steps instead of 20": lambda: draw(ort, diffusion.Sampler(**{**sampler.__dict__, "steps": 10}),
                                                    seeds, digits, batch=n),
        "no guidance (w = 1, half the compute)": lambda: draw(
            ort, diffusion.Sampler(**{**sampler.__dict__, "guidance": 1.0}), seeds, digits, batch=n),
        "guidance 2.5 instead of 2": lambda: draw(
            ort, diffusion.Sampler(**{**sampler.__dict__, "guidance": 2.5}), seeds, digits, batch=n),
        "another seed": lambda: draw(ort, sampler, [s + 1 for s in seeds], digits, batch=n),
        "another digit": lambda: draw(ort, sampler, seeds, [(d + 1) % 10 for d in digits], batch=n),
    }
    rows = []
    for name, run in honest.items():
        got = run()
        gaps = np.abs(got - reference).reshape(n, -1)
        rows.append(("honest", name, int(gaps.max()), int((gaps > 0).sum()), int((gaps.max(axis=1) > 0).sum())))
    for name, run in tampered.items():
        got = run()
        gaps = np.abs(got - reference).reshape(n, -1)
        rows.append(("tampered", name, int(gaps.max(axis=1).min()), int((gaps > 0).sum()),
                     int((gaps.max(axis=1) > 0).sum())))
    seconds = time.monotonic() - started
    lines = [
        f"{n} images ({n * 256:,} pixels), reference torch float32 CPU 1 thread; {platform.processor() or 'cpu'}, "
        f"{seconds:.0f} s; bound in the manifest: max_abs <= {spec.verification['bound']} grey levels",
        "",
        "| kind | setting | max abs (honest: worst image; tampered: mildest image) | pixels differing | "
        "images differing |",
        "|---|---|---|---|---|",
        *[f"| {kind} | {name} | {gap} | {pixels:,} | {count} / {n} |" for kind, name, gap, pixels, count in rows],
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
