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

`embedding-int32` (sentence embeddings), at `scale` S:
    each element v of the (unit-length) vector as round(v * S), int32
    big-endian two's complement, in order; 4 * dim bytes.
At S = 1e8 the rounding step (1e-8) is far below the backends' float noise
(~3e-7), so honest workers' bytes, hence result hashes, usually differ: an
embedding is checked under its manifest's `verification` policy
(`offchain.verification`: the decoded vectors of the same input compared,
max absolute difference per element against a measured bound), not by hash
equality. The hash still binds the worker to the bytes it served.

`scores-uint256` (scores in [0, 1], e.g. the contract-risk model), at `scale` S:
    each score as round(p * S), uint256 big-endian (one ABI word), in the
    manifest's label order; 32 * n bytes. A contract reads the first score
    with `convert(slice(result, 0, 32), uint256)`. At S = 10,000 (basis points)
    ONNX Runtime and PyTorch differ in a few of every thousand values by one
    step (a float on a rounding boundary), so these are checked under a
    tolerance of one step, not by hash equality.

`png-gray8` (generated images): each image as canonical PNG bytes
(`offchain.images`: 8-bit grey, stored deflate, so the bytes are a function
of the pixels alone). Honest backends agree on nearly every pixel and
differ by at most a grey level or so where a value sits on a rounding
boundary, so images too are checked under a tolerance policy: the decoded
pixels compared, max absolute difference in grey levels.
"""

from __future__ import annotations

import numpy as np
from eth_utils import keccak

from offchain import images
from offchain.errors import NeuralCommonsError

CLASS_BYTES = 32
PROB_BYTES = 2


EMBEDDING = "embedding-int32"
EMBEDDING_BYTES = 4
SCORES = "scores-uint256"
WORD = 32
PNG = "png-gray8"
KINDS = ("class-index+probs", EMBEDDING, SCORES, PNG)


def encode(kind: str, scale: int, outputs: np.ndarray) -> list[bytes]:
    """Encodes a batch of model outputs (one row per input)."""
    if kind == EMBEDDING:
        return encode_embeddings(scale, outputs)
    if kind == SCORES:
        return encode_scores(scale, outputs)
    if kind == PNG:
        return [images.encode_png(np.asarray(image, dtype=np.uint8)) for image in outputs]
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


def result_size(kind: str, scale: int, shape) -> int:
    """The length in bytes of every canonical result of an output of `shape`: each encoding has a fixed size
    (PNG images are stored uncompressed)."""
    return len(encode(kind, scale, np.zeros((1, *shape)))[0])


def decode(kind: str, scale: int, data: bytes) -> dict:
    """The predicted class and probabilities (or the embedding) back from canonical bytes."""
    if kind == EMBEDDING:
        return {"embedding": decode_embedding(scale, data).tolist()}
    if kind == SCORES:
        return {"scores": decode_scores(scale, data).tolist()}
    if kind == PNG:
        pixels = images.decode_png(data)
        return {"image": f"{pixels.shape[1]}x{pixels.shape[0]} grey PNG, {len(data)} bytes",
                "mean grey level": round(float(pixels.mean()), 1)}
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


def encode_embeddings(scale: int, outputs: np.ndarray) -> list[bytes]:
    """`embedding-int32`: each row as round(v * scale), int32 big-endian."""
    if not 0 < scale <= 2**30:
        raise NeuralCommonsError(f"scale {scale} does not fit the int32 encoding of unit vectors")
    values = np.asarray(outputs, dtype=np.float64)
    if values.ndim != 2 or not np.isfinite(values).all() or np.abs(values).max(initial=0) > 1.0 + 1e-6:
        raise NeuralCommonsError("embeddings must be a finite [batch, dim] array of unit-length rows")
    quantised = np.rint(values * scale).astype(">i4")
    return [row.tobytes() for row in quantised]


def decode_embedding(scale: int, data: bytes) -> np.ndarray:
    """The float64 vector back from `embedding-int32` bytes."""
    if not data or len(data) % EMBEDDING_BYTES:
        raise NeuralCommonsError(f"{len(data)} bytes is not an {EMBEDDING} encoding")
    return np.frombuffer(data, dtype=">i4").astype(np.float64) / scale


def encode_scores(scale: int, outputs: np.ndarray) -> list[bytes]:
    """`scores-uint256`: each score in [0, 1] as round(p * scale), one uint256 word each."""
    values = np.asarray(outputs, dtype=np.float64)
    if values.ndim != 2 or not np.isfinite(values).all() or values.min(initial=0) < 0 or values.max(initial=0) > 1:
        raise NeuralCommonsError("scores must be a finite [batch, n] array of values in [0, 1]")
    quantised = np.rint(values * scale).astype(np.int64)
    return [b"".join(int(v).to_bytes(WORD, "big") for v in row) for row in quantised]


def decode_scores(scale: int, data: bytes) -> np.ndarray:
    """The float64 scores back from `scores-uint256` bytes."""
    if not data or len(data) % WORD:
        raise NeuralCommonsError(f"{len(data)} bytes is not a {SCORES} encoding")
    words = [int.from_bytes(data[i : i + WORD], "big") for i in range(0, len(data), WORD)]
    if max(words) > scale:
        raise NeuralCommonsError(f"a {SCORES} value is above the scale {scale}")
    return np.asarray(words, dtype=np.float64) / scale
