"""A minimal semi-supervised model for testing what trains such models (the trainer's mixed batches),
independent of the real ones: an MLP classifier plus a reconstruction term, following the contract
ladder and m2 follow. `registered()` registers it for the duration of a test only, so the registry's
lists (and the tests parametrised over them) never see it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aekit.errors import DataError
from aekit.models.classifier import ClassifierMixin
from aekit.registry import _MODELS, register_model

NAME = "semisup-stub"


@dataclass
class StubOutput:
    logits: Tensor  # (B, n_classes)
    x_hat: Tensor  # (B, D)


@dataclass(frozen=True, kw_only=True)
class StubConfig:
    input_shape: tuple[int, ...]
    n_classes: int
    hidden: int = 16


class SemiSupStub(ClassifierMixin, nn.Module):
    """Test stub: an MLP classifier with a reconstruction term on every sample."""

    Config = StubConfig

    def __init__(self, config: StubConfig) -> None:
        super().__init__()
        self.config = config
        d = int(torch.tensor(config.input_shape).prod())
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(d, config.hidden), nn.ReLU())
        self.head = nn.Linear(config.hidden, config.n_classes)
        self.back = nn.Linear(config.hidden, d)
        self.seen: list[tuple[Tensor, Tensor | None]] = []  # (x, y) of every training batch

    def check_data(self, x: Tensor) -> None:
        pass

    def check_labels(self, y: Tensor) -> None:
        if y.is_floating_point() or y.ndim != 1 or (len(y) and (y.min() < -1 or y.max() >= self.config.n_classes)):
            raise DataError("labels must be integers in [-1, n_classes)")

    def forward(self, x: Tensor) -> StubOutput:
        h = self.body(x)
        return StubOutput(logits=self.head(h), x_hat=self.back(h))

    def loss(self, x: Tensor, output: StubOutput, *, y: Tensor | None = None) -> dict[str, Tensor]:
        if self.training:
            self.seen.append((x.detach().clone(), None if y is None else y.clone()))
        recon = F.mse_loss(output.x_hat, x.flatten(1))
        labelled = torch.zeros(len(x), dtype=torch.bool) if y is None else y != -1
        if labelled.any():
            supervised = F.cross_entropy(output.logits[labelled], y[labelled])
            error = (output.logits[labelled].argmax(1) != y[labelled]).float().mean()
        else:
            supervised = error = output.logits.sum() * 0
        return {"loss": supervised + recon, "error": error.detach(), "supervised": supervised, "denoising": recon}


@contextlib.contextmanager
def registered(name: str = NAME):
    """The stub registered as a semi-supervised model under `name` while the block runs."""
    register_model(name, kind="semi-supervised")(SemiSupStub)
    try:
        yield SemiSupStub
    finally:
        _MODELS.pop(name, None)
