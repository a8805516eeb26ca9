"""Convolutional autoencoder: conv + max-pool encoder, with three ways back up in the decoder.

Images (channels, height, width) go through 2-D convolutions; signals (channels, time), such as
sensor windows or audio frames, through 1-D ones: the same layers, one dimension fewer. A signal
stored (N, C, T) is read as grey C x T images: `dims: 1` convolves those along time, their rows as
channels (`aekit train` sets it for samples it draws as curves: `data.core.is_picture`).

Decoders (`decoder` key):
  upsample   nearest-neighbour upsampling by 2, then a conv
  transpose  a stride-2 transposed conv (learned upsampling)
  unpool     max-unpooling with the encoder's pooling indices ("remember where the max was"), then
             a conv. `forward` passes the indices from `encode` to the decoder (and returns them in
             `Output.extras["pool_indices"]`). `decode(z)` alone has no indices, so it unpools with
             fixed switches: each value goes to the top-left of its 2x2 window, zeros elsewhere
             (Dosovitskiy et al. 2015). Its shapes are right, but a model trained with real indices
             reconstructs best through `forward` or `decode(z, pool_indices=...)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from ..config import check, layer_widths, positive
from ..data.core import is_picture
from ..registry import register_model
from .base import Activation, Autoencoder, AutoencoderConfig, Output, activation, tensor_input


@dataclass(frozen=True, kw_only=True)
class ConvConfig(AutoencoderConfig):
    input_shape: tuple[int, ...]  # (channels, height, width), or a signal's (channels, time); sides divisible by 2**len(channels)
    channels: tuple[int, ...] = (16, 32)  # conv widths; each conv is followed by a 2x2 max-pool
    kernel_size: int = 3  # odd, so "same" padding keeps the size
    activation: Activation = "relu"  # after each hidden conv (encoder and decoder)
    batch_norm: bool = False  # batch norm after each hidden conv (encoder and decoder)
    code_size: int | None = None  # a dense code layer of this size; None = the last feature map is the code
    decoder: Literal["upsample", "transpose", "unpool"] = "upsample"  # upsampling + conv, transposed convs, or unpooling
    dims: Literal[1, 2] | None = None  # axes convolved: 2 (images), 1 (time; a grey C x T image's rows as channels); None: by the shape

    def __post_init__(self) -> None:
        super().__post_init__()
        check(
            len(self.input_shape) in (2, 3),
            "input_shape",
            f"the conv model needs images shaped (channels, height, width) or signals shaped (channels, time), got "
            f"{tuple(self.input_shape)}; flat samples (a table's rows) train on the dense (or automatic) model, and a "
            "signal of one channel is shaped (1, time): saved as an (N, 1, T) array",
        )
        check(not (self.dims == 2 and len(self.input_shape) == 2), "dims", "2 needs images shaped (channels, height, "
              f"width), got {tuple(self.input_shape)}: a signal (channels, time) is convolved along time (dims 1)")
        check(not (self.dims == 1 and len(self.input_shape) == 3 and self.input_shape[0] != 1), "dims",
              f"1 convolves a signal along time, shaped (channels, time) or read as a grey image (1, channels, time), "
              f"got {tuple(self.input_shape)}")
        check(len(self.channels) > 0, "channels", "needs at least one conv width, e.g. [16, 32]")
        layer_widths("channels", self.channels)
        check(
            self.kernel_size > 0 and self.kernel_size % 2 == 1,
            "kernel_size",
            f"must be an odd number > 0 (1, 3, 5, ...), got {self.kernel_size}",
        )
        positive("code_size", self.code_size, allow_none=True)
        n_pool = len(self.channels)
        factor = 2**n_pool
        sides = self.conv_shape[1:]
        bad = next((side for side in sides if side % factor), None)  # the side to change, e.g. 17 of 20x17
        below = factor * ((bad or 0) // factor) or factor
        shape = tuple(self.input_shape)
        signal = (" (a signal's C x T image: dims=1 convolves it along time)" if not is_picture(shape) else
                  " (windows stored time-major, (N, T, C)? x.swapaxes(-1, -2) makes them (N, C, T))"
                  if len(shape) == 3 and not is_picture((shape[0], shape[2], shape[1])) else "")
        what = ("height and width must be multiples", f"resize the images{signal}") if len(sides) == 2 else (
            "its length must be a multiple", "cut the signal")
        check(
            bad is None,
            "input_shape",
            f"{tuple(self.conv_shape)} cannot go through {n_pool} pooling layers (one per entry of channels): "
            f"{what[0]} of {factor} ({bad}: e.g. {below} or {below + factor}); "
            f"{'use fewer channels entries or ' if n_pool > 1 else ''}{what[1]}",  # (one entry is the fewest: a shapes hunt)
        )

    @property
    def conv_shape(self) -> tuple[int, ...]:
        """What the convolutions see: an image's (C, H, W), or a signal's (C, T), its grey rows as channels."""
        return tuple(self.input_shape[1:] if self.dims == 1 and len(self.input_shape) == 3 else self.input_shape)

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of the last pooled feature map, (C, H / 2**n, W / 2**n), or (C, T / 2**n) for a signal."""
        factor = 2 ** len(self.channels)
        return (self.channels[-1], *(side // factor for side in self.conv_shape[1:]))


def layer(kind: str, dims: int) -> type[nn.Module]:
    """torch's 1-D or 2-D version of a layer: layer("Conv", 2) is nn.Conv2d."""
    return getattr(nn, f"{kind}{dims}d")


class Unpool(nn.Module):
    """Max-unpooling by 2 along each side: values go back where `indices` say the max was, zeros elsewhere.

    Without indices each value goes to the first place of its window (top-left: fixed switches).
    """

    def forward(self, x: Tensor, indices: Tensor | None = None) -> Tensor:
        # (B, C, h, w) -> (B, C, 2h, 2w); a signal's (B, C, t) -> (B, C, 2t)
        sides = tuple(2 * side for side in x.shape[2:])
        if indices is not None:  # torch's max_unpool, as a scatter: its size check fails to trace (TorchScript)
            flat = x.new_zeros(*x.shape[:2], math.prod(sides)).scatter(2, indices.flatten(2), x.flatten(2))
            return flat.reshape(*x.shape[:2], *sides)
        out = x.new_zeros(*x.shape[:2], *sides)
        out[(..., *[slice(None, None, 2)] * len(sides))] = x
        return out


def norm_act(channels: int, act: str, batch_norm: bool, dims: int) -> list[nn.Module]:
    """What follows a hidden conv: [batch norm], activation."""
    return [layer("BatchNorm", dims)(channels), activation(act)] if batch_norm else [activation(act)]


class UpBlock(nn.Module):
    """Doubles each side and maps c_in -> c_out channels; `last` leaves out norm and activation."""

    def __init__(self, kind: str, c_in: int, c_out: int, k: int, act: str, batch_norm: bool, dims: int, *, last: bool):
        super().__init__()
        self.kind = kind
        if kind == "transpose":
            # (H - 1) * 2 - 2 * (k // 2) + k + 1 = 2H for odd k
            self.up = layer("ConvTranspose", dims)(c_in, c_out, k, stride=2, padding=k // 2, output_padding=1)
            self.conv = nn.Identity()
        else:
            self.up = Unpool() if kind == "unpool" else nn.Upsample(scale_factor=2, mode="nearest")
            self.conv = layer("Conv", dims)(c_in, c_out, k, padding=k // 2)
        self.tail = nn.Sequential() if last else nn.Sequential(*norm_act(c_out, act, batch_norm, dims))

    def forward(self, x: Tensor, indices: Tensor | None = None) -> Tensor:
        x = self.up(x, indices) if self.kind == "unpool" else self.up(x)
        return self.tail(self.conv(x))


@register_model("conv")
class ConvAutoencoder(Autoencoder):
    """Convolutional autoencoder: conv + max-pool down, upsample / transposed conv / unpool back up.

    Masci et al. (2011), stacked convolutional autoencoders; unpooling with switches: Zeiler & Fergus (2014).
    """

    Config = ConvConfig

    def __init__(self, config: ConvConfig) -> None:
        super().__init__(config)
        cfg = config
        widths = [cfg.conv_shape[0], *cfg.channels]
        k, act, bn, dims = cfg.kernel_size, cfg.activation, cfg.batch_norm, len(cfg.conv_shape) - 1
        # each block: (B, c_i, H, W) -> (B, c_{i+1}, H, W); each pool halves H and W (a signal: T)
        self.down = nn.ModuleList(
            nn.Sequential(layer("Conv", dims)(a, b, k, padding=k // 2), *norm_act(b, act, bn, dims))
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.pool = layer("MaxPool", dims)(2, return_indices=True)
        feat = math.prod(cfg.feature_shape)
        if cfg.code_size is not None:
            self.to_code = nn.Linear(feat, cfg.code_size)  # (B, C*h*w) -> (B, code_size)
            self.from_code = nn.Sequential(nn.Linear(cfg.code_size, feat), activation(act))
        # mirror of `down`: (B, c_{i+1}, H/2, W/2) -> (B, c_i, H, W); the last gives input-channel logits
        self.up = nn.ModuleList(
            UpBlock(cfg.decoder, b, a, k, act, bn, dims, last=i == 0)
            for i, (a, b) in reversed(list(enumerate(zip(widths[:-1], widths[1:]))))
        )

    @property
    def code_size(self) -> int:
        """Number of code features (the flattened feature map when there is no dense code layer)."""
        cfg = self.config
        return cfg.code_size if cfg.code_size is not None else math.prod(cfg.feature_shape)

    def encode_with_indices(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The code and each pooling layer's argmax indices, first layer first."""
        h = tensor_input(x).reshape(x.shape[0], *self.config.conv_shape)
        indices = []
        for block in self.down:
            h, idx = self.pool(block(h))
            indices.append(idx)
        if self.config.code_size is not None:
            h = self.to_code(h.flatten(1))  # (B, code_size)
        return h, indices  # h: (B, code_size) or (B, C, h, w)

    def encode(self, x: Tensor) -> Tensor:
        return self.encode_with_indices(x)[0]

    def decode_logits(self, z: Tensor, *, pool_indices: list[Tensor] | None = None) -> Tensor:
        """Logits shaped like the input; `pool_indices` (from encoding) are used by the unpool decoder only."""
        cfg = self.config
        h = self.from_code(z) if cfg.code_size is not None else z
        h = h.reshape(z.shape[0], *cfg.feature_shape)  # a flattened feature-map code is accepted too
        steps = reversed(pool_indices) if pool_indices is not None else [None] * len(self.up)
        for block, idx in zip(self.up, steps):
            h = block(h, idx)
        return h.reshape(z.shape[0], *cfg.input_shape)

    def decode(self, z: Tensor, *, pool_indices: list[Tensor] | None = None) -> Tensor:
        return self.activate_output(self.decode_logits(z, pool_indices=pool_indices))

    def forward(self, x: Tensor) -> Output:
        z, indices = self.encode_with_indices(x)
        use = indices if self.config.decoder == "unpool" else None
        logits = self.decode_logits(z, pool_indices=use)
        extras = {"pool_indices": indices} if use is not None else {}
        return Output(x_hat=self.activate_output(logits), z=z, logits=logits, extras=extras)
