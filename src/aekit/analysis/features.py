"""What the units of a trained model respond to: first-layer weights, top inputs, activation maximisation.

A unit is a coordinate of the code (`layer=None`) or of any module's output inside the encoder
(`layer=` a module or its name in `model.named_modules()`), recorded with a forward hook while
`model.encode` runs. For convolutional outputs (B, C, H, W) or (B, C, T) a unit is a channel, averaged
over space (or time).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from ..config import check, count
from ..data.batches import (
    autoencoder_of,
    eval_mode,
    input_shape_of,
    inputs_of,
    map_batches,
    model_device,
    model_dtype,
)
from ..data.core import is_picture
from ..errors import ConfigError, warn
from . import plots


def first_layer(model: nn.Module) -> nn.Linear | nn.Conv1d | nn.Conv2d:
    """The first nn.Linear or convolution in `model.modules()` (the layer that sees the input)."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            return module
    raise ConfigError(f"model '{getattr(model, 'name', type(model).__name__)}' has no nn.Linear or convolution layer")


def first_layer_weights(model) -> np.ndarray:
    """Each first-layer unit's weights shaped like its input: (units, *input_shape), or the filters
    (filters, C, kh, kw) of an image's convolution, (filters, C, k) of a signal's."""
    shape = input_shape_of(model)
    layer = first_layer(model)
    w = layer.weight.detach().float().cpu()
    if getattr(model, "conditional", False) and isinstance(layer, nn.Linear) and w.shape[1] > math.prod(shape):
        w = w[:, : math.prod(shape)]  # a conditional model's inputs: the sample, then its label's one-hot (left out)
    if not isinstance(layer, nn.Linear) or w.shape[1] != math.prod(shape):
        return w.numpy()  # conv filters, or (out, in) rows of a Linear not on the raw input
    return w.reshape(w.shape[0], *shape).numpy()


def plot_first_layer(model, *, max_units: int = 64) -> tuple[np.ndarray, Figure]:
    """(every unit's first-layer weight vectors, the Figure): the first `max_units` drawn as images (mid-grey = 0,
    each scaled on its own), or as curves where the samples are no pictures (a table's rows, signals: 0.5 = a weight
    of 0)."""
    count("max_units", max_units)
    weights = first_layer_weights(model)
    shown = weights[:max_units]
    channels = shown.shape[1] if shown.ndim == 4 else 1
    if channels > 4:  # many input channels: the first (up to 4, as_image lays them side by side), said
        shown = shown[:, :1]
    cols = min(len(shown), 16 if len(shown) > 64 else 8)
    picture = not isinstance(first_layer(model), nn.Conv1d) and is_picture(shown.shape[1:])  # a signal's taps: curves
    key = "grey = 0, light = positive" if picture else "each scaled on its own: 0.5 = a weight of 0"
    label = ", the label's weights left out" if getattr(model, "conditional", False) else ""
    start = ("; untrained: the model is its PCA start (restore_best kept it), its non-linear path's weights as they "
             "were drawn" if getattr(model, "at_pca_start", False) else "")  # (an image trial: noise, unsaid)
    fig = (plots.image_grid if picture else plots.curve_grid)(
        plots.grid_rows(plots.scale_each(shown), cols, fill=1.0),  # blank tiles white: grey is a weight of 0 (a bug hunt)
        title=f"{model.name}: first-layer weights, {len(shown)} of {len(weights)} units ({key}{label}"
              f"{f'; channel 0 of {channels}' if channels > 4 else ''}){start}",
    )
    return plots.drawn(weights, fig)


# --- unit activations ----------------------------------------------------------------------------


def _resolve_layer(model: nn.Module, layer: nn.Module | str | None) -> nn.Module | None:
    if layer is None or isinstance(layer, nn.Module):
        return layer
    modules = dict(model.named_modules())
    if layer not in modules:
        names = [n for n, m in modules.items() if n and not list(m.children())]
        raise ConfigError(f"layer: no module named {layer!r}; choose one of: {', '.join(names)}")
    return modules[layer]


