"""Verification policies: how two results of the same request are compared.

A model's manifest fixes its policy in a `verification` block (registered
on-chain with the manifest's hash), and every party that judges a result,
the requester's client, a sampling verifier, a committee member in a
dispute, uses the same code here, so they all reach the same verdict:

`exact` (the default when a manifest declares none)
    The canonical bytes (offchain.canonical) must be identical. For integer
    or rounded outputs (the digits classifier's `class-index+probs`), where
    honest backends produce the same bytes.

`tolerance`
    The canonical bytes are decoded to a vector (or an image) and compared
    with a declared `metric` against a declared `bound`:
      `max_abs`  largest per-element absolute difference   (agree: <= bound)
      `cosine`   1 - cosine similarity                     (agree: <= bound)
      `psnr`     peak signal-to-noise ratio in dB, peak = the encoding's
                 full range (255 for 8-bit images)          (agree: >= bound)
    The bound is chosen from measured honest disagreement between backends
    (ONNX Runtime vs PyTorch, thread counts, graph optimisation levels) with
    a wide margin, and checked against tampered outputs
    (`ape run bench_verification`).

`activation-fingerprint` (TOPLOC-style; designed, not yet implemented)
    For language models, where re-generating a whole answer is the expensive
    part and sampled tokens make outputs non-unique. See
    `ActivationFingerprintPolicy` for what the worker commits to and how a
    verifier compares; loading it raises `PolicyNotAvailable` until the first
    language model lands.

A verdict is `Verdict(agrees, distance)`. `agrees` is what a committee member
reveals as `worker_was_right`: "the worker's result agrees with my own
re-execution under the model's policy". A result that does not decode (wrong
length, garbage) never agrees.

Sources: the tolerance idea and "bound from measured honest disagreement" as
in TOPLOC (Ong et al., ICML 2025, arXiv 2501.16007: thresholds on top-k
activation differences chosen so honest runs across GPUs, batch sizes and
attention kernels never fail while a changed model, prompt or precision always
does); see docs/verification.md for the full list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from offchain import canonical, images
from offchain.errors import NeuralCommonsError

EXACT, TOLERANCE, FINGERPRINT = "exact", "tolerance", "activation-fingerprint"
POLICIES = (EXACT, TOLERANCE, FINGERPRINT)
METRICS = ("max_abs", "cosine", "psnr")
HIGHER_IS_CLOSER = ("psnr",)  # metrics where a larger value means closer results


class PolicyError(NeuralCommonsError):
    """A manifest's `verification` block that cannot be used."""


class PolicyNotAvailable(PolicyError):
    """A policy that is designed but has no implementation yet."""


class Verdict(NamedTuple):
    """Whether a worker's result agrees with a reference (the judge's own re-execution),
    and how far apart they are under the policy's metric (0 / inf for `exact`)."""

    agrees: bool
    distance: float


class Policy(Protocol):
    """How two results of the same input are compared."""

    name: str

    def judge(self, result: bytes, reference: bytes) -> Verdict:
        """Whether `result` (the worker's canonical bytes) agrees with `reference` (the judge's own)."""
        ...


@dataclass(frozen=True)
class ExactPolicy:
    """Identical canonical bytes (hence identical result hashes)."""

    name: str = EXACT

    def judge(self, result: bytes, reference: bytes) -> Verdict:
        return Verdict(True, 0.0) if bytes(result) == bytes(reference) else Verdict(False, math.inf)


