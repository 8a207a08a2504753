"""Trains the `pixels` image generator (a class-conditional diffusion model
for 16x16 handwritten digits) and writes its artifacts and manifest.

    python models/pixels/build.py            train, export, check against the manifest's hashes
    python models/pixels/build.py --write    (re)write model.onnx, weights.pt and manifest.json
    (or: make models)

Data: the 1,797 8x8 digits scikit-learn ships inside its package (nothing
is downloaded), upsampled to 16x16 (bilinear) and scaled to [-1, 1].
Training: DDPM noise prediction (cosine schedule, 1,000 steps), AdamW with a
cosine learning-rate decay, an exponential moving average of the weights
(the EMA is what is exported), the label dropped to NULL_LABEL one time in
ten for classifier-free guidance. Every random draw comes from fixed seeds
and the CPU thread count is fixed (THREADS), so a rebuild on the same
torch/onnx versions (recorded in the manifest) reproduces model.onnx and
weights.pt byte for byte; the build refuses to pass otherwise.

Quality is measured with the project's own digits classifier
(models/digits): EVAL_PER_DIGIT images per digit are generated through the
ONNX graph and the runtime's sampler, pooled 2x2 back to 8x8, and the
fraction the classifier reads as the digit asked for is recorded.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
from offchain import diffusion  # noqa: E402

SEED = 11
THREADS = 1  # CPU threads while training: fixed, so the float reductions (and the weights) repeat
TRAIN_STEPS = 800  # optimiser steps
BATCH = 128
LEARNING_RATE = 2e-3
EMA_DECAY = 0.995
LABEL_DROP = 0.1  # fraction of training examples whose label is replaced by NULL_LABEL
OPSET = 17
EVAL_PER_DIGIT = 20
SAMPLER = {"method": "ddim", "eta": 0, "train_steps": 1000, "schedule": "squaredcos_cap_v2", "steps": 20,
           "guidance": 2.0, "null_label": 10, "size": 16, "clip_sample": True}

# Chosen from `measure_tolerance.py` (table in docs/models.md): honest CPU
# backends (ORT vs torch, 1 vs 2 threads, batch 1 vs 32) agree on every pixel,
# arithmetic noise at TF32 precision moves a pixel by at most 1 grey level,
# the mildest shortcut measured (10 DDIM steps instead of 20) by at least 4.
VERIFICATION = {
    "policy": "tolerance",
    "metric": "max_abs",
    "bound": 2,
    "compare": "decoded 16x16 grey pixels (0..255) of the same input, pixel by pixel",
    "measured_by": "models/pixels/measure_tolerance.py",
}


def model_module():
    import importlib.util

    found = importlib.util.spec_from_file_location("nc_pixels_model", HERE / "model.py")
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


def dataset() -> tuple[torch.Tensor, torch.Tensor]:
    """(images [n, 1, 16, 16] in [-1, 1], labels [n])."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]
    big = torch.nn.functional.interpolate(small, size=(16, 16), mode="bilinear", align_corners=False)
    return big.clamp(0, 1) * 2 - 1, torch.from_numpy(digits.target.astype(np.int64))


