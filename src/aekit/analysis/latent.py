"""What a trained model does to data: codes, reconstructions, denoising, 2-D maps of the code space.

Everything here uses only the model contract (`encode`, `decode`, `forward`), so it works for
every registered model. Functions that draw return `(data, Figure)`; save with `save_figure`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from ..config import count
from ..data.batches import (  # noqa: F401  (encode_all, reconstruct_all: aekit.analysis's)
    autoencoder_of,
    encode_all,
    inputs_of,
    map_batches,
    model_device,
    pick,
    read_rows,
    reconstruct_all,
)
from ..data.core import not_finite
from ..errors import ConfigError, DataError, warn
from . import plots

MAP_METHODS = ("code", "pca", "tsne", "umap")
TSNE_SAID = 10_000  # points from which embed_2d says that t-SNE takes minutes
SHOWN_MAX = 100  # reconstruction_grid's largest n: one row of 100 images is 75 inches wide already


# --- reconstructions -----------------------------------------------------------------------------


def reconstruction_grid(model, data: Any, *, n: int = 10, title: str | None = None, errors: bool = False
                        ) -> tuple[np.ndarray, Figure]:
    """Originals (row 0) above their reconstructions (row 1): ((2, n, *input_shape), Figure), n at most the samples
    given. `errors`: a
    third row, each value's squared error (an image's summed over its channels, as grey), scaled so that the
    largest shown is white: where a defect lies, for anomaly detection.

    The title names the model (`title`, default its registered name) and the squared error per sample, the
    measure aekit reports everywhere (summed over a sample's values, averaged over the samples shown)."""
    autoencoder_of(model)
    count("n", n)
    if n > SHOWN_MAX:  # (a trial: n=5,000 drew a strip 180,168 pixels wide, unsaid)
        raise ConfigError(f"n: must be at most {SHOWN_MAX} (the samples shown side by side; one row of {SHOWN_MAX} is "
                          f"already wider than a screen), got {n}")
    x, _ = inputs_of(model, data, whole=False)  # (a memory-mapped file: the rows shown alone read, a scale hunt)
    x = read_rows(x, pick(len(x), n))
    x_hat = map_batches(model, x, lambda xb: model(xb).x_hat)
    squared = (x_hat - x) ** 2
    rows, labels = [x, x_hat], ["original", "reconstruction"]
    picture = plots.is_picture(x.shape[1:])
    span = plots.unit_span(torch.stack([x, x_hat]).numpy()) if picture else None
    if errors:
        per_value = squared.sum(1, keepdim=True).expand_as(x) if x.ndim == 4 else squared
        # curves (a table's rows, signals) share one y-range: the largest error reaches the top of the inputs' (a
        # picture trial: inputs out of range to 3.5 left the error curve a quarter of the panel high, at 1)
        height = 1.0 if picture else max(float(torch.stack([x, x_hat]).max()), 1.0)
        low, height = (span[0], span[1] - span[0]) if span else (0.0, height)  # pictures in other units are drawn by
        rows.append(low + per_value / per_value.max().clamp_min(1e-12) * height)  # their range: the largest error white
        # there too, on the span of the originals and reconstructions (image_grid's of all three rows could differ)
        top = "white" if picture else f"scaled, {height:.3g} on the axis"  # (a signals trial: "(1.03: 0.135)" read
        labels.append(f"squared error ({top} = {float(per_value.max()):.3g})")  # as nothing)
    grid = torch.stack(rows).numpy()
    error = float(squared.flatten(1).sum(1).mean())
    fig = plots.image_grid(
        grid,
        title=f"{title or model.name}: reconstructions (squared error per sample of these {len(x)}: {error:.4g})",
        row_labels=labels, features=(getattr(data, "meta", None) or {}).get("columns"),  # a table's
        span=span,
    )
    return plots.drawn(grid, fig)


def denoising_grid(
    model,
    data: Any,
    *,
    corrupt: Callable[[Tensor], Tensor] | None = None,
    n: int = 10,
    seed: int = 0,
) -> tuple[np.ndarray, Figure]:
    """Rows noisy -> denoised -> clean: ((3, n, *input_shape), Figure).

    `corrupt` maps a clean batch to a noisy one; without it the model's own `corrupt` method is
    used (denoising autoencoders have one).
    """
    autoencoder_of(model)
    corrupt = corrupt if corrupt is not None else getattr(model, "corrupt", None)
    if corrupt is None:
        raise ConfigError(
            f"corrupt: model '{model.name}' has no corrupt method; pass corrupt=, e.g. "
            "lambda x: (x + 0.3 * torch.randn_like(x)).clamp(0, 1)"
        )
    if not callable(corrupt):
        raise ConfigError(f"corrupt: must be a function from a clean batch to a noisy one, such as lambda x: (x + 0.3 * "
                          f"torch.randn_like(x)).clamp(0, 1), got a {type(corrupt).__name__}")
    x, _ = inputs_of(model, data, whole=False)
    x = read_rows(x, pick(len(x), n)).to(model_device(model))
    with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []), torch.no_grad():
        torch.manual_seed(seed)
        noisy = corrupt(x)
    if not isinstance(noisy, Tensor) or noisy.shape != x.shape:
        got = f"{tuple(noisy.shape)}" if isinstance(noisy, Tensor) else f"a {type(noisy).__name__}"  # (a numpy array's
        raise DataError(f"corrupt must return a tensor shaped like its input {tuple(x.shape)}, got {got}")  # shape read alike)
    denoised = map_batches(model, noisy, lambda xb: model(xb).x_hat)
    grid = torch.stack([noisy.float().cpu(), denoised, x.float().cpu()]).numpy()
    noisy_error, denoised_error = (float(((v.cpu() - x.cpu()) ** 2).flatten(1).sum(1).mean()) for v in (noisy, denoised))
    fig = plots.image_grid(
        grid,
        title=f"{model.name}: noisy in, denoised out (squared error per sample to clean: noisy {noisy_error:.4g}, "
              f"denoised {denoised_error:.4g})",
        row_labels=["noisy", "denoised", "clean"],
    )
    return plots.drawn(grid, fig)


