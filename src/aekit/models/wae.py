"""Wasserstein autoencoder with the MMD penalty (WAE-MMD): a deterministic autoencoder whose codes,
taken together, are pushed to the prior N(0, prior_std^2 I) by a kernel two-sample distance.

The loss is recon + mmd_weight * MMD^2(codes of the batch, as many prior draws), the unbiased
estimate with the inverse multiquadratic kernel k(a, b) = C / (C + |a - b|^2), summed over the
scales C = 2 * code_size * prior_std^2 * s, s in IMQ_SCALES, as Tolstikhin et al. do.
Unlike the VAE, each code is a point, not a distribution: only the aggregate is matched to the prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..config import non_negative, positive
from ..registry import register_model
from .base import Output, wide
from .dense import DenseAutoencoder, DenseConfig
from .vae import GaussianPrior

IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # multiples of the base scale 2 * code_size * prior_std^2


@dataclass(frozen=True, kw_only=True)
class WAEConfig(DenseConfig):
    hidden: tuple[int, ...] = (512, 256)
    code_size: int = 8  # Tolstikhin et al. use 8 on MNIST
    mmd_weight: float = 10.0  # lambda; the paper's MNIST value
    prior_std: float = 1.0  # the prior is N(0, prior_std^2 I)

    def __post_init__(self) -> None:
        super().__post_init__()
        non_negative("mmd_weight", self.mmd_weight)
        positive("prior_std", self.prior_std)


def imq_mmd(a: Tensor, b: Tensor, *, base_scale: float) -> Tensor:
    """Unbiased MMD^2 between samples a (n, k) and b (m, k) under the summed IMQ kernel; ~0 when they
    come from one distribution (it can be slightly negative), larger the further apart they are."""
    n, m = a.shape[0], b.shape[0]
    a, b = wide(a), wide(b)

    def kernel(u: Tensor, v: Tensor) -> Tensor:  # (len(u), len(v)): C / (C + |u_i - v_j|^2) summed over C
        d = torch.cdist(u, v).pow(2)
        return sum(base_scale * s / (base_scale * s + d) for s in IMQ_SCALES)

    k_aa, k_bb = kernel(a, a), kernel(b, b)
    same_a = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))  # U-statistic: no i == j pairs
    same_b = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return same_a + same_b - 2 * kernel(a, b).mean()


@register_model("wae")
class WassersteinAutoencoder(GaussianPrior, DenseAutoencoder):
    """Wasserstein autoencoder (WAE-MMD): codes matched to a Gaussian prior by an IMQ-kernel MMD penalty.

    Tolstikhin, Bousquet, Gelly & Schoelkopf (2018), Wasserstein Auto-Encoders.
    """

    Config = WAEConfig

    def penalties(self, x: Tensor, output: Output) -> dict[str, Tensor]:
        terms = super().penalties(x, output)
        z = output.z  # (B, code_size)
        if z.shape[0] < 2:  # the unbiased estimate needs two codes
            return {**terms, "mmd": wide(z.new_zeros(()))}
        prior = self.prior_std * torch.randn_like(wide(z))
        base = 2.0 * z.shape[1] * self.prior_std**2
        return {**terms, "mmd": self.config.mmd_weight * imq_mmd(z, prior, base_scale=base)}
