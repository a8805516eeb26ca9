"""Variational autoencoder: a Gaussian encoder q(z|x) = N(mu, diag(exp(logvar))), a prior N(0, I).

Training mode draws z = mu + exp(logvar / 2) * eps (the reparameterisation trick); eval mode decodes
z = mu, so evaluation and reconstructions are deterministic. `Output.z` is always mu (analysis uses
the mean); `Output.extras` holds mu, logvar and z_sample (the z that was decoded).

The loss is recon + beta * w * KL(q(z|x) || N(0, I)), where w rises linearly from 0 to 1 over
`kl_warmup_steps` optimiser steps (KL annealing, Bowman et al. 2016). The step count is the
`kl_step` buffer: it grows by one on every `loss` call in training mode with gradients on (one per
optimiser step in `fit`) and is part of the state_dict, so a resumed run continues the warm-up exactly.
Evaluation (eval mode, or no gradients) weighs the KL by beta alone and decodes the mean: validation and
test losses are recon(mu) + beta * KL, deterministic and comparable from one epoch to the next, but not
the ELBO, which averages the reconstruction over draws of z (analysis.likelihood.negative_elbo estimates
it, importance_sampled_nll the likelihood).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..config import check, layer_widths, non_negative, positive
from ..data.batches import eval_mode
from ..registry import register_model
from .base import Activation, Autoencoder, AutoencoderConfig, Output, flatten, wide
from .dense import mlp


@dataclass(frozen=True, kw_only=True)
class VAEConfig(AutoencoderConfig):
    hidden: tuple[int, ...] = (512, 256)  # encoder widths between input and code
    code_size: int = 20  # latent dimensions
    activation: Activation = "relu"  # hidden layers
    decoder_hidden: tuple[int, ...] | None = None  # None mirrors `hidden`
    beta: float = 1.0  # KL weight; > 1 is the beta-VAE (Higgins et al. 2017)
    kl_warmup_steps: int = 0  # optimiser steps (loss calls in training) over which the KL weight rises 0 -> 1; 0 = none
    # dynamic binarisation (Burda et al. 2016): in training every step sees each pixel as a fresh
    # Bernoulli draw with its intensity as probability, as input and as target; needs data in [0, 1]
    binarize: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("code_size", self.code_size)
        layer_widths("hidden", self.hidden)
        layer_widths("decoder_hidden", self.decoder_hidden)
        non_negative("beta", self.beta)
        non_negative("kl_warmup_steps", self.kl_warmup_steps)
        check(not self.binarize or self.recon_loss == "bce", "binarize", "needs recon_loss 'bce' (binary pixels)")

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        return tuple(reversed(self.hidden)) if self.decoder_hidden is None else self.decoder_hidden


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latent dimensions: (B, k) -> (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


class GaussianPrior:
    """`sample(n)` for an autoencoder whose codes are pushed to the prior N(0, prior_std^2 I) (vae, wae, aae)."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__(config)
        self.prior_std = getattr(config, "prior_std", 1.0)  # wae's and aae's config key; the vae's is N(0, I)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """n new samples decoded from z ~ N(0, prior_std^2 I): (n, *input_shape), in eval mode (batch norm's running
        statistics are left as training made them)."""
        with eval_mode(self):
            return self.decode(self.prior_codes(n, generator=generator))

    def prior_codes(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """n draws z ~ N(0, prior_std^2 I): (n, code_size), on the model's device and in its dtype. With a
        `generator`, drawn where it draws (a CPU one gives the same samples on the CPU and a GPU)."""
        check(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0, "n", f"must be a whole number > 0, got {n!r}")
        param = next(self.parameters())
        z = torch.randn(n, self.code_size, generator=generator, device=generator.device if generator else param.device)
        return (self.prior_std * z).to(param.device, param.dtype)


@register_model("vae")
class VariationalAutoencoder(GaussianPrior, Autoencoder):
    """Variational autoencoder: Gaussian code, reparameterised sampling, KL to N(0, I) with beta and warm-up.

    Kingma & Welling (2014), Auto-Encoding Variational Bayes.
    """

    Config = VAEConfig

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        d, k = config.input_dim, config.code_size
        # (B, D) -> (B, 2k): mu and logvar side by side
        self.encoder = mlp([d, *config.hidden, 2 * k], config.activation)
        # (B, k) -> (B, D) logits
        self.decoder = mlp([k, *config.decoder_widths, d], config.activation)
        # optimiser steps taken, for the KL warm-up; a buffer so checkpoints carry it
        self.register_buffer("kl_step", torch.zeros((), dtype=torch.long))

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """mu and logvar of q(z|x), each (B, code_size)."""
        return self.encoder(flatten(x)).chunk(2, dim=1)

    def encode(self, x: Tensor) -> Tensor:
        return self.posterior(x)[0]

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(z).reshape(z.shape[0], *self.config.input_shape)

    def forward(self, x: Tensor) -> Output:
        x, target = self.training_input(x)
        return self.output_from_posterior(*self.posterior(x), self.decode_logits, target=target)

    def training_input(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """(input, {"target": input}) binarised afresh in training with `binarize`, else (x, {})."""
        if not (self.training and self.config.binarize):
            return x, {}
        x = torch.bernoulli(x.clamp(0, 1))
        return x, {"target": x}

    def output_from_posterior(
        self, mu: Tensor, logvar: Tensor, decode_logits: Callable[[Tensor], Tensor], *, target: dict[str, Tensor]
    ) -> Output:
        """Decode a reparameterised draw from q(z|x) = N(mu, exp(logvar)) in training, mu in eval."""
        z_sample = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        logits = decode_logits(z_sample)
        extras = {"mu": mu, "logvar": logvar, "z_sample": z_sample, **target}
        return Output(x_hat=self.activate_output(logits), z=mu, logits=logits, extras=extras)

    @property
    def kl_weight(self) -> float:
        """The warm-up factor w in [0, 1] at the current step (beta not included)."""
        steps = self.config.kl_warmup_steps
        return 1.0 if steps == 0 else min(1.0, int(self.kl_step) / steps)

    def loss(self, x: Tensor, output: Output, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """{"loss": recon + beta * w * kl (+ base penalties), "recon", "kl", "kl_weight": beta * w, ...}."""
        x = output.extras.get("target", x)  # the binarised input the forward pass drew, or x
        recon = self.reconstruction_loss(x, output)
        kl = gaussian_kl(wide(output.extras["mu"]), wide(output.extras["logvar"])).mean()
        weight = self.advance_warmup()
        others = self.penalties(x, output)
        total = sum(others.values(), recon + weight * kl)
        return {"loss": total, "recon": recon, "kl": kl, "kl_weight": recon.new_tensor(weight), **others}

    def advance_warmup(self) -> float:
        """The KL weight of this loss: beta * w in an optimiser step (training, with grad), which it counts;
        beta in evaluation, so that validation and test losses weigh the KL alike whatever the warm-up
        (restore_best and early stopping compare epochs by them: under the rising weight, an early epoch won)."""
        if not (self.training and torch.is_grad_enabled()):
            return self.config.beta
        weight = self.config.beta * self.kl_weight
        self.kl_step += 1
        return weight

    def log_importance_weights(
        self, x: Tensor, k: int, *, kl_weight: float = 1.0, generator: torch.Generator | None = None,
        posterior: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """log p(x | z_i) + kl_weight * (log p(z_i) - log q(z_i | x)) for k draws z_i ~ q(z|x): (k, B).

        With kl_weight 1 these are the log importance weights whose log-mean-exp is the IWAE bound
        (Burda et al. 2016) and, as k grows, log p(x). `posterior` = (mu, logvar) if already computed.
        """
        log_px_z, log_ratio = self.log_weight_terms(x, k, generator=generator, posterior=posterior)
        return log_px_z + kl_weight * log_ratio

    def log_weight_terms(
        self, x: Tensor, k: int, *, generator: torch.Generator | None = None, posterior: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """(log p(x | z_i), log p(z_i) - log q(z_i | x)) for k draws z_i ~ q(z|x), each (k, B)."""
        mu, logvar = self.posterior(x) if posterior is None else posterior
        own = mu.dtype  # the decoder's (a half-precision model's own: a hunt saw float32 codes refused by it)
        mu, logvar = wide(mu), wide(logvar)
        eps = torch.randn(k, *mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)  # a generator on mu's device
        z = mu + torch.exp(0.5 * logvar) * eps  # (k, B, code_size)
        logits = self.decode_logits(z.reshape(-1, mu.shape[1]).to(own))  # (k * B, *input_shape)
        targets = x.reshape(1, len(x), -1).expand(k, -1, -1).reshape(k * len(x), -1)  # x once per draw
        log_px_z = -self.reconstruction_error(targets, logits).reshape(k, len(x)) - self.decoder_log_constant()
        log_2pi = math.log(2 * math.pi)
        log_pz = -0.5 * (z.pow(2) + log_2pi).sum(dim=-1)
        log_qz = -0.5 * (eps.pow(2) + logvar + log_2pi).sum(dim=-1)
        return log_px_z, log_pz - log_qz

