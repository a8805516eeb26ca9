"""Fully connected autoencoders: `dense` (shallow or deep, any widths) and `linear` (≡ PCA).

A dense layer is Linear -> [BatchNorm1d] -> activation -> [Dropout]. Batch norm, dropout and the
activation can be set per layer; the decoder mirrors the encoder unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeVar

import torch
from torch import Tensor, nn

from ..config import check, layer_widths, positive
from ..errors import ConfigError
from ..registry import register_model
from .base import Activation, Autoencoder, AutoencoderConfig, activation, flatten
from .pca import LinearPath

T = TypeVar("T")


@dataclass(frozen=True)
class Layer:
    """One fully connected layer: Linear(n_in, n_out) -> [BatchNorm1d] -> activation -> [Dropout]."""

    n_in: int
    n_out: int
    activation: str = "linear"
    batch_norm: bool = False
    dropout: float = 0.0


def layer_tail(layer: Layer) -> list[nn.Module]:
    """The modules after a layer's Linear: batch norm, activation, dropout (those that apply)."""
    modules: list[nn.Module] = []
    if layer.batch_norm:
        modules.append(nn.BatchNorm1d(layer.n_out))
    if layer.activation != "linear":
        modules.append(activation(layer.activation))
    if layer.dropout > 0:
        modules.append(nn.Dropout(layer.dropout))
    return modules


def stack(layers: Sequence[Layer]) -> nn.Sequential:
    """A flat Sequential of `layers` (Linear, then its tail, for each)."""
    modules: list[nn.Module] = []
    for layer in layers:
        modules += [nn.Linear(layer.n_in, layer.n_out), *layer_tail(layer)]
    return nn.Sequential(*modules)


def mlp(widths: list[int], act: str, *, last_act: str | None = None) -> nn.Sequential:
    """Linear layers through `widths` (in, h1, ..., out) with `act` between them and `last_act` after."""
    n = len(widths) - 1
    acts = [act] * (n - 1) + [last_act or "linear"]
    return stack([Layer(a, b, name) for a, b, name in zip(widths[:-1], widths[1:], acts)])


def _per_layer(key: str, value: T | tuple[T, ...], n: int, what: str) -> list[T]:
    """`n` per-layer values from one value or a list of exactly `n` (`what` names the layers)."""
    if not isinstance(value, tuple):
        return [value] * n
    check(len(value) == n, key, f"needs {n} entries ({what}), got {len(value)}")
    return list(value)


