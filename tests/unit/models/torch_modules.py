"""PyTorch modules defined in an importable module, as the torch flavor requires."""

from __future__ import annotations

import torch


class TinyNet(torch.nn.Module):
    """A two-layer regressor whose width is a constructor argument."""

    def __init__(self, n_inputs: int = 3, width: int = 8) -> None:
        super().__init__()
        self.shipyard_init_kwargs = {"n_inputs": n_inputs, "width": width}
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_inputs, width), torch.nn.ReLU(), torch.nn.Linear(width, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Plain(torch.nn.Module):
    """A module without ``shipyard_init_kwargs``: its arguments must come through ``extra``."""

    def __init__(self, n_inputs: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(n_inputs, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)
