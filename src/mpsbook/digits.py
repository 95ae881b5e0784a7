"""scikit-learn's handwritten digits as tensors, and a small CNN for them.

Several chapters train something real without downloading anything: the 1,797 8×8 digit images that
ship inside scikit-learn. Chapters that teach training write their own loop or LightningModule;
this module only holds the data split and the model they share, so every chapter trains the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import TensorDataset


@dataclass(frozen=True)
class DigitsSplit:
    """Train and validation tensors: images ``(N, 1, 8, 8)`` float32 in [0, 1], labels int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor

    def datasets(self) -> tuple[TensorDataset, TensorDataset]:
        return TensorDataset(self.x_train, self.y_train), TensorDataset(self.x_val, self.y_val)


def digits_split(val_fraction: float = 0.2, seed: int = 0) -> DigitsSplit:
    """A stratified train/validation split of scikit-learn's digits, on the CPU."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # pixel values are 0..16
    labels = torch.tensor(digits.target, dtype=torch.int64)
    x_train, x_val, y_train, y_val = train_test_split(
        images, labels, test_size=val_fraction, random_state=seed, stratify=labels
    )
    return DigitsSplit(x_train, y_train, x_val, y_val)


class DigitsCNN(nn.Module):
    """Two 3×3 convolutions and a linear head: ~97 % validation accuracy on digits in a few epochs."""

    def __init__(self, channels: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels}")
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 8×8 → 4×4
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4×4 → 2×2
        )
        self.head = nn.Linear(2 * channels * 2 * 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def digits_model(
    device: torch.device | str, seed: int = 0, lr: float = 1e-2
) -> tuple[DigitsCNN, torch.optim.Optimizer]:
    """A freshly seeded :class:`DigitsCNN` on ``device`` and its Adam optimiser: the same start every time."""
    if lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr}")
    torch.manual_seed(seed)
    model = DigitsCNN().to(device)
    return model, torch.optim.Adam(model.parameters(), lr=lr)
