"""A cheating worker, for tests and the verification benchmark only: the real
worker (`offchain.worker.InferenceWorker`) with its canonical results altered
after an honest run, before they are hashed, signed and served.

    NC_TAMPER=noise:1e-4    gaussian noise of that sigma on a decoded vector (re-normalised
                            for unit-length embeddings), then re-encoded
    NC_TAMPER=flip          the last byte of the result flipped (exact policies)

A tampering worker attests and serves the altered bytes consistently, as a
real cheat would: only re-execution under the model's policy can tell.
Nothing in the package sets NC_TAMPER; only tests and `bench_verification` do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offchain import canonical
from offchain.errors import NeuralCommonsError

MODES = ("noise", "flip")


@dataclass(frozen=True)
class Tamper:
    """How a cheating worker alters each canonical result."""

    mode: str
    size: float = 0.0
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> "Tamper":
        mode, _, size = text.partition(":")
        if mode not in MODES:
            raise NeuralCommonsError(f"unknown tamper mode '{mode}': use noise:<sigma> or flip")
        try:
            value = float(size) if size else 0.0
        except ValueError:
            raise NeuralCommonsError(f"tamper size '{size}' is not a number") from None
        if mode == "noise" and not value > 0:
            raise NeuralCommonsError("noise needs a positive sigma, e.g. noise:1e-4")
        return cls(mode, value)

    def apply(self, encoding: tuple[str, int], result: bytes, index: int = 0) -> bytes:
        """`result` (canonical bytes of `encoding`) altered; `index` seeds the noise per result."""
        if self.mode == "flip":
            return result[:-1] + bytes([result[-1] ^ 0x01])
        kind, scale = encoding
        rng = np.random.default_rng([self.seed, index])
        if kind == canonical.EMBEDDING:
            vector = canonical.decode_embedding(scale, result)
            noisy = vector + rng.normal(0.0, self.size, vector.shape)
            noisy /= np.linalg.norm(noisy)
            return canonical.encode(kind, scale, noisy[None, :])[0]
        if kind == "class-index+probs":
            probs = np.asarray(canonical.decode(kind, scale, result)["probabilities"])
            noisy = np.clip(probs + rng.normal(0.0, self.size, probs.shape), 0.0, 1.0)
            return canonical.encode(kind, scale, noisy[None, :])[0]
        raise NeuralCommonsError(f"no noise tampering for the '{kind}' encoding")
