"""Canonical output encodings: honest workers on any hardware or backend
produce the same bytes, hence the same result hash.

Floating-point outputs differ across CPU and GPU, ONNX Runtime and PyTorch,
in the last bits. Each model's manifest names an encoding that rounds those
bits away before hashing.

`class-index+probs` (classifiers), at `scale` S:
    bytes  0..31   the predicted class, uint256 big-endian
    bytes 32..     each class probability as round(p * S), uint16 big-endian
The predicted class is the argmax of the *rounded* probabilities (ties go
to the lowest index), so it is a function of the encoded bytes alone.
Backends disagree only when a probability lies within float noise (~1e-7)
of a rounding boundary (an odd multiple of 1 / (2 S)), which at S = 1000 is
a chance of about 1e-4 per probability for noise of 1e-7.
"""

from __future__ import annotations

import numpy as np
from eth_utils import keccak

from offchain.errors import NeuralCommonsError

CLASS_BYTES = 32
PROB_BYTES = 2


def encode(kind: str, scale: int, outputs: np.ndarray) -> list[bytes]:
    """Encodes a batch of model outputs (one row per input)."""
    if kind != "class-index+probs":
        raise NeuralCommonsError(f"unknown canonical encoding '{kind}'")
    if not 0 < scale < 2**16:
        raise NeuralCommonsError(f"scale {scale} does not fit the uint16 encoding")
    quantised = np.rint(np.asarray(outputs, dtype=np.float64) * scale).astype(np.int64).clip(0, scale)
    encoded = []
    for row in quantised:
        predicted = int(np.argmax(row))  # first maximum: lowest index wins ties
        encoded.append(predicted.to_bytes(CLASS_BYTES, "big") + b"".join(int(v).to_bytes(PROB_BYTES, "big") for v in row))
    return encoded


def decode(kind: str, scale: int, data: bytes) -> dict:
    """The predicted class and probabilities back from canonical bytes."""
    if kind != "class-index+probs":
        raise NeuralCommonsError(f"unknown canonical encoding '{kind}'")
    if len(data) < CLASS_BYTES or (len(data) - CLASS_BYTES) % PROB_BYTES:
        raise NeuralCommonsError(f"{len(data)} bytes is not a class-index+probs encoding")
    probs = [
        int.from_bytes(data[i : i + PROB_BYTES], "big") / scale for i in range(CLASS_BYTES, len(data), PROB_BYTES)
    ]
    return {"class": int.from_bytes(data[:CLASS_BYTES], "big"), "probabilities": probs}


def result_hash(data: bytes) -> bytes:
    return keccak(data)