def _activations(model, x: Tensor, layer: nn.Module | None) -> Tensor:
    """(B, units): the code, or `layer`'s output while encoding (channels averaged over space)."""
    if layer is None:
        z = model.encode(x)
        return z.reshape(z.shape[0], -1)
    captured: list[Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        model.encode(x)
    finally:
        handle.remove()
    if not captured:
        raise ConfigError(f"layer: {type(layer).__name__} is not used by encode(); pick an encoder layer")
    if len(captured) > 1:  # (a bug hunt: its last use was taken, its others out of reach, unsaid)
        raise ConfigError(f"layer: {type(layer).__name__} runs {len(captured)} times in encode() (one module shared by "
                          "several blocks); pick a layer used once, such as a block's convolution")
    out = captured[-1]
    out = out[0] if isinstance(out, (tuple, list)) else out
    return out.mean(dim=tuple(range(2, out.ndim))) if out.ndim > 2 else out  # a channel a unit


def unit_activations(model, data: Any, *, layer: nn.Module | str | None = None, batch_size: int = 512) -> np.ndarray:
    """(N, units) activations of every sample, in eval mode."""
    autoencoder_of(model)
    x, _ = inputs_of(model, data, whole=False)  # (a memory-mapped file read a batch at a time: a scale hunt)
    module = _resolve_layer(model, layer)
    return map_batches(model, x, lambda xb: _activations(model, xb, module), batch_size=batch_size).numpy()


def _n_units(model, module: nn.Module | None) -> int:
    """How many units the code or `module` has: one input of zeros encoded (checks come before the work)."""
    return map_batches(model, torch.zeros(1, *input_shape_of(model)), lambda xb: _activations(model, xb, module)).shape[1]


def _check_unit(unit: Any, n_units: int, key: str = "unit") -> None:
    whole = isinstance(unit, numbers.Integral) and not isinstance(unit, bool)
    check(whole and 0 <= unit < n_units, key, f"must be a whole number, one of this layer's units 0..{n_units - 1}, got {unit!r}")


def top_activating(
    model, data: Any, unit: int, *, k: int = 10, layer: nn.Module | str | None = None
) -> tuple[np.ndarray, np.ndarray, Figure]:
    """The `k` inputs that most activate `unit` (all, where there are fewer): (indices (k,), activations (k,),
    Figure)."""
    count("k", k)
    x, _ = inputs_of(autoencoder_of(model), data, whole=False)
    unit = unit.tolist() if isinstance(unit, (Tensor, np.ndarray)) else unit  # a 0-d tensor or array: its number
    _check_unit(unit, _n_units(model, _resolve_layer(model, layer)))
    acts = unit_activations(model, x, layer=layer)
    order = np.argsort(-acts[:, unit], kind="stable")[:k]
    images = x[order].numpy()[None]  # (1, k, *input_shape)
    where = f"code unit {unit}" if layer is None else f"unit {unit} of {layer if isinstance(layer, str) else type(layer).__name__}"
    fig = plots.image_grid(
        images,
        title=f"{model.name}: the {len(order)} inputs that most activate {where}",
        col_labels=[f"{a:.2f}" for a in acts[order, unit]],
        xlabel="activation",
    )
    return plots.drawn(order, acts[order, unit], fig)


def maximize_activation(
    model,
    units: int | Sequence[int],
    *,
    layer: nn.Module | str | None = None,
    norm: float | None = None,  # L2 norm of the input; None = sqrt(D) / 3, about a typical MNIST digit's
    steps: int = 200,
    lr: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, Figure]:
    """Inputs of fixed L2 norm that maximise each unit, by projected gradient ascent (Erhan et al. 2009).

    Returns (inputs (U, *input_shape), their activations (U,), Figure).
    """
    autoencoder_of(model)
    units = units.tolist() if isinstance(units, (Tensor, np.ndarray)) else units  # (numbers, not 0-d tensors)
    units = list(units) if isinstance(units, Iterable) and not isinstance(units, str) else [units]
    if not units:
        raise ConfigError("units: give at least one unit")
    count("steps", steps)
    shape = input_shape_of(model)
    dim = math.prod(shape)
    norm = math.sqrt(dim) / 3 if norm is None else norm
    for key, value in (("lr", lr), ("norm", norm)):  # NaN or infinity: an input of NaN, silently
        check(isinstance(value, numbers.Real) and 0 < value < math.inf, key, f"must be a finite number > 0, got {value!r}")
    module = _resolve_layer(model, layer)
    n_units = _n_units(model, module)
    for unit in units:
        _check_unit(unit, n_units, "units")
    device = model_device(model)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(len(units), dim, generator=generator).to(device, model_dtype(model))  # (a float64 model: a bug hunt)
    index = torch.tensor(units, device=device)

    def project(v: Tensor) -> Tensor:
        return v * (norm / v.norm(dim=1, keepdim=True).clamp_min(1e-12))

    def objective(v: Tensor) -> Tensor:
        acts = _activations(model, v.reshape(len(units), *shape), module)
        return acts.gather(1, index[:, None]).squeeze(1)  # (U,): unit i of sample i

    with eval_mode(model), torch.enable_grad():
        # start near 0, where units are not saturated: a sigmoid unit at exactly 1.0 in float32 has no
        # gradient, so a start at the full norm could leave the input as the noise it began as
        x = project(x) * 1e-2
        for _ in range(steps):
            x.requires_grad_(True)
            value = objective(x)
            (grad,) = torch.autograd.grad(value.sum(), x)  # gradients for x only, not the weights
            with torch.no_grad():  # a unit off (a ReLU's 0) where x is: no gradient; not a saturated one at its top
                dead = (grad.norm(dim=1) == 0) & (value == 0)  # (a bug hunt: 10 of 32
                x = project(x + lr * norm * grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12))  # units came
                if dead.any():  # back as the noise they began as): such a row starts again at a random input
                    x[dead] = project(torch.randn(int(dead.sum()), dim, generator=generator).to(x))
        with torch.no_grad():
            final = objective(x).cpu().numpy()
    if dead.any():
        quiet = [str(units[i]) for i in dead.nonzero()[:, 0].tolist()]
        warn(f"maximize_activation: unit{'s' * (len(quiet) > 1)} {', '.join(quiet[:10])}{' ...' * (len(quiet) > 10)} "
             "responded to no input tried (no gradient at any of them): their pictures are noise")
    inputs = x.detach().cpu().reshape(len(units), *shape).numpy()
    where = "code unit" if layer is None else "unit"
    fig = plots.image_grid(
        plots.grid_rows(plots.scale_each(inputs), min(len(units), 10), fill=1.0),
        title=f"{model.name}: inputs of L2 norm {norm:.2f} that maximise each {where}"
              f"{'' if layer is None else f' of {layer if isinstance(layer, str) else type(layer).__name__}'} "
              f"({'grey' if is_picture(shape) else '0.5'} = 0)",
        col_labels=[str(u) for u in units] if len(units) <= 10 else None,
        xlabel=f"{where} (activations {', '.join(f'{a:.2f}' for a in final[:6])}{', ...' if len(final) > 6 else ''})",
    )
    return plots.drawn(inputs, final, fig)
