"""Fully connected autoencoders: `dense` (shallow or deep, any widths) and `linear` (≡ PCA)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from ..config import check, positive
from ..registry import register_model
from .base import Activation, Autoencoder, AutoencoderConfig, activation, flatten


def mlp(widths: list[int], act: str, *, last_act: str | None = None) -> nn.Sequential:
    """Linear layers through `widths` (in, h1, ..., out) with `act` between them and `last_act` after."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        is_last = i == len(widths) - 2
        name = (last_act or "linear") if is_last else act
        if name != "linear":
            layers.append(activation(name))
    return nn.Sequential(*layers)


@dataclass(frozen=True, kw_only=True)
class DenseConfig(AutoencoderConfig):
    hidden: tuple[int, ...] = (1000, 500, 250)  # encoder widths between input and code
    code_size: int = 30
    activation: Activation = "relu"  # hidden layers
    code_activation: Activation = "linear"  # the code layer (Hinton & Salakhutdinov: linear)
    decoder_hidden: tuple[int, ...] | None = None  # None mirrors `hidden`

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("code_size", self.code_size)
        check(all(w > 0 for w in self.hidden), "hidden", f"widths must be > 0, got {list(self.hidden)}")
        if self.decoder_hidden is not None:
            check(
                all(w > 0 for w in self.decoder_hidden),
                "decoder_hidden",
                f"widths must be > 0, got {list(self.decoder_hidden)}",
            )

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        return tuple(reversed(self.hidden)) if self.decoder_hidden is None else self.decoder_hidden


@register_model("dense")
class DenseAutoencoder(Autoencoder):
    """Fully connected autoencoder, shallow or deep, with a mirrored or its own decoder.

    Hinton & Salakhutdinov (2006) use 784-1000-500-250-30 with a linear code layer.
    """

    Config = DenseConfig

    @staticmethod
    def small_config(shape: tuple[int, ...]) -> dict:
        """A quick-to-train size for tests."""
        return {"hidden": (128, 64), "code_size": 16}

    def __init__(self, config: DenseConfig) -> None:
        super().__init__(config)
        d = config.input_dim
        # (B, D) -> (B, code_size)
        self.encoder = mlp([d, *config.hidden, config.code_size], config.activation, last_act=config.code_activation)
        # (B, code_size) -> (B, D) logits
        self.decoder = mlp([config.code_size, *config.decoder_widths, d], config.activation)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(flatten(x))

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(z).reshape(z.shape[0], *self.config.input_shape)


@dataclass(frozen=True, kw_only=True)
class LinearConfig(AutoencoderConfig):
    code_size: int = 30
    recon_loss: Literal["bce", "mse"] = "mse"  # with MSE the optimum spans PCA's subspace
    output_activation: Literal["sigmoid", "linear"] = "linear"

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("code_size", self.code_size)
        check(
            self.code_size < self.input_dim,
            "code_size",
            f"must be smaller than the input size {self.input_dim} for an undercomplete model, got {self.code_size}",
        )


@register_model("linear")
class LinearAutoencoder(Autoencoder):
    """Undercomplete linear autoencoder; trained with MSE its decoder spans the PCA subspace.

    Baldi & Hornik (1989): the global optimum projects onto the top principal components.
    """

    Config = LinearConfig

    def __init__(self, config: LinearConfig) -> None:
        super().__init__(config)
        self.encoder = nn.Linear(config.input_dim, config.code_size)  # (B, D) -> (B, k)
        self.decoder = nn.Linear(config.code_size, config.input_dim)  # (B, k) -> (B, D)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(flatten(x))

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(z).reshape(z.shape[0], *self.config.input_shape)
