"""Decoding new codes: the latent-grid manifold picture, random samples, interpolation between inputs."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from ..config import check, count
from ..data.batches import (
    autoencoder_of,
    decoder_of,
    encode_all,
    eval_mode,
    input_shape_of,
    inputs_of,
    map_batches,
    model_device,
    model_dtype,
)
from ..errors import ConfigError, DataError
from . import plots

GRID_MAX = 100  # latent_grid's largest n: 100 x 100 = 10,000 decoded images, more than a picture can show


def code_shape(model) -> tuple[int, ...]:
    """One sample's code shape, e.g. (k,) or (C, H, W) for a convolutional code."""
    shape = input_shape_of(autoencoder_of(model))
    with eval_mode(model), torch.no_grad():
        z = model.encode(torch.zeros(1, *shape, device=model_device(model), dtype=model_dtype(model)))
    return tuple(z.shape[1:])


def _decode(model, z: Tensor) -> Tensor:
    """Decode codes given flat (N, k) or in the model's own code shape."""
    return map_batches(model, z.float().reshape(z.shape[0], *code_shape(model)), model.decode)


def latent_grid(
    model,
    *,
    n: int = 15,  # decoded codes per side, 2..GRID_MAX
    dims: tuple[int, int] | None = None,  # which two code coordinates to vary; None needs code_size 2
    limits: tuple[float, float] | None = None,  # range of both coordinates; None: from `data`, else (-2, 2)
    data: Any = None,  # optional samples whose codes set `limits` (2nd-98th percentile) and the fixed coordinates
    base: np.ndarray | None = None,  # the other coordinates when `dims` is a slice; None: median code or 0
) -> tuple[np.ndarray, Figure]:
    """Decode a regular n x n grid over a 2-D region of the code space (the "digit manifold").

    Returns (images (n, n, *input_shape) with row i at the i-th value of the second coordinate, Figure).
    """
    decoder_of(model)
    count("n", n, 2)
    check(n <= GRID_MAX, "n", f"must be at most {GRID_MAX} (a {GRID_MAX}x{GRID_MAX} grid of {GRID_MAX ** 2:,} decoded "
          f"images is more than can be looked at), got {n}")
    k = model.code_size
    if dims is None:
        if k != 2:
            raise ConfigError(
                f"latent_grid needs a 2-d code but model '{model.name}' has code_size {k}; "
                "pass dims=(i, j) to vary two coordinates with the others fixed"
            )
        dims = (0, 1)
    dims, limits = (v.tolist() if isinstance(v, (Tensor, np.ndarray)) else v for v in (dims, limits))  # (numbers)
    coordinates = np.shape(dims) == (2,) and all(isinstance(d, numbers.Integral) and not isinstance(d, bool)
                                                 and 0 <= d < k for d in dims)
    check(coordinates and dims[0] != dims[1], "dims", f"must be two different coordinates (whole numbers) in 0..{k - 1}, "
          f"got {dims!r}")
    finite = np.shape(limits) == (2,) and all(isinstance(v, numbers.Real) and math.isfinite(v) for v in limits)
    check(limits is None or finite and limits[0] < limits[1], "limits",
          f"must be (low, high), finite numbers with low < high, got {limits!r}")
    i, j = dims
    codes = None if data is None else encode_all(model, data)  # (N, k)
    fixed = "the given base" if base is not None else "the median code" if codes is not None else "0"
    if base is None:
        base = np.median(codes, axis=0) if codes is not None else np.zeros(k, dtype=np.float32)
    base = np.asarray(base, dtype=np.float32).reshape(-1)
    if base.shape != (k,):
        raise ConfigError(f"base: must hold {k} values (one per code coordinate), got {base.shape[0]}")
    if limits is not None:
        ranges = [(float(limits[0]), float(limits[1]))] * 2
    elif codes is not None:
        ranges = [tuple(np.percentile(codes[:, d], [2, 98])) for d in (i, j)]
        ranges = [(lo, hi) if hi - lo > 1e-6 else (lo - 1.0, hi + 1.0) for lo, hi in ranges]  # a constant unit
    else:
        ranges = [(-2.0, 2.0), (-2.0, 2.0)]  # +-2 standard deviations of a VAE's N(0, I) prior
    xs = np.linspace(*ranges[0], n, dtype=np.float32)
    ys = np.linspace(*ranges[1], n, dtype=np.float32)
    z = np.tile(base, (n, n, 1))  # (n_y, n_x, k)
    z[:, :, i] = xs[None, :]
    z[:, :, j] = ys[:, None]
    images = _decode(model, torch.from_numpy(z.reshape(n * n, k))).reshape(n, n, *model.config.input_shape).numpy()
    slice_note = "" if k == 2 else f"\nother coordinates fixed at {fixed}"
    fig = plots.manifold_picture(
        images, x_values=xs, y_values=ys, xlabel=f"z[{i}]", ylabel=f"z[{j}]",
        title=f"{model.name}: decoded {n}x{n} grid over z[{i}], z[{j}]{slice_note}",
    )
    return plots.drawn(images, fig)


