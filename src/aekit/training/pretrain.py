"""Greedy layer-wise pretraining: one shallow autoencoder per layer, stacked into a deep one.

Layer k is a shallow autoencoder (a registered model with `hidden=()` and `code_size=widths[k]`)
trained on the codes of layers 0..k-1, which are frozen: those codes are computed once per layer
into a cached tensor, not recomputed per batch. The trained layers are then stacked by the model
(`DenseAutoencoder.from_layers`, or `TiedAutoencoder`'s for tied layers) into one deep autoencoder
whose encoder is the layers' encoders in order and whose decoder is their decoders in reverse,
optionally fine-tuned end to end with `aekit.fit`.

Bengio, Lamblin, Popovici & Larochelle, "Greedy layer-wise training of deep networks" (NIPS 2007);
Vincent, Larochelle, Lajoie, Bengio & Manzagol, "Stacked denoising autoencoders" (JMLR 2010).

Choices, following Vincent et al. (2010) unless the caller's `layer_config` says otherwise:
- Every layer's code is a sigmoid, so the next layer's input lies in (0, 1) and it can be
  reconstructed through a sigmoid with cross-entropy, exactly like the pixels of the first layer.
- The reconstruction loss of each layer is chosen from its input: BCE (sigmoid output) when the
  input lies in [0, 1], else MSE with a linear output (e.g. after a ReLU code, or for
  standardised data); denoising layers then also take the noise range from each batch.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..config import check
from ..data.batches import as_tensors, map_batches
from ..errors import ConfigError, DataError
from ..models.base import Autoencoder
from ..models.dense import DenseConfig
from ..registry import create_model, model_entry
from .callbacks import Callback
from .loop import fit, one_at_a_time, seconds_text, stream_seed

# layer_kind -> the registered model each layer is built from
LAYER_KINDS = {
    "plain": "dense",
    "denoising": "denoising",
    "sparse": "sparse-kl",
    "sparse-kl": "sparse-kl",
    "sparse-l1": "sparse-l1",
    "tied": "tied",
}
LAYER_STREAM = 1 << 40  # the layers' weight seeds: (seed, LAYER_STREAM, depth), apart from fit's (seed, rank)
# keys pretraining sets itself for each layer; a layer_config may not set them
_RESERVED = ("input_shape", "hidden", "code_size", "decoder_hidden")


@dataclass
class PretrainResult:
    """What `pretrain_layerwise` returns."""

    model: Autoencoder  # the deep autoencoder the layers were stacked into (fine-tuned if asked)
    layers: list[Autoencoder]  # the trained shallow autoencoders, frozen, first layer first
    layer_histories: list[dict[str, list[float]]]  # one `fit` history per layer
    fine_tune_history: dict[str, list[float]] = field(default_factory=dict)  # empty without fine-tuning
    seconds: list[float] = field(default_factory=list)  # per layer, then fine-tuning if any


def _layer_configs(layer_config: Mapping | Sequence[Mapping] | None, n: int) -> list[dict[str, Any]]:
    """One dict per layer, from None, one mapping for every layer, or a list of `n` mappings."""
    if layer_config is None or isinstance(layer_config, Mapping):
        configs = [dict(layer_config or {}) for _ in range(n)]
    else:
        configs = [dict(c) for c in layer_config]
        check(len(configs) == n, "layer_config", f"needs one mapping, or a list of {n} (one per layer), got {len(configs)}")
    for cfg in configs:
        for key in _RESERVED:
            check(key not in cfg, "layer_config", f"'{key}' is set by pretraining from `widths`; leave it out")
    return configs


def _layer_defaults(kind: str, x: Tensor) -> dict[str, Any]:
    """Sigmoid codes; BCE through a sigmoid for inputs in [0, 1], else MSE through a linear output."""
    defaults: dict[str, Any] = {"code_activation": "sigmoid"}
    if x.min() < 0 or x.max() > 1:
        defaults.update(recon_loss="mse", output_activation="linear")
        if kind == "denoising":
            defaults["data_range"] = None
    return defaults


def stack_layers(layers: Sequence[Autoencoder]) -> Autoencoder:
    """A deep `dense` (or, for tied layers, `tied`) autoencoder holding copies of `layers`' weights
    (`DenseAutoencoder.from_layers`): shallow dense-family autoencoders (no hidden layers), each taking the
    codes of the one before; other layers are refused in one line."""
    layers = list(layers)
    if not layers:
        raise ConfigError("stack_layers: give the pretrained layers, first layer first (an empty list was given)")
    for i, layer in enumerate(layers):  # (an API trial: tracebacks from inside the stacking, for each of these)
        dense = isinstance(getattr(layer, "config", None), DenseConfig)
        if not dense or layer.config.hidden:
            raise ConfigError(f"stack_layers: layer {i} is a {getattr(layer, 'name', type(layer).__name__)} model"
                              f"{' with hidden layers' * dense}; it stacks shallow dense, denoising, sparse, contractive "
                              "or tied autoencoders (hidden=[])")
        if i and layer.config.input_dim != layers[i - 1].code_size:
            raise ConfigError(f"stack_layers: layer {i} takes {layer.config.input_dim} inputs, but layer {i - 1} gives "
                              f"codes of {layers[i - 1].code_size}; each layer takes the codes of the one before")
    tied = all(layer.name == "tied" for layer in layers)
    return model_entry("tied" if tied else "dense").cls.from_layers(layers).eval()  # ready to use, as fit's and load_model's


def _losses(history: dict[str, list[float]]) -> str:
    """The training loss of the first epoch -> the last, or of the one epoch trained (not "245.1 -> 245.1")."""
    first, last, n = history["train_loss"][0], history["train_loss"][-1], len(history["train_loss"])
    return f"{first:.4g} -> {last:.4g} ({n} epochs)" if n > 1 else f"{last:.4g} (1 epoch)"


@one_at_a_time  # (its layers' seeds drawn on torch's generator, as fit's)
def pretrain_layerwise(
    widths: Sequence[int],
    data: Any,
    val: Any = None,
    *,
    layer_kind: str = "denoising",
    layer_config: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    epochs_per_layer: int | None = None,
    fine_tune_epochs: int = 0,
    fine_tune_options: Mapping[str, Any] | None = None,
    quiet: bool = False,
    **train_options: Any,
) -> PretrainResult:
    """Train one shallow autoencoder per width greedily, stack them, optionally fine-tune the stack.

    data, val: a tensor, array, (x, y) pair or Dataset; labels are ignored.
    layer_kind: plain, denoising, sparse (= sparse-kl), sparse-l1 or tied.
    layer_config: keys of that model's config for every layer, or a list with one mapping per
        layer (e.g. a noise level each); they override the defaults described in the module doc.
    epochs_per_layer: each layer's epochs (10 when None).
    train_options: TrainConfig keys for every `fit` (batch_size, lr, optimizer, seed, ...);
        `fine_tune_options` override them for the end-to-end fine-tuning. A time_budget among them is
        each stage's seconds: every layer's (give no epochs_per_layer), and the fine-tuning's where
        fine_tune_epochs > 0.
    Prints one line per layer unless `quiet`.
    """
    check(layer_kind in LAYER_KINDS, "layer_kind", f"{layer_kind!r} is not allowed; choose one of: {', '.join(LAYER_KINDS)}")
    check(not isinstance(widths, (numbers.Integral, str)), "widths", f"a list of layer widths, such as [{widths}], got "
          f"{widths!r}")
    widths = [int(w) if isinstance(w, numbers.Integral) and not isinstance(w, bool) else w for w in widths]  # numpy's
    check(len(widths) > 0, "widths", "needs at least one layer width")
    check(all(isinstance(w, int) and w > 0 for w in widths), "widths", f"must be integers > 0, got {widths}")
    budget = train_options.get("time_budget")
    check(epochs_per_layer is None or budget is None, "epochs_per_layer", f"give it or time_budget ({budget!r}), not "
          "both: the budget decides how long each layer trains")  # (a trial: the epochs were ignored without a word)
    epochs_per_layer = 10 if epochs_per_layer is None else epochs_per_layer
    check(isinstance(epochs_per_layer, int) and epochs_per_layer > 0, "epochs_per_layer", f"must be an integer > 0, got {epochs_per_layer!r}")
    check(isinstance(fine_tune_epochs, int) and fine_tune_epochs >= 0, "fine_tune_epochs", f"must be an integer >= 0, got {fine_tune_epochs!r}")
    check("epochs" not in train_options, "epochs", "is set by pretraining; use epochs_per_layer / fine_tune_epochs")
    check("epochs" not in (fine_tune_options or {}), "fine_tune_options", "'epochs' is set by fine_tune_epochs")  # (a bug
    # hunt: ignored, unsaid)
    check(isinstance(train_options.get("seed", 0), numbers.Integral), "seed", f"must be an integer, got "
          f"{train_options.get('seed')!r}")  # (a bug hunt: int(None) raised TypeError)
    for key in ("resume", "run_dir"):  # (an API trial: the epochs' hint for these too)
        check(key not in train_options, key, "pretraining keeps no run folder; aekit.fit(result.model, ..., run_dir=...) "
              "trains the model it returns in one")
    configs = _layer_configs(layer_config, len(widths))
    kind = LAYER_KINDS[layer_kind]
    options = {"progress": False, **train_options}
    seed = int(options.get("seed", 0))

    x, _ = as_tensors(data, "pretraining data")
    if len(x) == 0:  # (a bug hunt: a RuntimeError from min() of nothing)
        raise DataError("pretraining data: the data set is empty")
    vx = as_tensors(val, "validation data")[0] if val is not None else None
    h, vh = x, vx  # the current layer's input: the data, then each frozen layer's cached codes
    layers: list[Autoencoder] = []
    histories: list[dict[str, list[float]]] = []
    seconds: list[float] = []
    for k, (width, overrides) in enumerate(zip(widths, configs)):
        start = time.perf_counter()
        config = {**_layer_defaults(kind, h), **overrides}
        with torch.random.fork_rng(devices=[]):  # each layer's initial weights from the seed and its depth (the
            torch.manual_seed(stream_seed(seed, LAYER_STREAM, k))  # caller's generator left as it was: a bug hunt)
            layer = create_model(kind, input_shape=tuple(h.shape[1:]), hidden=(), code_size=width, **config)
        fit_options = _length(epochs_per_layer, options)
        if not quiet and not options["progress"]:  # (a bug hunt: 500 s a layer without a line)
            fit_options = {**fit_options, "callbacks": [*fit_options.get("callbacks", ()), _Heartbeat(k + 1, len(widths))]}
        history = fit(layer, h, vh, **fit_options)
        layer.eval().requires_grad_(False)  # frozen from here on
        layers.append(layer)
        histories.append(history)
        if k + 1 < len(widths):  # the next layer's input, computed once
            h = map_batches(layer, h, layer.encode, batch_size=1024)  # (N, d_in) -> (N, width)
            vh = map_batches(layer, vh, layer.encode, batch_size=1024) if vh is not None else None
        seconds.append(time.perf_counter() - start)
        if not quiet:
            d_in = layer.config.input_dim
            val_text = f", val_loss {history['val_loss'][-1]:.4g}" if "val_loss" in history else ""
            print(
                f"layer {k + 1}/{len(widths)}: {d_in} -> {width} ({kind}, {layer.config.recon_loss}) "
                f"train_loss {_losses(history)}{val_text} "
                f"({seconds_text(seconds[-1])})",
                flush=True,
            )

    with torch.random.fork_rng(devices=[]):  # (the stack is built with weights drawn, then given the layers')
        model = stack_layers(layers)
    fine_tune_history: dict[str, list[float]] = {}
    if fine_tune_epochs > 0:
        start = time.perf_counter()
        fine_tune_history = fit(model, x, vx, **_length(fine_tune_epochs, {**options, **(fine_tune_options or {})}))
        seconds.append(time.perf_counter() - start)
        if not quiet:
            print(
                f"fine-tuning {'-'.join(str(w) for w in [layers[0].config.input_dim, *widths])}: "
                f"train_loss {_losses(fine_tune_history)} "
                f"({seconds_text(seconds[-1])})",
                flush=True,
            )
    return PretrainResult(model, layers, histories, fine_tune_history, seconds)


class _Heartbeat(Callback):
    """A line at an epoch's end every HEARTBEAT seconds of a layer's training: long layers are not silent."""

    def __init__(self, layer: int, layers: int) -> None:
        self.layer, self.layers = layer, layers

    def on_train_begin(self, trainer) -> None:
        self.start = self.said = time.perf_counter()

    def on_epoch_end(self, trainer, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        if now - self.said >= HEARTBEAT:
            self.said = now
            planned = f"/{trainer.config.epochs}" if trainer.config.time_budget is None else ""
            print(f"  layer {self.layer}/{self.layers}: epoch {trainer.epoch}{planned}, train_loss "
                  f"{logs['train_loss']:.4g} ({seconds_text(now - self.start)})", flush=True)


HEARTBEAT = 15.0  # seconds


def _length(epochs: int, options: dict[str, Any]) -> dict[str, Any]:
    """`fit`'s options with `epochs`, unless a time_budget in them decides how long it trains."""
    return options if options.get("time_budget") is not None else {**options, "epochs": epochs}
