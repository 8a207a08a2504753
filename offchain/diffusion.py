"""DDIM sampling for the image models, in NumPy, outside the network graph.

The graph (ONNX or PyTorch) only predicts noise; everything else that
decides the image is here and is a pure function of the request:

- the starting noise comes from the seed through keccak256 (not from a
  library RNG whose stream may change between versions): word i of
  keccak256("nc-pixels-noise" | seed (32 bytes) | i (4 bytes)) gives two
  uniforms in (0, 1), Box-Muller turns them into two normals;
- the schedule is DDPM's `squaredcos_cap_v2` (cosine, betas capped at
  0.999) over `train_steps`, sampled with DDIM (eta 0) at `steps` evenly
  spaced timesteps (`T - T/steps`, ..., 0), the x0 prediction clipped to
  [-1, 1];
- classifier-free guidance: eps = eps(null) + w * (eps(digit) - eps(null)),
  both halves in one graph call;
- pixels: round((x + 1) * 127.5), clipped to 0..255, uint8.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from eth_utils import keccak

NOISE_DOMAIN = b"nc-pixels-noise"
SEED_BYTES = 32  # a seed is a uint256

Denoiser = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (x, t, label) -> eps


@dataclass(frozen=True)
class Sampler:
    """A manifest's `sampler` block."""

    train_steps: int = 1000
    steps: int = 20
    guidance: float = 2.0
    null_label: int = 10
    size: int = 16

    @classmethod
    def from_manifest(cls, block: dict) -> "Sampler":
        return cls(train_steps=int(block["train_steps"]), steps=int(block["steps"]),
                   guidance=float(block["guidance"]), null_label=int(block["null_label"]),
                   size=int(block["size"]))


def alphas_cumprod(train_steps: int) -> np.ndarray:
    """squaredcos_cap_v2 (Nichol & Dhariwal): float64 [train_steps]."""
    def f(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = np.array([min(1 - f((i + 1) / train_steps) / f(i / train_steps), 0.999) for i in range(train_steps)])
    return np.cumprod(1.0 - betas)


def seed_noise(seed: int, count: int) -> np.ndarray:
    """`count` standard normals (float32) determined by `seed` alone."""
    if not 0 <= seed < 2 ** (8 * SEED_BYTES):
        raise ValueError(f"seed {seed} is not a uint256")
    prefix = NOISE_DOMAIN + seed.to_bytes(SEED_BYTES, "big")
    out = np.empty(count + (count & 1), dtype=np.float64)
    for i in range(0, len(out), 2):
        word = keccak(prefix + (i // 2).to_bytes(4, "big"))
        u1 = (int.from_bytes(word[:8], "big") + 0.5) / 2.0**64
        u2 = (int.from_bytes(word[8:16], "big") + 0.5) / 2.0**64
        radius = math.sqrt(-2.0 * math.log(u1))
        out[i], out[i + 1] = radius * math.cos(2 * math.pi * u2), radius * math.sin(2 * math.pi * u2)
    return out[:count].astype(np.float32)


def timesteps(sampler: Sampler) -> list[int]:
    ratio = sampler.train_steps // sampler.steps
    return [i * ratio for i in reversed(range(sampler.steps))]


def sample(denoise: Denoiser, sampler: Sampler, seeds: list[int], labels: list[int]) -> np.ndarray:
    """Images in [-1, 1], float32 [b, 1, size, size], for each (seed, label); `denoise` is the graph."""
    b, size = len(seeds), sampler.size
    x = np.stack([seed_noise(s, size * size).reshape(1, size, size) for s in seeds]).astype(np.float32)
    acp = alphas_cumprod(sampler.train_steps)
    cond = np.asarray(labels, dtype=np.int64)
    both = np.concatenate([cond, np.full(b, sampler.null_label, dtype=np.int64)])
    ratio = sampler.train_steps // sampler.steps
    for t in timesteps(sampler):
        eps_both = denoise(np.concatenate([x, x]), np.full(2 * b, t, dtype=np.float32), both)
        eps_c, eps_u = eps_both[:b], eps_both[b:]
        eps = (eps_u + np.float32(sampler.guidance) * (eps_c - eps_u)).astype(np.float32)
        a_t = np.float32(acp[t])
        a_prev = np.float32(acp[t - ratio]) if t - ratio >= 0 else np.float32(1.0)
        x0 = np.clip((x - np.sqrt(1 - a_t) * eps) / np.sqrt(a_t), -1.0, 1.0).astype(np.float32)
        eps = ((x - np.sqrt(a_t) * x0) / np.sqrt(1 - a_t)).astype(np.float32)
        x = (np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps).astype(np.float32)
    return x


def to_pixels(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float -> uint8 [b, size, size]."""
    return np.clip(np.rint((images[:, 0].astype(np.float64) + 1.0) * 127.5), 0, 255).astype(np.uint8)
