"""Trains the digits classifier and writes its artifacts and manifest.

    python models/digits/build.py        (or: make models)

Data: the handwritten digits that scikit-learn ships inside its package
(1,797 8x8 images; nothing is downloaded). A fixed seed and a fixed split
make the build reproducible on the same library versions; the manifest
records the keccak256 of every artifact, and the on-chain artifact hash is
that of model.onnx.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from eth_utils import keccak
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import N_CLASSES, N_PIXELS, DigitsMLP  # noqa: E402

SEED = 7
HELD_OUT = 0.2  # fraction of the data never trained on
EPOCHS = 60
OPSET = 17


def held_out_split():
    """(x_train, x_test, y_train, y_test) as float32 / int64; the same split every time."""
    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=HELD_OUT, random_state=SEED, stratify=y)


def train(x_train: np.ndarray, y_train: np.ndarray) -> DigitsMLP:
    """Trains on the GPU when there is one (results then differ in the last
    bits; the committed artifact was built on a CPU), and returns a CPU model."""
    torch.manual_seed(SEED)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = DigitsMLP().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = torch.nn.NLLLoss()
    xs, ys = torch.from_numpy(x_train).to(device), torch.from_numpy(y_train).to(device)
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        order = torch.randperm(len(xs), generator=generator).to(device)
        for start in range(0, len(xs), 64):
            batch = order[start : start + 64]
            optimiser.zero_grad()
            loss = loss_fn(torch.log(model(xs[batch]) + 1e-9), ys[batch])
            loss.backward()
            optimiser.step()
    return model.cpu().eval()


def export(model: DigitsMLP, folder: Path, accuracy: float, held_out: int, *, name: str = "digits",
           description: str = "8x8 handwritten digit classifier (MLP 64-64-64-10), trained on scikit-learn's digits",
           training: dict | None = None) -> dict:
    """Writes model.onnx, weights.pt, model.py and manifest.json into `folder`; returns the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / "model.onnx"
    torch.onnx.export(
        model,
        torch.zeros(1, N_PIXELS),
        str(onnx_path),
        input_names=["pixels"],
        output_names=["probabilities"],
        dynamic_axes={"pixels": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    weights_path = folder / "weights.pt"
    torch.save(model.state_dict(), weights_path)
    if folder != HERE:
        (folder / "model.py").write_text((HERE / "model.py").read_text())
    manifest = {
        "name": name,
        "description": description,
        "artifact": {"file": "model.onnx", "keccak256": "0x" + keccak(onnx_path.read_bytes()).hex()},
        "torch": {
            "file": "weights.pt",
            "keccak256": "0x" + keccak(weights_path.read_bytes()).hex(),
            "module": "model.py",
            "class": "DigitsMLP",
        },
        "runtime": {"onnx_opset": OPSET, "backends": ["onnxruntime", "torch"]},
        "input": {
            "format": "json",
            "field": "pixels",
            "shape": [N_PIXELS],
            "dtype": "float32",
            "min": 0,
            "max": 16,
            "max_bytes": 2048,
        },
        "output": {"name": "probabilities", "shape": [N_CLASSES], "dtype": "float32"},
        "canonical_encoding": {"kind": "class-index+probs", "scale": 1000},
        "evaluation": {"held_out_fraction": HELD_OUT, "held_out_samples": held_out, "accuracy": round(accuracy, 4)},
        "training": training or {"seed": SEED, "epochs": EPOCHS, "optimiser": "adam", "learning_rate": 3e-3,
                                 "batch": 64},
        "price_wei": 10**15,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def accuracy_of(model: DigitsMLP, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(dim=-1).numpy() == y).mean())


def main() -> None:
    x_train, x_test, y_train, y_test = held_out_split()
    model = train(x_train, y_train)
    accuracy = accuracy_of(model, x_test, y_test)
    manifest = export(model, HERE, accuracy, len(y_test))
    print(f"held-out accuracy {accuracy:.4f} on {len(y_test)} digits; artifact {manifest['artifact']['keccak256']}")


if __name__ == "__main__":
    main()