# --- 2-D maps of the code space ------------------------------------------------------------------


def check_map_methods(methods: Sequence[str], *, where: str = "methods", code_size: int | None = None) -> None:
    """Refuse a map method that does not exist, UMAP asked for without umap-learn, or (given the codes'
    `code_size`) methods none of which applies, before any work."""
    if isinstance(methods, str):
        raise ConfigError(f"{where}: give a list of methods, such as ['{methods}'], not the string {methods!r}")
    unknown = [m for m in methods if m not in MAP_METHODS]
    if unknown:
        raise ConfigError(f"{where}: {unknown[0]!r} is not allowed; choose from: {', '.join(MAP_METHODS)}")
    if "umap" in methods and importlib.util.find_spec("umap") is None:
        raise ConfigError(f"{where}: 'umap' needs umap-learn, which is not installed; pip install 'aekit[umap]', "
                          "or leave 'umap' out")
    if code_size is not None and code_size != 2 and methods and set(methods) <= {"code"}:
        raise ConfigError(f"{where}: none of {list(methods)} applies to {code_size}-d codes ('code' maps 2-d codes "
                          "themselves); add 'pca' or 'tsne'")


def _map_methods(methods: Sequence[str], tsne_iter: int, code_size: int | None = None) -> Sequence[str]:
    """The methods to map codes of `code_size` by, checked: the default leaves UMAP out, with a warning, when it
    is not installed, and 'code' for codes that are not 2-d (asked for beside others: left out, said). Codes of
    one number are refused first (a trial: the UMAP warning came before that error)."""
    if code_size is not None and code_size < 2:
        raise ConfigError(f"2-D maps need codes of at least 2 dimensions, got {code_size}")
    default = methods is MAP_METHODS
    if default and importlib.util.find_spec("umap") is None:  # the default: what is installed
        warn("UMAP panel skipped: umap-learn is not installed (pip install 'aekit[umap]')")
        methods = tuple(m for m in methods if m != "umap")
    check_map_methods(methods, code_size=code_size)
    if code_size is not None and code_size != 2 and "code" in methods:
        if not default:
            warn(f"methods: 'code' left out: it maps 2-d codes themselves, and these are {code_size}-d")
        methods = tuple(m for m in methods if m != "code")
    if "tsne" in methods:
        count("tsne_iter", tsne_iter, 500)  # scikit-learn's first 250 exaggerate: a map of 250 was never optimised
    return methods


