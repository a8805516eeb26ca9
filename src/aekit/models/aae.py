"""Adversarial autoencoder: a deterministic autoencoder whose codes a discriminator, trained at the
same time, learns to tell from draws of the prior N(0, prior_std^2 I); the encoder learns to fool it,
which pushes the aggregate of codes to the prior, so decoding prior draws generates (`sample`).

Two optimisers (`optimizer_groups`), stepped in turn on every batch by the one trainer:
- "loss": encoder + decoder minimise recon + adversarial_weight * BCE(D(z), "prior"), the
  reconstruction and regularisation phases of Makhzani et al. in one step;
- "discriminator_loss": the discriminator minimises BCE(D(prior draw), "prior") + BCE(D(z), "code"),
  on the codes of the autoencoder just updated (a fresh forward pass, see Trainer.optimizer_step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import layer_widths, non_negative, positive
from ..registry import register_model
from .base import Output, wide
from .dense import DenseAutoencoder, DenseConfig, mlp
from .vae import GaussianPrior


@dataclass(frozen=True, kw_only=True)
class AAEConfig(DenseConfig):
    hidden: tuple[int, ...] = (512, 256)
    code_size: int = 8
    discriminator_hidden: tuple[int, ...] = (256, 256)  # the discriminator: code -> ... -> 1 logit
    adversarial_weight: float = 1.0  # weight of the encoder's fool-the-discriminator term
    prior_std: float = 1.0  # the prior is N(0, prior_std^2 I)

    def __post_init__(self) -> None:
        super().__post_init__()
        layer_widths("discriminator_hidden", self.discriminator_hidden)
        non_negative("adversarial_weight", self.adversarial_weight)
        positive("prior_std", self.prior_std)


@register_model("aae")
class AdversarialAutoencoder(GaussianPrior, DenseAutoencoder):
    """Adversarial autoencoder: a discriminator on the codes pushes them to a Gaussian prior.

    Makhzani, Shlens, Jaitly, Goodfellow & Frey (2015), Adversarial Autoencoders.
    """

    Config = AAEConfig

    def __init__(self, config: AAEConfig) -> None:
        super().__init__(config)
        # (B, code_size) -> (B, 1) logit of "drawn from the prior"
        self.discriminator = mlp([config.code_size, *config.discriminator_hidden, 1], "leaky_relu")

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        autoencoder = [p for name, p in self.named_parameters() if not name.startswith("discriminator.")]
        return {"loss": autoencoder, "discriminator_loss": list(self.discriminator.parameters())}

    def penalised_weights(self) -> list[Tensor]:
        """The autoencoder's weight matrices: the discriminator's are not in the loss its optimiser minimises."""
        own = {id(p) for p in self.discriminator.parameters()}
        return [w for w in super().penalised_weights() if id(w) not in own]

    def penalties(self, x: Tensor, output: Output) -> dict[str, Tensor]:
        terms = super().penalties(x, output)
        logit = wide(self.discriminator(output.z))  # (widened after: a bfloat16 model's discriminator takes its own)
        fool = F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))
        return {**terms, "adversarial": self.config.adversarial_weight * fool}

    def loss(self, x: Tensor, output: Output, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """The base loss (recon + adversarial + ...) and "discriminator_loss", which the second optimiser
        minimises: the codes are detached there, so it trains the discriminator only."""
        z = output.z.detach()
        prior = self.prior_std * torch.randn_like(z)
        real, fake = wide(self.discriminator(prior)), wide(self.discriminator(z))
        d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        d_loss = d_loss + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        return {**super().loss(x, output, y=y), "discriminator_loss": d_loss}
