"""Conditional VAE: encoder q(z | x, y) and decoder p(x | z, y) both see the label y as a one-hot
vector, the prior stays N(0, I), so `sample(n, y=digit)` draws z ~ N(0, I) and decodes it as that digit.

Labels reach the model through the contract's conditional path: `conditional = True` makes the
trainer call `forward(x, y=labels)` (and `loss(x, output, y=labels)`). Without labels (y=None: the
analysis tools, data without labels) the condition is the zero vector, an "unknown label" input; a
fraction `label_dropout` of the training labels is hidden the same way, so the model also learns to
encode and decode without them (with no labels at all it is a plain VAE).
Sohn et al. also learn a prior network p(z | x) for structured prediction; generating a chosen digit
needs only p(x | z, y) with the fixed prior, as here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import check, positive
from ..data.batches import eval_mode
from ..errors import DataError
from ..registry import register_model
from .base import Output, flatten
from .dense import mlp
from .vae import VAEConfig, VariationalAutoencoder


@dataclass(frozen=True, kw_only=True)
class CVAEConfig(VAEConfig):
    n_classes: int = 10  # labels are integers 0 .. n_classes - 1 (aekit train: the classes of its data, unless given)
    label_dropout: float = 0.1  # share of training labels hidden (zero condition), for the unlabelled path

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("n_classes", self.n_classes)
        check(0 <= self.label_dropout <= 1, "label_dropout", f"must be in [0, 1], got {self.label_dropout}")


@register_model("cvae")
class ConditionalVAE(VariationalAutoencoder):
    """Conditional VAE: encoder and decoder see the label, so it generates a chosen class.

    Sohn, Lee & Yan (2015), Learning Structured Output Representation using Deep Conditional Generative Models.
    """

    Config = CVAEConfig
    conditional = True

    def __init__(self, config: CVAEConfig) -> None:
        super().__init__(config)
        d, k, c = config.input_dim, config.code_size, config.n_classes
        self.encoder = mlp([d + c, *config.hidden, 2 * k], config.activation)  # (B, D + C) -> (B, 2k)
        self.decoder = mlp([k + c, *config.decoder_widths, d], config.activation)  # (B, k + C) -> (B, D)

    def check_labels(self, y: Tensor) -> None:
        """Raise DataError unless y holds integer labels 0 .. n_classes - 1 (called once by `fit`)."""
        n = self.config.n_classes
        if y.is_floating_point() or y.ndim != 1 or (len(y) and (y.min() < 0 or y.max() >= n)):
            unlabelled = not y.is_floating_point() and bool((y == -1).any())
            hint = "; -1 (unlabelled) needs a semi-supervised model such as ladder or m2" if unlabelled else ""
            more = f" (model.n_classes is {n}: give as many as the data hold)" if not hint and not y.is_floating_point() else ""
            raise DataError(f"cvae: labels must be integers in 0..{n - 1}, one per sample{more}{hint}")

    def condition(self, y: Tensor | int | None, n: int, *, device: torch.device) -> Tensor:
        """The decoder's and encoder's label input: one-hot rows (n, C), zeros where the label is unknown."""
        if y is None:
            return torch.zeros(n, self.config.n_classes, device=device)
        y = (y if isinstance(y, Tensor) else torch.as_tensor(y)).to(device).long()  # (a tensor as it is: a trace's input)
        return F.one_hot(y.expand(n) if y.ndim == 0 else y, self.config.n_classes).float()

    def posterior(self, x: Tensor, *, y: Tensor | None = None, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        c = self.condition(y, x.shape[0], device=x.device) if c is None else c
        return self.encoder(torch.cat([flatten(x), c.to(x.dtype)], dim=1)).chunk(2, dim=1)

    def encode(self, x: Tensor, *, y: Tensor | None = None) -> Tensor:
        self._check_classes(y, x.shape[0])
        return self.posterior(x, y=y)[0]

    def decode_logits(self, z: Tensor, *, y: Tensor | int | None = None, c: Tensor | None = None) -> Tensor:
        c = self.condition(y, z.shape[0], device=z.device) if c is None else c
        return self.decoder(torch.cat([z, c.to(z.dtype)], dim=1)).reshape(z.shape[0], *self.config.input_shape)

    def decode(self, z: Tensor, *, y: Tensor | int | None = None) -> Tensor:
        self._check_classes(y, z.shape[0])
        return self.activate_output(self.decode_logits(z, y=y))

    def _check_classes(self, y: Any, n: int, *, values: bool = True) -> None:
        """A user's `y` for n codes: one class number or n of them (None: no class), else a one-line refusal;
        their range unless `values` is false. Not while traced or exported (`aekit export`): a check on the
        labels' values cannot be a graph's."""
        if y is None or torch.jit.is_tracing() or torch.compiler.is_compiling():
            return
        try:
            labels = torch.as_tensor(y)
        except (TypeError, ValueError, RuntimeError):  # a class name, say
            labels = None
        classes = self.config.n_classes
        if (labels is None or labels.is_floating_point() or labels.dtype == torch.bool or labels.shape not in ((), (n,))
                or values and labels.numel() and (labels.min() < 0 or labels.max() >= classes)):
            raise DataError(f"y: one class number in 0..{classes - 1} or n = {n} of them (data.classes.index(name) "
                            f"for a class name; None for no class), got {repr(y)[:60]}")

    def forward(self, x: Tensor, *, y: Tensor | None = None) -> Output:
        self._check_classes(y, x.shape[0], values=not self.training)  # fit checks their values once: no read-back a step
        x, target = self.training_input(x)
        c = self.condition(y, x.shape[0], device=x.device)
        if y is not None and self.training and self.config.label_dropout > 0:
            keep = torch.rand(x.shape[0], 1, device=x.device) >= self.config.label_dropout
            c = c * keep
        output = self.output_from_posterior(*self.posterior(x, c=c), lambda z: self.decode_logits(z, c=c), target=target)
        output.extras["labelled"] = y is not None
        return output

    def loss(self, x: Tensor, output: Output, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """The VAE's loss. Labels reach a cvae through `forward(x, y=...)`: given here after a forward without
        them (a loop of one's own), they are refused, as the model would learn no class."""
        if y is not None and output.extras.get("labelled") is False:
            raise DataError("cvae: its labels go to forward(x, y=y), then to loss; this output was made without them")
        return super().loss(x, output, y=y)

    @torch.no_grad()
    def sample(self, n: int, *, y: Tensor | int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n samples decoded from z ~ N(0, I) as class `y` (an int, n labels, or None: no label), in eval mode."""
        with eval_mode(self):
            return self.decode(self.prior_codes(n, generator=generator), y=y)