def embed_2d(
    codes: np.ndarray | Tensor,
    *,
    methods: Sequence[str] = MAP_METHODS,
    seed: int = 0,
    tsne_iter: int = 1000,  # t-SNE optimisation steps (scikit-learn's default; at least 500: its first 250 exaggerate)
) -> dict[str, np.ndarray]:
    """2-D views (N, 2) of codes (N, k) by each method that applies.

    "code" is the code itself (only when k = 2), "pca" its top two principal components, "tsne"
    scikit-learn's t-SNE, "umap" umap-learn's UMAP (asked for without umap-learn: refused; among the
    default methods: left out with a warning).
    """
    codes = np.asarray(codes.detach().cpu() if isinstance(codes, Tensor) else codes, dtype=np.float32)
    if len(codes) < 5:
        raise DataError(f"codes: 2-D maps need at least 5 points, got {len(codes)}")
    codes = codes.reshape(len(codes), -1)
    if not np.isfinite(codes).all():
        raise not_finite(codes, "codes")
    n, k = codes.shape
    methods = _map_methods(methods, tsne_iter, code_size=k)
    if not (codes.max(0) > codes.min(0)).any():  # (scikit-learn's t-SNE divides by their spread, then segfaults)
        raise DataError(f"codes: all {n} codes are the same point (a collapsed code: every sample encodes alike); a map "
                        "would show one dot")
    maps: dict[str, np.ndarray] = {}
    for method in methods:
        if method == "code" and k == 2:
            maps["code"] = codes
        elif method == "pca":
            from sklearn.decomposition import PCA

            maps["pca"] = PCA(n_components=2, random_state=seed).fit_transform(codes)
        elif method == "tsne":
            from sklearn.manifold import TSNE

            if n > TSNE_SAID:  # (a scale hunt: 60,000 codes, about 12 minutes on 2 cores, unsaid)
                warn(f"embed_2d: t-SNE of {n:,} points takes minutes (about 12 ms a point on 2 CPU cores); "
                     "latent_maps draws a sample of them (its n)")

            perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
            tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, max_iter=tsne_iter,
                        random_state=seed)
            maps["tsne"] = tsne.fit_transform(codes)
        elif method == "umap":
            import umap

            maps["umap"] = umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, n - 1)).fit_transform(codes)
    if not maps:
        raise ConfigError(f"methods: none of {list(methods)} applies to {k}-d codes; add 'pca' or 'tsne'")
    return maps


_PANELS = {
    "code": ("code (z itself)", ("z[0]", "z[1]")),
    "pca": ("PCA of the codes", ("principal component 1", "principal component 2")),
    "tsne": ("t-SNE of the codes", ("t-SNE 1", "t-SNE 2")),
    "umap": ("UMAP of the codes", ("UMAP 1", "UMAP 2")),
}


def latent_maps(
    model,
    data: Any,
    *,
    methods: Sequence[str] = MAP_METHODS,
    n: int = 2000,
    seed: int = 0,
    tsne_iter: int = 1000,
) -> tuple[dict[str, np.ndarray], Figure]:
    """The same `n` points' codes, mapped to 2-D by each method side by side, coloured by label."""
    autoencoder_of(model)
    size = getattr(model, "code_size", None)
    methods = _map_methods(methods, tsne_iter, size if isinstance(size, int) else None)  # before the encoding
    x, y = inputs_of(model, data, whole=False)  # (the samples kept alone read from a memory-mapped file)
    keep = pick(len(x), n)
    codes = map_batches(model, read_rows(x, keep), model.encode).reshape(len(keep), -1).numpy()
    maps = embed_2d(codes, methods=methods, seed=seed, tsne_iter=tsne_iter)
    labels = None if y is None else y[keep].numpy()
    classes = getattr(data, "classes", None)
    fig = plots.scatter_maps(
        {_PANELS[m][0]: p for m, p in maps.items()},
        labels,
        title=f"{model.name}: {codes.shape[1]}-d codes of {len(keep)} samples",
        axis_names={_PANELS[m][0]: _PANELS[m][1] for m in maps},
        classes=classes,
    )
    return plots.drawn(maps, fig)


