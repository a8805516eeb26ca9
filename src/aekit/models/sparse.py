"""Sparse autoencoders: `sparse-l1` (L1 penalty on the code) and `sparse-kl` (KL to a target rate).

Both are dense autoencoders (`DenseConfig` keys all apply) with one extra term on the code layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from ..config import check, non_negative
from ..registry import register_model
from .base import Activation, Output, wide
from .dense import DenseAutoencoder, DenseConfig


@dataclass(frozen=True, kw_only=True)
class SparseL1Config(DenseConfig):
    hidden: tuple[int, ...] = ()  # shallow by default: input -> code -> input, as in the Keras blog
    code_size: int = 32
    code_activation: Activation = "relu"  # non-negative codes that the L1 term can drive to exactly 0
    # Keras' blog uses 1e-4 * sum|z| against a BCE averaged over the 784 pixels; our reconstruction
    # is summed over pixels (784x larger), so the same balance is ~0.08. Measured on 8,000 MNIST
    # digits (5 epochs): 0.05 cuts mean |code| by ~30% for ~4% more reconstruction error.
    l1_weight: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        non_negative("l1_weight", self.l1_weight)


@register_model("sparse-l1")
class SparseL1Autoencoder(DenseAutoencoder):
    """Dense autoencoder with an L1 penalty on the code activations, so few units fire per input.

    Goodfellow, Bengio & Courville, Deep Learning (2016) 14.2.1; Chollet, "Building Autoencoders in Keras" (2016).
    """

    Config = SparseL1Config

    def penalties(self, x: Tensor, output: Output) -> dict[str, Tensor]:
        terms = super().penalties(x, output)
        if self.config.l1_weight > 0:
            # (B, code_size) -> sum over units, mean over the batch
            terms["code_l1"] = self.config.l1_weight * wide(output.z).abs().sum(dim=1).mean()
        return terms


@dataclass(frozen=True, kw_only=True)
class SparseKLConfig(DenseConfig):
    hidden: tuple[int, ...] = ()  # shallow by default: the code is the hidden layer (UFLDL's 784-200)
    code_size: int = 200
    activation: Activation = "sigmoid"
    code_activation: Activation = "sigmoid"  # the KL term needs activations in (0, 1)
    sparsity_target: float = 0.1  # rho, the wanted mean activation of each code unit (UFLDL: 0.1 on MNIST)
    sparsity_weight: float = 3.0  # beta, the weight of sum_j KL(rho || rho_hat_j) (UFLDL: 3)
    # lambda: rho_hat_t = lambda * rho_hat_{t-1} + (1 - lambda) * this batch's mean; 0 = this batch only.
    # Only the batch term carries gradient, so the penalty's gradient shrinks by (1 - lambda).
    sparsity_momentum: float = 0.0
    no_linear_path: ClassVar[str] = "sparse-kl (its KL penalty needs a sigmoid code, the linear path a linear one)"

    def __post_init__(self) -> None:
        super().__post_init__()
        check(
            self.code_activation == "sigmoid",
            "code_activation",
            f"must be 'sigmoid' for the KL sparsity penalty (activations in (0, 1)), got {self.code_activation!r}",
        )
        check(
            0 < self.sparsity_target < 1,
            "sparsity_target",
            f"must be between 0 and 1 (exclusive), got {self.sparsity_target!r}",
        )
        non_negative("sparsity_weight", self.sparsity_weight)
        check(
            0 <= self.sparsity_momentum < 1,
            "sparsity_momentum",
            f"must be >= 0 and < 1, got {self.sparsity_momentum!r}",
        )


def kl_bernoulli(rho: float, rho_hat: Tensor, eps: float = 1e-6) -> Tensor:
    """KL(rho || rho_hat) between Bernoulli rates, per unit (rho_hat clamped away from 0 and 1)."""
    rho_hat = rho_hat.clamp(eps, 1 - eps)
    return rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))


@register_model("sparse-kl")
class SparseKLAutoencoder(DenseAutoencoder):
    """Sigmoid autoencoder whose code units are pushed to a low mean activation rho by a KL penalty.

    Ng, "Sparse autoencoder", CS294A lecture notes / UFLDL tutorial (2011).
    """

    Config = SparseKLConfig

    def __init__(self, config: SparseKLConfig) -> None:
        super().__init__(config)
        # rho_hat averaged over training batches (like BatchNorm's running_mean); saved with the model
        self.register_buffer("running_activation", torch.zeros(config.code_size))
        self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long))

    def mean_activation(self, z: Tensor) -> Tensor:
        """rho_hat (code_size,) that the penalty uses; in training mode also updates the running average.

        Training: rho_hat_t = lam * rho_hat_{t-1} + (1 - lam) * mean_batch(z), the previous value
        detached, so the gradient flows through this batch's term only; the first batch starts the
        average (rho_hat_1 = its mean). Eval: this batch's mean, and the buffer is left alone.
        """
        batch_mean = wide(z).mean(dim=0)  # (B, code_size) -> (code_size,)
        if not self.training:
            return batch_mean
        lam = self.config.sparsity_momentum
        if self.num_batches_tracked > 0 and lam > 0:
            rho_hat = lam * self.running_activation + (1 - lam) * batch_mean
        else:
            rho_hat = batch_mean
        with torch.no_grad():
            self.running_activation.copy_(rho_hat.detach())
            self.num_batches_tracked += 1
        return rho_hat

    def forward(self, x: Tensor) -> Output:
        output = super().forward(x)
        output.extras["rho_hat"] = self.mean_activation(output.z)
        return output

    def penalties(self, x: Tensor, output: Output) -> dict[str, Tensor]:
        terms = super().penalties(x, output)
        if self.config.sparsity_weight > 0:
            rho_hat = output.extras.get("rho_hat")
            if rho_hat is None:  # an Output not made by forward (e.g. built by hand)
                rho_hat = wide(output.z).mean(dim=0)
            kl = kl_bernoulli(self.config.sparsity_target, rho_hat).sum()
            terms["sparsity_kl"] = self.config.sparsity_weight * kl
        return terms
