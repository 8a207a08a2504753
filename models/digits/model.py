"""The digits classifier's architecture: shared by training and the PyTorch backend."""

import torch
from torch import nn

N_PIXELS = 64  # 8 x 8 grey levels, 0..16
N_CLASSES = 10


class DigitsMLP(nn.Module):
    """Pixels in, class probabilities out (softmax is part of the model, so ONNX
    Runtime and PyTorch both return probabilities and encode them the same way)."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(N_PIXELS, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, N_CLASSES),
        )

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(pixels / 16.0), dim=-1)