@dataclass(frozen=True, kw_only=True)
class DenseConfig(AutoencoderConfig):
    hidden: tuple[int, ...] = (1000, 500, 250)  # encoder widths between input and code
    code_size: int = 30
    activation: Activation = "relu"  # hidden layers
    code_activation: Activation = "linear"  # the code layer (Hinton & Salakhutdinov: linear)
    decoder_hidden: tuple[int, ...] | None = None  # None mirrors `hidden`
    # Per-layer options. One value applies to every hidden layer (not the code layer); a list gives
    # one entry per encoder hidden layer and then the code layer (len(hidden) + 1 entries).
    batch_norm: bool | tuple[bool, ...] = False  # BatchNorm1d after the Linear, before the activation
    dropout: float | tuple[float, ...] = 0.0  # dropout probability after the activation
    hidden_activations: tuple[Activation, ...] | None = None  # one per hidden layer; None = `activation`
    # The decoder's hidden layers; the output layer never gets batch norm or dropout. None mirrors
    # the encoder: decoder hidden layer i gets what encoder hidden layer len(hidden)-1-i has (the
    # layer of the same width when decoder_hidden mirrors hidden); a list has one entry per layer.
    decoder_batch_norm: bool | tuple[bool, ...] | None = None
    decoder_dropout: float | tuple[float, ...] | None = None
    decoder_activations: tuple[Activation, ...] | None = None
    # A trainable linear encoder/decoder beside the layers above, set to PCA's solution on the training
    # data before the first step, with the code and output layers starting at zero: training starts
    # exactly at PCA's reconstruction (models/pca.py). Needs linear code and output activations.
    linear_path: bool = False
    no_linear_path: ClassVar[str | None] = None  # a model of these keys that has no linear path: its name and why

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("code_size", self.code_size)
        check(not (self.linear_path and self.no_linear_path), "linear_path", f"not available for {self.no_linear_path}; "
              "the dense model has it")
        if self.linear_path:
            check(self.code_size < self.input_dim, "code_size", f"must be smaller than the {self.input_dim} input "
                  f"features with linear_path (PCA's start needs an undercomplete code), got {self.code_size}")
            for key in ("code_activation", "output_activation"):
                check(getattr(self, key) == "linear", key, f"must be 'linear' with linear_path (which starts at "
                      f"PCA's linear solution), got {getattr(self, key)!r}")
        layer_widths("hidden", self.hidden)
        layer_widths("decoder_hidden", self.decoder_hidden)
        for key in ("dropout", "decoder_dropout"):
            value = getattr(self, key)
            probs = value if isinstance(value, tuple) else () if value is None else (value,)
            check(all(0 <= p < 1 for p in probs), key, f"probabilities must be in [0, 1), got {list(probs)}")
        for key, layers, where, code in (
                ("batch_norm", self.hidden, "hidden", "; [true] puts it on the code layer"),
                ("dropout", self.hidden, "hidden", "; [0.2] puts it on the code layer"),
                ("decoder_batch_norm", self.decoder_widths, "decoder_hidden", ""),
                ("decoder_dropout", self.decoder_widths, "decoder_hidden", "")):
            value = getattr(self, key)  # one value is for the hidden layers: with none it would do nothing
            check(layers or isinstance(value, tuple) or not value, key, f"applies to hidden layers, and {where} is []{code}")
        self.encoder_layers()  # validates the per-layer lengths
        self.decoder_layers()

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        return tuple(reversed(self.hidden)) if self.decoder_hidden is None else self.decoder_hidden

    @property
    def _hidden_acts(self) -> Activation | tuple[Activation, ...]:
        """`hidden_activations`, or the one `activation` of every hidden layer."""
        return self.activation if self.hidden_activations is None else tuple(self.hidden_activations)

    def encoder_layers(self) -> list[Layer]:
        """input -> hidden... -> code, one Layer each (len(hidden) + 1)."""
        widths = [self.input_dim, *self.hidden, self.code_size]
        acts = _per_layer("hidden_activations", self._hidden_acts, len(self.hidden), "one per hidden layer")
        bns = self._encoder_values("batch_norm", False)
        drops = self._encoder_values("dropout", 0.0)
        return [Layer(*spec) for spec in zip(widths, widths[1:], [*acts, self.code_activation], bns, drops)]

    def decoder_layers(self) -> list[Layer]:
        """code -> decoder hidden... -> input-sized logits, one Layer each; the last is linear and plain."""
        n = len(self.decoder_widths)
        widths = [self.code_size, *self.decoder_widths, self.input_dim]
        acts = self._decoder_values("decoder_activations", "hidden_activations", self._hidden_acts, n)
        bns = self._decoder_values("decoder_batch_norm", "batch_norm", self.batch_norm, n)
        drops = self._decoder_values("decoder_dropout", "dropout", self.dropout, n)
        hidden = [Layer(*spec) for spec in zip(widths, widths[1:], acts, bns, drops)]
        return hidden + [Layer(widths[-2], widths[-1])]

    def _encoder_values(self, key: str, code_default):
        """One value per encoder layer (hidden layers, then the code layer)."""
        value = getattr(self, key)
        if not isinstance(value, tuple):
            return [value] * len(self.hidden) + [code_default]
        return _per_layer(key, value, len(self.hidden) + 1, "one per encoder hidden layer, then the code layer")

    def _decoder_values(self, key: str, enc_key: str, enc_value, n: int) -> list:
        """`key`'s value per decoder hidden layer: its own if given, else the encoder's, mirrored."""
        value = getattr(self, key)
        if value is not None:
            return _per_layer(key, value, n, "one per decoder hidden layer")
        if not isinstance(enc_value, tuple):  # one value for every encoder hidden layer: same in the decoder
            return [enc_value] * n
        check(
            len(self.hidden) == n,
            key,
            f"cannot mirror the per-layer {enc_key} ({len(self.hidden)} encoder hidden layers) onto "
            f"{n} decoder hidden layers; give {key} explicitly ({n} entries)",
        )
        return list(enc_value[: len(self.hidden)])[::-1]


