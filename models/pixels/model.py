"""A small class-conditional UNet that predicts the noise in a 16x16
grayscale image (DDPM epsilon-prediction), in plain PyTorch.

    (sample float32 [b, 1, 16, 16], timestep float32 [b], label int64 [b]) -> noise float32 [b, 1, 16, 16]

`label` is the digit 0..9, or NULL_LABEL (10) for "any digit": training drops
the label one time in ten, so the runtime can use classifier-free guidance.
Three resolutions (16, 8, 4), one residual block per level, the timestep and
label embeddings added inside every block; no attention (at 4x4 it buys
little here). Exported to ONNX as one graph; the DDIM loop runs outside it
(offchain/diffusion.py), so the same graph serves any step count.
"""

from __future__ import annotations

import math

import torch
from torch import nn

SIZE = 16  # pixels per side
NULL_LABEL = 10  # "no digit asked for" (classifier-free guidance)
CHANNELS = (32, 64, 96)
EMBED = 128
GROUPS = 8


def timestep_embedding(t: torch.Tensor, dim: int = 64) -> torch.Tensor:
    """Sinusoidal embedding of (float) timesteps, [b] -> [b, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(EMBED, cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(torch.nn.functional.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(torch.nn.functional.silu(self.norm2(h)))
        return h + self.skip(x)


class PixelsUNet(nn.Module):
    def __init__(self):
        super().__init__()
        c1, c2, c3 = CHANNELS
        self.time = nn.Sequential(nn.Linear(64, EMBED), nn.SiLU(), nn.Linear(EMBED, EMBED))
        self.label = nn.Embedding(NULL_LABEL + 1, EMBED)
        self.conv_in = nn.Conv2d(1, c1, 3, padding=1)
        self.down1 = ResBlock(c1, c1)  # 16x16
        self.pool1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.down2 = ResBlock(c1, c2)  # 8x8
        self.pool2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)
        self.mid = ResBlock(c2, c3)  # 4x4
        self.mid2 = ResBlock(c3, c3)
        self.up2 = ResBlock(c3 + c2, c2)  # 8x8
        self.up1 = ResBlock(c2 + c1, c1)  # 16x16
        self.norm_out = nn.GroupNorm(GROUPS, c1)
        self.conv_out = nn.Conv2d(c1, 1, 3, padding=1)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        emb = self.time(timestep_embedding(timestep)) + self.label(label)
        h = self.conv_in(sample)
        h1 = self.down1(h, emb)
        h2 = self.down2(self.pool1(h1), emb)
        h = self.mid2(self.mid(self.pool2(h2), emb), emb)
        h = torch.nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
        h = self.up2(torch.cat([h, h2], dim=1), emb)
        h = torch.nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
        h = self.up1(torch.cat([h, h1], dim=1), emb)
        return self.conv_out(torch.nn.functional.silu(self.norm_out(h)))
