"""Ladder network: a classifier that also learns, from unlabelled data, to denoise every one of its layers.

Rasmus, Valpola, Honkala, Berglund & Raiko, "Semi-supervised learning with ladder networks", NIPS 2015.
Two encoder paths share the weights: a clean one (what `predict` uses) and a corrupted one that adds
Gaussian noise to the input and to every batch-normalised pre-activation. A decoder goes back down
from the corrupted top, and at each layer l the combinator g(z̃_l, u_l) (the paper's "vanilla" one)
merges the corrupted encoder's z̃_l (the lateral connection) with u_l from the layer above into a
reconstruction ẑ_l. The cost is

    cross-entropy(corrupted output, y) on the labelled rows
    + sum_l  lambda_l * mean over the batch and units of (z_l - BN_clean(ẑ_l))^2

where z_l is the clean path's batch-normalised pre-activation (z_0 = x) and BN_clean normalises with
the clean path's batch mean and std of that layer. denoise="top" is the paper's Γ-model: only the top
layer's combinator and cost.

Differences from the authors' code (github.com/CuriousAI/ladder): batch statistics are those of the
whole mixed batch, not separate ones for its labelled and unlabelled parts, and the denoising cost is
averaged over all the batch's rows (the paper's formula), not the unlabelled part only; eps is
1e-5 (torch's default), not 1e-10.

Eval mode is deterministic: no noise and batch norm's running statistics (gathered by the clean path
and the decoder while training), so the corrupted path is the clean one and `loss` then measures how
well the decoder reconstructs uncorrupted layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import check, check_types, layer_widths, non_negative
from ..registry import register_model
from .base import check_samples, flatten, wide
from .classifier import ClassifierMixin, labelled_terms

PAPER_WEIGHTS = (1000.0, 10.0, 0.1)  # lambda at the input, the first hidden layer, and every layer above
PAPER_TOP_WEIGHT = 0.5  # the Γ-model's top-layer lambda for MNIST with 100 labels (the authors' README)


@dataclass(frozen=True, kw_only=True)
class LadderConfig:
    input_shape: tuple[int, ...]  # one sample's shape, e.g. (784,) or (1, 28, 28) (flattened); set from the data
    n_classes: int
    hidden: tuple[int, ...] = (1000, 500, 250, 250, 250)  # ReLU layers between input and softmax (the paper's MNIST net)
    noise_std: float = 0.3  # std of the corrupted path's Gaussian noise, on the input and every normalised layer
    denoise: Literal["all", "top"] = "all"  # top: the Γ-model, a decoder and cost for the top layer only
    # lambda_l per layer, input first, top (softmax) last: len(hidden) + 2 numbers. None: the paper's
    # MNIST-100 choice, (1000, 10, 0.1, ..., 0.1) for "all" and 0.5 on the top layer for "top"
    denoising_weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        check_types(self)
        check(len(self.input_shape) > 0, "input_shape", "must have at least one dimension")
        check(all(d > 0 for d in self.input_shape), "input_shape", f"sizes must be > 0, got {self.input_shape}")
        check(self.n_classes >= 2, "n_classes", f"must be an integer >= 2, got {self.n_classes!r}")
        layer_widths("hidden", self.hidden)
        non_negative("noise_std", self.noise_std)
        w = self.denoising_weights
        if w is not None:
            n = len(self.hidden) + 2
            check(len(w) == n, "denoising_weights",
                  f"needs {n} numbers (input, {len(self.hidden)} hidden layers, top), got {len(w)}")
            check(all(v >= 0 for v in w), "denoising_weights", f"must be >= 0, got {list(w)}")
            check(self.denoise == "all" or not any(w[:-1]), "denoising_weights",
                  "denoise 'top' has a cost on the top layer only; set the others to 0 or use denoise 'all'")

    @property
    def widths(self) -> tuple[int, ...]:
        """Layer widths from input to top: (input_dim, *hidden, n_classes)."""
        return (math.prod(self.input_shape), *self.hidden, self.n_classes)

    @property
    def lambdas(self) -> tuple[float, ...]:
        """The denoising weight of every layer, input to top (None resolved)."""
        if self.denoising_weights is not None:
            return self.denoising_weights
        n = len(self.hidden) + 2
        if self.denoise == "top":
            return (0.0,) * (n - 1) + (PAPER_TOP_WEIGHT,)
        return (PAPER_WEIGHTS[:2] + (PAPER_WEIGHTS[2],) * n)[:n]


@dataclass(eq=False)  # (== by identity, as Output)
class LadderOutput:
    """What `Ladder.forward` returns."""

    logits: Tensor  # (B, n_classes) of the clean path: what predict uses
    noisy_logits: Tensor  # (B, n_classes) of the corrupted path: what the cross-entropy sees
    z: list[Tensor]  # clean z_l (B, width_l), input to top: the denoising targets (z_0 = x)
    z_hat: dict[int, Tensor]  # layer -> BN_clean(ẑ_l) (B, width_l), for the layers with a decoder


torch.export.register_dataclass(LadderOutput, serialized_type_name="aekit.LadderOutput")  # (as Output: a hunt, torch.export refused it)


class Combinator(nn.Module):
    """The paper's "vanilla" g(z̃, u), per unit: ẑ = (z̃ - mu(u)) * v(u) + mu(u) with
    mu(u) = a1 sigmoid(a2 u + a3) + a4 u + a5 and v(u) = a6 sigmoid(a7 u + a8) + a9 u + a10."""

    def __init__(self, width: int) -> None:
        super().__init__()
        a = torch.zeros(10, width)  # rows a1..a10
        a[1] = a[6] = 1.0  # a2 = a7 = 1, the rest 0 (the authors' initialisation): ẑ starts at 0
        self.a = nn.Parameter(a)

    def forward(self, z_noisy: Tensor, u: Tensor) -> Tensor:
        a1, a2, a3, a4, a5, a6, a7, a8, a9, a10 = self.a
        mu = a1 * torch.sigmoid(a2 * u + a3) + a4 * u + a5
        v = a6 * torch.sigmoid(a7 * u + a8) + a9 * u + a10
        return (z_noisy - mu) * v + mu


@dataclass
class _Path:
    """One encoder pass: z_l input to top, the normalising statistics of every layer, the top logits."""

    z: list[Tensor]
    mean: list[Tensor | float]
    std: list[Tensor | float]
    logits: Tensor


@register_model("ladder", kind="semi-supervised")
class Ladder(ClassifierMixin, nn.Module):
    """Ladder network: clean and noisy encoders share weights; a decoder denoises every layer (Rasmus et al. 2015)."""

    Config = LadderConfig
    takes_unlabelled = True

    def __init__(self, config: LadderConfig) -> None:
        super().__init__()
        self.config = config
        self.n_classes = config.n_classes
        widths = config.widths
        top = len(widths) - 1
        # encoder, shared by both paths: W_l (B, w_{l-1}) -> (B, w_l), batch norm without scale or shift
        # (its running statistics are the clean path's), then ReLU(z + beta), or softmax(gamma (z + beta)) on top
        self.weights = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(w, affine=False) for w in widths[1:])
        self.beta = nn.ParameterList(nn.Parameter(torch.zeros(w)) for w in widths[1:])
        self.gamma = nn.Parameter(torch.ones(widths[-1]))  # ReLU layers need no scale: the next norm undoes it
        # decoder, top down: u_top = BN(noisy softmax), u_l = BN(V_l ẑ_{l+1}); ẑ_l = g_l(z̃_l, u_l)
        self.decoded = list(range(top, -1, -1)) if config.denoise == "all" else [top]
        self.up = nn.ModuleDict({str(i): nn.Linear(widths[i + 1], widths[i], bias=False) for i in self.decoded if i < top})
        self.up_norms = nn.ModuleDict({str(i): nn.BatchNorm1d(widths[i], affine=False) for i in self.decoded})
        self.combinators = nn.ModuleDict({str(i): Combinator(widths[i]) for i in self.decoded})

    # --- the trainer's contract -------------------------------------------------------------------
    def check_data(self, x: Tensor) -> None:
        check_samples(x, self.config.input_shape)

    def forward(self, x: Tensor) -> LadderOutput:
        x = flatten(x)  # (B, *input_shape) -> (B, D)
        clean = self._encode(x, corrupt=False)
        noisy = self._encode(x, corrupt=True) if self.training else clean
        z_hat: dict[int, Tensor] = {}
        above: Tensor | None = None  # ẑ of the layer above
        for i in self.decoded:
            key = str(i)
            u = F.softmax(noisy.logits, dim=1) if above is None else self.up[key](above)
            above = self.combinators[key](noisy.z[i], self.up_norms[key](u))
            z_hat[i] = (above - clean.mean[i]) / clean.std[i]
        return LadderOutput(logits=clean.logits, noisy_logits=noisy.logits, z=clean.z, z_hat=z_hat)

    def _encode(self, x: Tensor, *, corrupt: bool) -> _Path:
        """The clean path (batch norm updates, and in eval mode uses, its running statistics) or the
        corrupted one (its own batch's statistics, noise added to the input and after normalising)."""
        std = self.config.noise_std
        h = x + std * torch.randn_like(x) if corrupt else x
        zs, means, stds = [h], [0.0], [1.0]  # layer 0, the input, is not normalised
        for i, (weight, norm, beta) in enumerate(zip(self.weights, self.norms, self.beta), start=1):
            z_pre = weight(h)  # (B, w_{l-1}) -> (B, w_l)
            if corrupt:
                z = F.batch_norm(z_pre, None, None, training=True, eps=norm.eps)
                z = z + std * torch.randn_like(z)
            else:
                z = norm(z_pre)
                if self.training:
                    mean, var = z_pre.mean(0), z_pre.var(0, unbiased=False)
                else:
                    mean, var = norm.running_mean, norm.running_var
                means.append(mean)
                stds.append((var + norm.eps).sqrt())
            zs.append(z)
            if i < len(self.weights):
                h = F.relu(z + beta)
        logits = self.gamma * (zs[-1] + self.beta[-1])  # (B, n_classes), before the softmax
        return _Path(z=zs, mean=means, std=stds, logits=logits)

    def loss(self, x: Tensor, output: LadderOutput, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """{"loss": supervised + denoising, "error", "supervised", "denoising", "denoising_<l>" per decoded layer}.

        supervised: cross-entropy of the corrupted path's logits, averaged over the labelled rows (y != -1;
        the others are ignored, so get no gradient from it); 0 when there are none or y is None.
        error: share of the labelled rows the clean path misclassifies (0 without labelled rows)."""
        lambdas = self.config.lambdas
        layers = {f"denoising_{i}": lambdas[i] * F.mse_loss(wide(output.z_hat[i]), wide(output.z[i]))
                  for i in sorted(output.z_hat)}
        denoising = torch.stack(list(layers.values())).sum()
        if y is None:
            supervised = error = denoising.new_zeros(())
        else:
            supervised, error = labelled_terms(wide(output.noisy_logits), output.logits, y)
        return {"loss": supervised + denoising, "error": error, "supervised": supervised, "denoising": denoising, **layers}
