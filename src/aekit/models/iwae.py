"""Importance-weighted autoencoder: the VAE's networks trained on the k-sample bound
L_k = E[log (1/k) sum_i p(x, z_i) / q(z_i | x)], z_i ~ q(z|x), which is the ELBO at k = 1 and
rises to log p(x) as k grows (Burda et al. 2016).

Everything but the loss is the VAE's (vae.py): the forward pass, `sample`, beta and the KL warm-up,
which here weighs log p(z) - log q(z|x) inside every importance weight of the loss (the logged bound is
L_k itself). The loss draws its own k samples, in evaluation too (the VAE's decodes the mean there);
`training.loop.evaluate` draws the same ones at each call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..config import positive
from ..registry import register_model
from .base import Output, wide
from .vae import VAEConfig, VariationalAutoencoder, gaussian_kl


@dataclass(frozen=True, kw_only=True)
class IWAEConfig(VAEConfig):
    samples: int = 5  # k, importance samples per input in the training bound (Burda et al. used 5 and 50)

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("samples", self.samples)


def log_mean_exp(values: Tensor, dim: int = 0) -> Tensor:
    """log(mean(exp(values))) along `dim`, without overflow."""
    return torch.logsumexp(values, dim=dim) - math.log(values.shape[dim])


@register_model("iwae")
class ImportanceWeightedAutoencoder(VariationalAutoencoder):
    """Importance-weighted autoencoder: the VAE trained on the tighter k-sample bound on log p(x).

    Burda, Grosse & Salakhutdinov (2016), Importance Weighted Autoencoders.
    """

    Config = IWAEConfig

    def loss(self, x: Tensor, output: Output, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """{"loss": -L_k (+ base penalties), "bound": L_k, "recon" and "kl" as the VAE logs them, ...}. With
        beta * w != 1 (beta, the warm-up) the loss weighs log p(z) - log q(z|x) by it, and "bound" stays L_k,
        the bound on log p(x), from the same draws."""
        x = output.extras.get("target", x)  # the binarised input the forward pass drew, or x
        posterior = (output.extras["mu"], output.extras["logvar"])
        weight = self.advance_warmup()
        log_px_z, log_ratio = self.log_weight_terms(x, self.config.samples, posterior=posterior)
        objective = log_mean_exp(log_px_z + weight * log_ratio).mean()  # L_k itself where beta * w = 1
        others = self.penalties(x, output)
        total = sum(others.values(), -objective)
        with torch.no_grad():  # logged only: the bound itself (beta and the warm-up left out), the VAE's terms
            bound = objective if weight == 1 else log_mean_exp(log_px_z + log_ratio).mean()
            recon = self.reconstruction_loss(x, output)
            kl = gaussian_kl(wide(posterior[0]), wide(posterior[1])).mean()
        return {"loss": total, "bound": bound, "recon": recon, "kl": kl, "kl_weight": bound.new_tensor(weight), **others}