def distance(metric: str, a: np.ndarray, b: np.ndarray, *, peak: float = 1.0) -> float:
    """How far apart two decoded outputs are, in float64: `max_abs`, `cosine` (1 - cosine
    similarity) or `psnr` (dB, `peak` the signal's full range; inf for identical outputs).
    Outputs of different shapes are infinitely far apart (psnr: 0 dB)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if metric not in METRICS:
        raise PolicyError(f"unknown verification metric '{metric}': use {', '.join(METRICS)}")
    if a.shape != b.shape:
        return 0.0 if metric == "psnr" else math.inf
    if metric == "max_abs":
        return float(np.abs(a - b).max(initial=0.0))
    if metric == "cosine":
        norms = np.linalg.norm(a) * np.linalg.norm(b)
        return float(1.0 - a.ravel() @ b.ravel() / norms) if norms else math.inf
    mse = float(np.mean((a - b) ** 2)) if a.size else 0.0
    return math.inf if mse == 0 else float(10.0 * math.log10(peak * peak / mse))


def decode_vector(encoding: dict, data: bytes) -> tuple[np.ndarray, float]:
    """A result's canonical bytes as a float vector, and the peak (full range) psnr uses:
    `embedding-int32` (the vector), `class-index+probs` (the probabilities), `image-rgb8`
    / any encoding whose bytes are uint8 pixels (the pixels, peak 255)."""
    kind, scale = encoding["kind"], int(encoding.get("scale", 1))
    if kind == canonical.EMBEDDING:
        return canonical.decode_embedding(scale, data), 2.0
    if kind == "class-index+probs":
        return np.asarray(canonical.decode(kind, scale, data)["probabilities"], dtype=np.float64), 1.0
    if kind == canonical.SCORES:
        return canonical.decode_scores(scale, data), 1.0
    if kind == canonical.PNG:  # the decoded grey levels, rows x columns
        return images.decode_png(data).astype(np.float64), 255.0
    if kind.startswith("image"):
        if not data:
            raise NeuralCommonsError("an empty image")
        return np.frombuffer(data, dtype=np.uint8).astype(np.float64), 255.0
    raise PolicyError(f"no tolerance comparison for the '{kind}' encoding")


@dataclass(frozen=True)
class TolerancePolicy:
    """Decoded outputs within `bound` under `metric` (see the module docstring)."""

    encoding: dict
    metric: str
    bound: float
    name: str = TOLERANCE

    def __post_init__(self):
        if self.metric not in METRICS:
            raise PolicyError(f"unknown verification metric '{self.metric}': use {', '.join(METRICS)}")
        if not (math.isfinite(self.bound) and self.bound > 0):
            raise PolicyError(f"tolerance bound {self.bound!r} must be a positive finite number")
        if self.encoding["kind"] not in (canonical.EMBEDDING, "class-index+probs", canonical.SCORES, canonical.PNG) and \
                not self.encoding["kind"].startswith("image"):
            raise PolicyError(f"no tolerance comparison for the '{self.encoding['kind']}' encoding")

    def closer_than_bound(self, gap: float) -> bool:
        return gap >= self.bound if self.metric in HIGHER_IS_CLOSER else gap <= self.bound

    def judge(self, result: bytes, reference: bytes) -> Verdict:
        want, peak = decode_vector(self.encoding, reference)
        try:
            got, _ = decode_vector(self.encoding, result)
        except NeuralCommonsError:
            return Verdict(False, 0.0 if self.metric in HIGHER_IS_CLOSER else math.inf)
        gap = distance(self.metric, got, want, peak=peak)
        return Verdict(self.closer_than_bound(gap), gap)


@dataclass(frozen=True)
class FingerprintCommitment:
    """What a worker serving a language model commits to under `activation-fingerprint`
    (the bytes behind the on-chain result hash are the generated text plus this).

    For every `chunk` generated tokens (TOPLOC: 32), the top-`k` (TOPLOC: 128) entries of
    the last hidden state at layer `layer`, as (index, value) pairs, encoded as the
    coefficients of a polynomial through the points (index, bf16 bits of value) mod a prime
    (TOPLOC's compact form: 258 bytes per 32 tokens for Llama-3.1-8B), plus the sampling
    seed, so the verifier can re-run prefill on prompt + committed text in one pass instead
    of regenerating it."""

    layer: int
    k: int
    chunk: int
    seed: int
    polynomials: tuple[bytes, ...]


@dataclass(frozen=True)
class ActivationFingerprintPolicy:
    """TOPLOC-style verification for language models (interface; not implemented yet).

    Compare, per chunk: the verifier runs one prefill pass over prompt + the committed text
    (far cheaper than generation), takes its own top-k at `layer`, and evaluates the worker's
    polynomial at its own top indices. The chunk agrees when (TOPLOC's three thresholds,
    fixed in the manifest and measured like a tolerance bound):
      - the top-k index sets overlap in at least `min_overlap` of k positions,
      - among the overlapping entries, mismatching bf16 exponents are at most
        `max_exponent_mismatch`,
      - the mean and the median of the absolute mantissa differences are at most
        `max_mantissa_mean` and `max_mantissa_median`.
    A result agrees when every chunk agrees, and the sampled tokens are those the committed
    seed gives from the verifier's logits (so a cheaper model cannot pass by matching
    activations while sampling something else).
    """

    layer: int
    k: int = 128
    chunk: int = 32
    min_overlap: int = 64
    max_exponent_mismatch: int = 90
    max_mantissa_mean: float = 10.0
    max_mantissa_median: float = 8.0
    name: str = FINGERPRINT

    def __post_init__(self):
        raise PolicyNotAvailable(
            "the activation-fingerprint policy is designed (offchain/verification.py, docs/verification.md) "
            "but not implemented: it lands with the first language model; use 'exact' or 'tolerance'")

    def judge(self, result: bytes, reference: bytes) -> Verdict:  # pragma: no cover (cannot be built yet)
        raise PolicyNotAvailable("activation-fingerprint verification is not implemented yet")


def policy_from(manifest: dict) -> Policy:
    """The policy a manifest declares (`exact` when it declares none); a clear
    `PolicyError` for an unknown policy, metric or a bad bound."""
    block = manifest.get("verification", {"policy": EXACT})
    name = block.get("policy", EXACT)
    if name == EXACT:
        return ExactPolicy()
    if name == TOLERANCE:
        for key in ("metric", "bound"):
            if key not in block:
                raise PolicyError(f"a tolerance policy needs '{key}' in the manifest's verification block")
        return TolerancePolicy(manifest["canonical_encoding"], str(block["metric"]), float(block["bound"]))
    if name == FINGERPRINT:
        return ActivationFingerprintPolicy(layer=int(block.get("layer", -1)))
    raise PolicyError(f"unknown verification policy '{name}': use {', '.join(POLICIES)}")


def within_tolerance(encoding: dict, verification: dict, result: bytes, reference: bytes) -> tuple[bool, float]:
    """(agrees, distance) of `result` against `reference` under a manifest's tolerance block."""
    if verification.get("policy") != TOLERANCE:
        raise PolicyError(f"verification policy '{verification.get('policy')}' is not a tolerance policy")
    return tuple(policy_from({"canonical_encoding": encoding, "verification": verification})
                 .judge(result, reference))
