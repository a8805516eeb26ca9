"""Tied weights: a dense autoencoder whose decoder reuses the encoder's weight matrices, transposed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import check
from ..registry import register_model
from .base import Autoencoder, flatten
from .dense import DenseConfig, copy_linears, layer_tail, linears, stack, stacked_config


@dataclass(frozen=True, kw_only=True)
class TiedConfig(DenseConfig):
    """DenseConfig whose decoder widths must mirror the encoder's (they share the matrices)."""

    no_linear_path: ClassVar[str] = "tied (its decoder is its encoder transposed)"

    def __post_init__(self) -> None:
        super().__post_init__()
        check(
            self.decoder_hidden is None,
            "decoder_hidden",
            "a tied decoder reuses the encoder's matrices, so its widths mirror `hidden`; leave it null",
        )


@register_model("tied")
class TiedAutoencoder(Autoencoder):
    """Dense autoencoder with tied weights: each decoder layer applies an encoder matrix transposed.

    Vincent et al. (2010), Stacked denoising autoencoders, JMLR 11: W' = W^T halves the weights.
    """

    Config = TiedConfig

    def __init__(self, config: TiedConfig) -> None:
        super().__init__(config)
        self.encoder = stack(config.encoder_layers())  # (B, D) -> (B, code_size)
        decoder = config.decoder_layers()
        # Decoder layer i multiplies by encoder matrix L-1-i transposed. There is one Parameter per
        # matrix and the transpose is taken in `decode_logits`, so the state dict shares no tensors.
        self.decoder_biases = nn.ParameterList(nn.Parameter(torch.zeros(layer.n_out)) for layer in decoder)
        self.decoder_tails = nn.ModuleList(nn.Sequential(*layer_tail(layer)) for layer in decoder)

    @classmethod
    @torch.no_grad()
    def from_layers(cls, layers: Sequence[Autoencoder]) -> TiedAutoencoder:
        """`DenseAutoencoder.from_layers` for tied layers: their encoder matrices, and the decoder
        biases of each in reverse."""
        deep = cls(cls.Config(**stacked_config(layers)))
        copy_linears(deep.encoder_linears(), [layer.encoder for layer in layers], "encoder")
        for layer, bias in zip(reversed(layers), deep.decoder_biases):
            bias.copy_(layer.decoder_biases[0])
        return deep

    def encoder_linears(self) -> list[nn.Linear]:
        return linears(self.encoder)

    def decoder_weights(self) -> list[Tensor]:
        """The decoder's effective (out, in) matrices, code side first: the encoder's, transposed."""
        return [linear.weight.t() for linear in reversed(self.encoder_linears())]

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(flatten(x))

    def decode_logits(self, z: Tensor) -> Tensor:
        h = z
        for weight, bias, tail in zip(self.decoder_weights(), self.decoder_biases, self.decoder_tails):
            h = tail(F.linear(h, weight, bias))  # (B, n_out of encoder layer) -> (B, its n_in)
        return h.reshape(z.shape[0], *self.config.input_shape)
