"""The contract-risk model's architecture: shared by training and the PyTorch backend.

Bytecode features (`offchain.bytecode.features`, 777 numbers) in; six
probabilities out: the overall risk first (the highest of the label
probabilities, computed in the graph), then one per risk label. The
standardisation (mean, std of the training features) is part of the model,
so ONNX Runtime and PyTorch take the same raw features."""

import torch
from torch import nn

N_FEATURES = 777
OUTPUTS = ("risk", "owner_mint", "transfer_block", "unrestricted_withdraw", "dangerous_call", "fee_on_transfer")


class RiskMLP(nn.Module):
    def __init__(self, hidden: int = 64):
        super().__init__()
        self.register_buffer("mean", torch.zeros(N_FEATURES))
        self.register_buffer("std", torch.ones(N_FEATURES))
        self.net = nn.Sequential(
            nn.Linear(N_FEATURES, hidden),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, len(OUTPUTS) - 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        labels = torch.sigmoid(self.net((features - self.mean) / self.std))
        return torch.cat([labels.max(dim=1, keepdim=True).values, labels], dim=1)