def train(log=print) -> torch.nn.Module:
    """The EMA weights after TRAIN_STEPS steps, in eval mode."""
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    module = model_module()
    model = module.PixelsUNet()
    ema = module.PixelsUNet()
    ema.load_state_dict(model.state_dict())
    images, labels = dataset()
    acp = torch.from_numpy(diffusion.alphas_cumprod(SAMPLER["train_steps"])).float()
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, TRAIN_STEPS, eta_min=LEARNING_RATE / 20)
    generator = torch.Generator().manual_seed(SEED)
    started = time.monotonic()
    for step in range(TRAIN_STEPS):
        index = torch.randint(0, len(images), (BATCH,), generator=generator)
        x0, y = images[index], labels[index].clone()
        y[torch.rand(BATCH, generator=generator) < LABEL_DROP] = module.NULL_LABEL
        t = torch.randint(0, SAMPLER["train_steps"], (BATCH,), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        a = acp[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        loss = torch.nn.functional.mse_loss(model(xt, t.float(), y), noise)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
                p_ema.mul_(EMA_DECAY).add_(p, alpha=1 - EMA_DECAY)
        if step % 100 == 0 or step == TRAIN_STEPS - 1:
            log(f"step {step:5d}  loss {loss.item():.4f}  {time.monotonic() - started:6.1f} s")
    return ema.eval()


def export_onnx(model: torch.nn.Module) -> bytes:
    import tempfile

    sample = torch.zeros(2, 1, 16, 16)
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            model, (sample, torch.zeros(2), torch.zeros(2, dtype=torch.int64)), str(path),
            input_names=["sample", "timestep", "label"], output_names=["noise"],
            dynamic_axes={"sample": {0: "batch"}, "timestep": {0: "batch"}, "label": {0: "batch"},
                          "noise": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
        return path.read_bytes()


def weights_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def evaluate(artifact: bytes) -> dict:
    """Class-conditional accuracy: the digits classifier's reading of generated images."""
    import onnxruntime as ort

    session = ort.InferenceSession(artifact, providers=["CPUExecutionProvider"])
    sampler = diffusion.Sampler.from_manifest(SAMPLER)

    def denoise(x, t, y):
        return session.run(None, {"sample": x, "timestep": t, "label": y})[0]

    labels = [d for d in range(10) for _ in range(EVAL_PER_DIGIT)]
    seeds = list(range(1, len(labels) + 1))
    pixels = diffusion.to_pixels(diffusion.sample(denoise, sampler, seeds, labels))
    pooled = pixels.reshape(-1, 8, 2, 8, 2).astype(np.float32).mean(axis=(2, 4)) / 255.0 * 16.0
    classifier = ort.InferenceSession((ROOT / "models" / "digits" / "model.onnx").read_bytes(),
                                      providers=["CPUExecutionProvider"])
    read = classifier.run(None, {classifier.get_inputs()[0].name: pooled.reshape(-1, 64)})[0].argmax(axis=1)
    per_digit = [float((read[d * EVAL_PER_DIGIT:(d + 1) * EVAL_PER_DIGIT] == d).mean()) for d in range(10)]
    return {"metric": "fraction of generated images the digits classifier (models/digits) reads as the digit "
                      "asked for, after 2x2 pooling to 8x8",
            "samples": len(labels), "seeds": f"1..{len(labels)}",
            "conditional_accuracy": round(float((read == np.asarray(labels)).mean()), 4),
            "per_digit": [round(v, 2) for v in per_digit]}


def _keccak(data: bytes) -> str:
    from eth_utils import keccak

    return "0x" + keccak(data).hex()


def toolchain() -> dict:
    return {name: importlib.metadata.version(name) for name in ("torch", "onnx", "scikit-learn", "numpy")}


def manifest(artifact: bytes, weights: bytes, quality: dict, seconds: float) -> dict:
    params = sum(p.numel() for p in model_module().PixelsUNet().parameters())
    return {
        "name": "pixels",
        "description": "16x16 handwritten-digit image generator (class-conditional diffusion UNet, "
                       f"{params:,} parameters, DDIM 20 steps), trained on scikit-learn's digits",
        "artifact": {"file": "model.onnx", "keccak256": _keccak(artifact), "bytes": len(artifact),
                     "build": "models/pixels/build.py", "toolchain": toolchain()},
        "torch": {"file": "weights.pt", "keccak256": _keccak(weights), "module": "model.py",
                  "class": "PixelsUNet"},
        "runtime": {"onnx_opset": OPSET, "backends": ["onnxruntime", "torch"],
                    "inputs": ["sample", "timestep", "label"], "output": "noise"},
        "sampler": dict(SAMPLER),
        "input": {"kind": "image-seed", "format": "json", "fields": {"seed": "uint256", "digit": "0..9"},
                  "max_bytes": 256},
        "output": {"name": "image", "shape": [16, 16], "dtype": "uint8", "format": "png"},
        "canonical_encoding": {"kind": "png-gray8", "scale": 255, "size": 16},
        "verification": dict(VERIFICATION),
        "evaluation": quality,
        "training": {"seed": SEED, "steps": TRAIN_STEPS, "batch": BATCH, "optimiser": "adamw",
                     "learning_rate": LEARNING_RATE, "schedule": "cosine", "ema_decay": EMA_DECAY,
                     "label_drop": LABEL_DROP, "threads": THREADS, "seconds_on_this_machine": round(seconds),
                     "data": "sklearn.datasets.load_digits (1,797 images, 8x8 -> 16x16 bilinear)"},
        "price_wei": 10**15,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write model.onnx, weights.pt and manifest.json")
    args = parser.parse_args()
    started = time.monotonic()
    model = train()
    seconds = time.monotonic() - started
    artifact, weights = export_onnx(model), weights_bytes(model)
    if args.write:
        quality = evaluate(artifact)
        (HERE / "model.onnx").write_bytes(artifact)
        (HERE / "weights.pt").write_bytes(weights)
        (HERE / "manifest.json").write_text(json.dumps(manifest(artifact, weights, quality, seconds), indent=2) + "\n")
        print(f"pixels: trained in {seconds:.0f} s, {len(artifact):,} bytes, artifact {_keccak(artifact)}, "
              f"conditional accuracy {quality['conditional_accuracy']}; manifest written")
        return
    recorded = json.loads((HERE / "manifest.json").read_text())
    problems = [f"{what} hashes to {_keccak(data)}, the manifest says {recorded[key]['keccak256']}"
                for what, key, data in (("model.onnx", "artifact", artifact), ("weights.pt", "torch", weights))
                if _keccak(data) != recorded[key]["keccak256"]]
    if problems:
        sys.exit(f"pixels: the rebuild differs ({'; '.join(problems)}; toolchain {toolchain()}, recorded "
                 f"{recorded['artifact']['toolchain']})")
    print(f"pixels: rebuilt in {seconds:.0f} s; model.onnx and weights.pt match the manifest byte for byte")


if __name__ == "__main__":
    main()