@register_model("dense")
class DenseAutoencoder(Autoencoder):
    """Fully connected autoencoder, shallow or deep, with a mirrored or its own decoder.

    Hinton & Salakhutdinov (2006) use 784-1000-500-250-30 with a linear code layer.
    """

    Config = DenseConfig

    def __init__(self, config: DenseConfig) -> None:
        super().__init__(config)
        self.encoder = stack(config.encoder_layers())  # (B, D) -> (B, code_size)
        self.decoder = stack(config.decoder_layers())  # (B, code_size) -> (B, D) logits
        self.linear_path = LinearPath(config.input_dim, config.code_size) if config.linear_path else None
        if self.linear_path is not None:  # the nonlinear part adds nothing until training moves it
            for last in (linears(self.encoder)[-1], linears(self.decoder)[-1]):
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)

    @property
    def at_pca_start(self) -> bool:
        """Whether the model is its PCA start: a linear path, and the non-linear path's last layers still zero (never
        trained, or restore_best kept the start)."""
        return self.linear_path is not None and not any(
            last.weight.any() or last.bias.any() for last in (linears(self.encoder)[-1], linears(self.decoder)[-1]))

    def init_from_data(self, x: Tensor, *, seed: int = 0) -> None:
        """Called by `fit` before the first step of a new run: fit the linear path to PCA."""
        if self.linear_path is not None:
            self.linear_path.fit(x, seed=seed)

    @classmethod
    def from_layers(cls, layers: Sequence[Autoencoder]) -> DenseAutoencoder:
        """A deep autoencoder stacking trained shallow ones (greedy layer-wise pretraining): copies of
        their encoders in order, then of their decoders in reverse. Its `encode` equals the
        composition of the layers' `encode`."""
        deep = cls(cls.Config(**stacked_config(layers)))
        copy_linears(linears(deep.encoder), [layer.encoder for layer in layers], "encoder")
        copy_linears(linears(deep.decoder), [layer.decoder for layer in reversed(layers)], "decoder")
        return deep

    def encode(self, x: Tensor) -> Tensor:
        x = flatten(x)
        if self.linear_path is None:
            return self.encoder(x)
        x = self.linear_path.standardise(x)  # both paths read the data in units of its spread (LinearPath)
        return self.encoder(x) + self.linear_path.encode(x)

    def decode_logits(self, z: Tensor) -> Tensor:
        out = self.decoder(z)
        if self.linear_path is not None:
            out = self.linear_path.restore(out + self.linear_path.decode(z))
        return out.reshape(z.shape[0], *self.config.input_shape)


def linears(module: nn.Module) -> list[nn.Linear]:
    """The Linear layers of `module`, in order."""
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


@torch.no_grad()
def copy_linears(targets: Sequence[nn.Linear], modules: Sequence[nn.Module], what: str) -> None:
    """Copy the one Linear of each of `modules` (a shallow layer's encoder or decoder) into the matching
    target; a module with other weights (batch norm) is refused."""
    for target, module in zip(targets, modules):
        sources = linears(module)
        own = sum(p.numel() for m in sources for p in m.parameters())
        if len(sources) != 1 or sum(p.numel() for p in module.parameters()) != own:
            raise ConfigError(
                f"layer_config: each pretrained layer's {what} must be one Linear and an activation to be "
                "stacked (no batch norm or other weights); remove batch_norm from layer_config"
            )
        target.weight.copy_(sources[0].weight)
        target.bias.copy_(sources[0].bias)


def stacked_config(layers: Sequence[Autoencoder]) -> dict:
    """The config of the deep autoencoder that stacks shallow `layers` (first layer first).

    Encoder layer i is layer i's encoder; decoder hidden layer i reconstructs the input of layer
    L-1-i, with that layer's output activation (sigmoid, or linear for an MSE layer).
    """
    first = layers[0].config
    return {
        "input_shape": tuple(first.input_shape),
        "hidden": tuple(layer.code_size for layer in layers[:-1]),
        "code_size": layers[-1].code_size,
        "hidden_activations": tuple(layer.config.code_activation for layer in layers[:-1]),
        "code_activation": layers[-1].config.code_activation,
        "decoder_activations": tuple(layer.config.output_activation for layer in reversed(layers[1:])),
        "recon_loss": first.recon_loss,
        "output_activation": first.output_activation,
    }


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