def latent_explorer(model, data: Any, *, n: int = 500, grid: int = 21) -> dict[str, Any]:
    """What an interactive latent map needs (the report's): `n` samples' 2-D positions, labels and
    images (PNG bytes), and the decoder's output on a `grid` x `grid` lattice over the map.

    A 2-d code is the map itself; a longer one is shown in the plane of its top two principal
    components, and the lattice is decoded from that plane (through the mean code).
    """
    x, y = inputs_of(model, data, whole=False)  # (the samples kept alone read from a memory-mapped file)
    if y is not None and (y.is_floating_point() or y.is_complex()):  # the map colours classes (a bug hunt: 0.3 was
        odd = ~torch.isfinite(y) | (y != y.round()) if y.is_floating_point() else torch.ones_like(y, dtype=torch.bool)
        if odd.any():  # read as 0; inf as a class, a review)
            raise DataError(f"labels: class numbers colour the map (whole numbers, -1 unlabelled), got values such "
                            f"as {y[odd][0].item():g}; give class numbers, or no labels")
        y = y.long()
    keep = pick(len(x), n)
    x = read_rows(x, keep)  # its n samples alone
    z = map_batches(model, x, model.encode)  # (n, *code_shape)
    flat = z.reshape(len(keep), -1).double().numpy()  # (n, k)
    k = flat.shape[1]
    if k < 2:
        raise ConfigError(f"a latent map needs codes of at least 2 dimensions, got {k}")
    if not np.isfinite(flat).all():  # (a review: weights gone NaN read as "a collapsed code")
        raise not_finite(flat, "codes")
    if len(flat) < 2 or not (flat.max(0) > flat.min(0)).any():  # (a shapes hunt: PCA's "invalid value" note, one dot)
        what = "one sample" if len(flat) < 2 else f"all {len(flat)} codes are the same point (a collapsed code: every " \
               "sample encodes alike)"
        raise DataError(f"codes: {what}; a map places two different codes or more")
    if k == 2:
        center, axes, names = np.zeros(2), np.eye(2), ["z[0]", "z[1]"]
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2).fit(flat)
        center, axes, names = pca.mean_, pca.components_, ["principal component 1", "principal component 2"]
    points = (flat - center) @ axes.T  # (n, 2)
    low, high = np.percentile(points, [1, 99], axis=0)
    pad = 0.1 * (high - low) + 1e-6
    us, vs = (np.linspace(low[i] - pad[i], high[i] + pad[i], grid) for i in range(2))
    plane = np.stack(np.meshgrid(us, vs), axis=-1).reshape(-1, 2)  # (grid * grid, 2), u fastest
    codes = torch.from_numpy(center + plane @ axes).float().reshape(-1, *z.shape[1:])
    decoded = map_batches(model, codes, model.decode).numpy()  # (grid * grid, *input_shape)
    values = [] if y is None else sorted({int(v) for v in y[keep]} - {-1})  # the labels shown (-1: unlabelled)
    return {
        "points": points.round(5).tolist(),
        "labels": None if y is None else [int(v) for v in y[keep]],
        "classes": getattr(data, "classes", None),
        # a colour a label shown; more than a legend can tell apart are on one scale, in their order (as the PNG maps)
        "colours": dict(zip(map(str, values), plots.value_colours(values, getattr(data, "classes", None)))),
        "shapes": {} if len(values) > plots.MANY_LABELS else {  # (a scale's: all round, as the PNG maps)
            str(v): m for v, m in zip(values, plots.value_markers(values, getattr(data, "classes", None)))},
        "scale": len(values) > plots.MANY_LABELS,
        "axes": names,
        "code_size": k,
        "images": [plots.png_bytes(sample) for sample in x.numpy()],
        "grid": {"u": us.tolist(), "v": vs.tolist(), "images": [plots.png_bytes(d) for d in decoded]},
    }