def random_samples(model, n: int = 16, *, seed: int = 0, y: Any = None) -> tuple[np.ndarray, Figure]:
    """n samples from a generative model's `sample(n)` (e.g. a VAE decoding z ~ N(0, I)); `y`: a conditional
    model's class (one number, or n of them)."""
    autoencoder_of(model)
    if not callable(getattr(model, "sample", None)):
        raise ConfigError(
            f"model '{model.name}' has no sample(n) method; random samples need a generative model such as 'vae', "
            "or a density fitted to its codes: aekit.analysis.density.generate(model, n, train=data)"
        )
    if y is not None and not getattr(model, "conditional", False):
        raise ConfigError(f"y: model '{model.name}' is not conditioned on a class; give y to a cvae's samples alone")
    count("n", n)
    device = model_device(model)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
        torch.manual_seed(seed)
        with eval_mode(model):
            out = model.sample(n, **({} if y is None else {"y": y}))
    shape = tuple(model.config.input_shape)
    if out.shape[1:] != shape and out.ndim == 2 and out.shape[1] == model.code_size:
        out = _decode(model, out)  # sample() gave codes
    images = out.detach().float().cpu().reshape(n, *shape).numpy()
    grid = plots.grid_rows(images, min(n, 8), fill=1.0)  # blank tiles white
    fig = plots.image_grid(grid, title=f"{model.name}: {n} random samples{'' if y is None else f' of class {y}'}")
    return plots.drawn(images, fig)


def interpolate(model, x_a: Any, x_b: Any, *, steps: int = 10) -> tuple[np.ndarray, Figure]:
    """Decode codes on the straight line from encode(x_a) to encode(x_b): ((steps, *input_shape), Figure).

    The figure's second row blends the two inputs pixel by pixel, for comparison.
    """
    decoder_of(model)
    count("steps", steps, 2)
    a, _ = inputs_of(model, x_a, "x_a")
    b, _ = inputs_of(model, x_b, "x_b")
    for v, name in ((a, "x_a"), (b, "x_b")):
        if len(v) != 1:
            raise DataError(f"{name}: one sample, got {len(v)}; interpolate goes between two inputs (call it once a pair)")
    za, zb = (map_batches(model, v, model.encode) for v in (a, b))
    t = torch.linspace(0.0, 1.0, steps).reshape(steps, *([1] * (za.ndim - 1)))
    decoded = _decode(model, (1 - t) * za + t * zb).reshape(steps, *model.config.input_shape)
    t_x = t.reshape(steps, *([1] * (a.ndim - 1)))
    blend = (1 - t_x) * a + t_x * b
    fig = plots.image_grid(
        torch.stack([decoded, blend]).numpy(),
        title=f"{model.name}: interpolation between two inputs",
        row_labels=["decoded code", "pixel blend"],
        col_labels=[f"{v:.2f}" for v in t.reshape(-1).tolist()],
        xlabel="position t along the line (0 = first input, 1 = second)",
    )
    return plots.drawn(decoded.numpy(), fig)
