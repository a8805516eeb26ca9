"""Drawing: the only module that imports matplotlib.

Figures are made with `matplotlib.figure.Figure` on an Agg canvas, not through pyplot, so no
global backend is switched, nothing needs a display and no figure is kept alive by pyplot.
Jupyter shows them inline all the same, once: a figure, or a drawing function's `(data, figure)`, that ends
a cell (`_shown_png`, `Drawn`), and any other the cell drew, at its end as pyplot's are (`_show_unshown`).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..config import count
from ..data.core import is_picture
from ..errors import ConfigError, DataError
from ..writing import atomic_write_bytes

if TYPE_CHECKING:
    import torch

TILE_INCHES = 0.75  # size of one image tile in grids


class Picture(Figure):
    """A Figure that Jupyter shows inline whatever matplotlib's backend: at the end of the cell that drew it,
    as pyplot's are, unless something showed it (a cell ending with it, `fig.show()`, `display(fig)`)."""

    shown = False  # in Jupyter: a cell's end shows the figures it drew that nothing showed (_show_unshown)

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, facecolor="white")
        return buffer.getvalue()

    def show(self, warn: bool = True) -> None:  # (pyplot's figures have a window; aekit's are drawn on Agg)
        """In Jupyter, the figure now; elsewhere there is no window to show it in: `save_figure` writes it."""
        if _kernel() is None:
            raise ConfigError("show: aekit's figures are not pyplot's and open no window; save_figure(fig, 'x.png') "
                              "writes one (.pdf or .svg too), and Jupyter shows them inline")
        from IPython.display import display

        display(self)


def _shown_png(fig: Picture) -> bytes:
    """A Jupyter kernel's PNG printer of aekit's figures: it marks them shown. Registered for Picture, it comes
    before matplotlib's inline backend's printer of every Figure (which left them unshown: shown twice)."""
    fig.shown = True
    return fig._repr_png_()


class Drawn(tuple):
    """What a drawing function returns, `(data..., figure)`: a tuple to unpack, which a Jupyter kernel shows
    as its figure when it ends a cell (not as the numbers drawn)."""

    @property
    def _ipython_display_(self):
        if _kernel() is None:  # IPython in a terminal: the tuple, as Python prints it
            raise AttributeError("_ipython_display_")
        from IPython.display import display

        return lambda: display(self[-1])


def drawn(*parts) -> Drawn:
    """A drawing function's `(data..., figure)`."""
    return Drawn(parts)


_UNSHOWN: list[Picture] = []  # in Jupyter: the figures the running cell drew, shown at its end unless shown
_QUIET = contextvars.ContextVar("aekit_unshown", default=False)  # in an `unshown()` block (of this thread)


@contextlib.contextmanager
def unshown() -> Iterator[None]:
    """Figures drawn inside are not shown in Jupyter at the cell's end (a loop that saves many: each is freed
    once saved, not held until then); aekit draws its runs' and experiments' pictures so."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def _kernel():
    """The IPython shell of the Jupyter kernel this runs in, or None (a script, IPython in a terminal)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def _show_unshown() -> None:
    """IPython's post_execute event: each figure the cell drew and nothing showed, as matplotlib's inline
    backend shows pyplot's (`_, fig = reconstruction_grid(...)` shows it, as `plt.subplots()` would)."""
    from IPython.display import display

    made, _UNSHOWN[:] = list(_UNSHOWN), []
    for fig in made:
        if not fig.shown:
            display(fig)


def new_figure(width: float, height: float, *, constrained: bool = True) -> Figure:
    fig = Picture(figsize=(width, height), layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    shell = None if _QUIET.get() else _kernel()
    if shell is not None:
        if _show_unshown not in shell.events.callbacks["post_execute"]:
            shell.events.register("post_execute", _show_unshown)
        shell.display_formatter.formatters["image/png"].for_type(Picture, _shown_png)
        _UNSHOWN.append(fig)
    return fig


def fit_title(title: str, width_inches: float, *, fontsize: float = 12.0) -> str:
    """`title` wrapped onto several lines so that it fits a figure `width_inches` wide."""
    chars = max(int(width_inches * 72 / (0.62 * fontsize)) - 2, 20)  # ~0.6 em per character of DejaVu Sans
    return "\n".join(textwrap.fill(line, chars) for line in title.splitlines())


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Write `fig` as a PNG, or a PDF or SVG (for a paper) by the path's suffix; parent folders are
    created; returns the path."""
    if not isinstance(fig, Figure):
        got = "the whole (data..., figure) of a drawing function" if isinstance(fig, Drawn) else type(fig).__name__
        raise ConfigError(f"fig: must be a matplotlib Figure (the last of what aekit's drawing functions return), got {got}")
    count("dpi", dpi)
    path = Path(path)
    kind = path.suffix.lower()[1:]
    if kind not in ("png", "pdf", "svg"):
        raise ConfigError(f"save_figure writes .png, .pdf or .svg files; {path} ends in {path.suffix or 'no suffix'}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=kind, dpi=dpi, facecolor="white")
    atomic_write_bytes(path, buffer.getvalue())  # a kill while writing keeps the earlier picture (a kill trial: cut)
    return path


# --- images --------------------------------------------------------------------------------------


def as_image(sample: np.ndarray) -> np.ndarray:
    """One sample as something imshow draws: (H, W) grey or (H, W, 3) colour.

    (C, H, W) with C = 1 or 3 is an image, with another C its channels side by side, a white line apart (every
    channel: a reconstruction failing in channel 1 is seen); (C, D, H, W), a volume, each
    channel's D slices in a near-square block, row by row, the channels side by side; a flat vector of square length is a square image; any other
    vector is wrapped into rows of a near-square rectangle (zero-padded).
    """
    a = np.asarray(sample, dtype=np.float32)
    if a.ndim == 4:  # a volume: each channel's slices in a near-square block, the channels side by side (a bug hunt:
        # wrapped into a scrambled square; a review: in one row, 32 slices made a strip 29,000 pixels wide)
        cols = math.ceil(math.sqrt(a.shape[1]))
        return _apart([_apart(list(channel), cols) for channel in a], len(a))
    if a.ndim == 3:  # colour, grey, or else every channel in a row, a line apart
        return a.transpose(1, 2, 0) if a.shape[0] == 3 else _apart(list(a), len(a))
    if a.ndim == 2:
        return a
    flat = a.reshape(-1)
    width = math.ceil(math.sqrt(flat.size))  # exact for a square length: no padding then
    height = math.ceil(flat.size / width)
    return np.pad(flat, (0, width * height - flat.size)).reshape(height, width)


OTHER_UNITS = 0.25  # pictures whose values leave [0, 1] by more than this are in other units (standardised data)


def unit_span(values: np.ndarray) -> tuple[float, float] | None:
    """(lo, hi) of a picture's finite values where most of them leave [0, 1] by more than OTHER_UNITS (data in other
    units, standardised, which clipped to [0, 1] would show a ramp as a black and white edge), else None. Most: the
    1st and 99th percentiles, so that a linear output's or PCA's few overshooting pixels leave [0, 1] pictures as
    they are."""
    finite = np.asarray(values, dtype=np.float32)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return None
    low, high = np.quantile(finite, [0.01, 0.99])
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if (low < -OTHER_UNITS or high > 1 + OTHER_UNITS) and hi > lo else None


def span_note(span: tuple[float, float]) -> str:
    return f" (drawn from {span[0]:.3g}, black, to {span[1]:.3g}, white: the values' range)"


def _apart(tiles: list[np.ndarray], cols: int) -> np.ndarray:
    """2-D tiles of one shape in rows of `cols`, a white line between them (blank where the last row is short)."""
    h, w = tiles[0].shape
    rows = math.ceil(len(tiles) / cols)
    out = np.ones((rows * (h + 1) - 1, min(cols, len(tiles)) * (w + 1) - 1), dtype=np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = tile
    return out


def png_bytes(sample: np.ndarray) -> bytes:
    """One sample as a small PNG: a picture (read as `as_image` reads it, values in [0, 1]) in grey or RGB,
    or, where `is_picture` says it is none, its curves (`curve_png`)."""
    from PIL import Image  # matplotlib's own image library

    if not is_picture(np.shape(sample)):
        return curve_png(sample)
    pixels = (np.clip(as_image(sample), 0.0, 1.0) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
MARKED = 50  # curves of at most this many values (a table's row) have each value marked


def curves(sample: np.ndarray) -> np.ndarray:
    """A sample as (rows, values): a vector as one row, a 1 x C x T signal as its C channels."""
    a = np.asarray(sample, dtype=np.float32)
    return a.reshape(-1, a.shape[-1])


def curve_png(sample: np.ndarray, *, width: int = 160, height: int = 80) -> bytes:
    """One sample's curves (one a row, `curves`) as a small PNG, on a range holding [0, 1] and its values."""
    from PIL import Image, ImageDraw

    rows = curves(sample)
    finite = rows[np.isfinite(rows)]
    lo, hi = min(0.0, finite.min(initial=0.0)), max(1.0, finite.max(initial=1.0))
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    xs = np.linspace(2, width - 3, rows.shape[1]) if rows.shape[1] > 1 else np.array([width / 2])
    for k, row in enumerate(rows):
        ys = (height - 3) - (np.nan_to_num(row, nan=lo) - lo) / (hi - lo) * (height - 5)
        points = list(zip(xs.tolist(), ys.tolist()))
        draw.line(points, fill=COLOURS[k % len(COLOURS)], width=1) if len(points) > 1 else draw.point(points)
        if rows.shape[1] <= MARKED:
            for x, y in points:
                draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=COLOURS[k % len(COLOURS)])
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def mosaic(images: np.ndarray, *, pad: int = 1, fill: float = 1.0, scale: int = 1) -> np.ndarray:
    """(rows, cols, *sample) -> one (rows*(h+pad)-pad, cols*(w+pad)-pad[, 3]) picture with `fill` gaps.

    `scale` repeats each pixel, so that tiny tiles (3x3 kernels) are not dwarfed by the gaps.
    """
    rows, cols = images.shape[:2]
    tiles = [[as_image(images[r, c]).repeat(scale, 0).repeat(scale, 1) for c in range(cols)] for r in range(rows)]
    h, w, *colour = tiles[0][0].shape  # colour: [3] for RGB tiles, [] for grey
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, *colour), fill, dtype=np.float32)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = tile
    return out


def grid_rows(images: np.ndarray, cols: int, *, fill: float = 0.5) -> np.ndarray:
    """(n, *sample) -> (rows, cols, *sample), at most n columns, tiles of `fill` (default mid-grey)
    completing the last row."""
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    fill = fill if is_picture(images.shape[1:]) else np.nan  # curves: a blank tile (curve_grid)
    padded = np.full((rows * cols, *images.shape[1:]), fill, dtype=np.float32)
    padded[: len(images)] = images
    return padded.reshape(rows, cols, *images.shape[1:])


def scale_each(images: np.ndarray) -> np.ndarray:
    """Map each image to [0, 1] with 0 at mid-grey (for weights and optimised inputs of any sign)."""
    flat = images.reshape(images.shape[0], -1)
    top = np.abs(flat).max(axis=1, keepdims=True)
    top[top == 0] = 1.0
    return (0.5 + 0.5 * flat / top).reshape(images.shape)


def text_inches(labels: Sequence[str], fontsize: float | None = None) -> float:
    """The width in inches of the widest label, as matplotlib lays it out (the tick label font)."""
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(size=fontsize if fontsize is not None else rcParams["ytick.labelsize"])
    measure = TextToPath().get_text_width_height_descent  # in points; 0 for an empty label
    return max((measure(str(label), prop, ismath=False)[0] for label in labels), default=0.0) / 72


def image_grid(
    images: np.ndarray | torch.Tensor,
    *,
    title: str,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    xlabel: str | None = None,
    features: Sequence[str] | None = None,
    span: tuple[float, float] | None | str = "auto",
) -> Figure:
    """A (rows, cols, *sample) array of images in [0, 1] as one labelled picture (samples that are no
    pictures, `is_picture`, as a grid of their curves: `curve_grid`, whose bottom row names `features`,
    a table's columns). `span`: the (lo, hi) drawn black to white, said in the title, where the images are in other
    units; "auto": `unit_span`'s, None: [0, 1]."""
    if hasattr(images, "detach"):  # a model's output: with gradients, perhaps on a GPU (a review)
        images = images.detach().cpu().numpy()
    images = np.asarray(images, dtype=np.float32)
    if images.ndim < 3 or not images.shape[0] * images.shape[1]:
        raise DataError(f"images: a (rows, cols, *sample) array of at least one image, got shape {images.shape}")
    for key, labels, size, what in (("row_labels", row_labels, images.shape[0], "row"),
                                    ("col_labels", col_labels, images.shape[1], "column")):
        if labels is not None and len(labels) != size:
            raise ConfigError(f"{key}: {len(labels)} given for {size} {what}s; give one a {what}")
    if not is_picture(images.shape[2:]):
        return curve_grid(images, title=title, row_labels=row_labels, col_labels=col_labels, xlabel=xlabel,
                          features=features)
    span = unit_span(images) if span == "auto" else span
    if span is not None:  # in other units: drawn by their range, said
        images, title = (images - span[0]) / (span[1] - span[0]), title + span_note(span)
    rows, cols = images.shape[:2]
    tile = as_image(images[0, 0])
    scale = max(1, math.ceil(12 / min(tile.shape[:2])))
    h, w = tile.shape[0] * scale, tile.shape[1] * scale
    picture = np.clip(mosaic(images, scale=scale), 0.0, 1.0)
    # margins in inches, laid out by hand so the picture fills its box exactly and no label is clipped
    left = 0.15 + (text_inches(row_labels) + 0.1 if row_labels is not None and len(row_labels) else 0.0)
    right = 0.15
    width = max(cols * TILE_INCHES * max(w / h, 0.25) + left + right, 4.5)
    title = fit_title(title, width)
    top = 0.2 + 0.22 * (title.count("\n") + 1)
    bottom = 0.1 + (0.25 if col_labels is not None else 0.0) + (0.3 if xlabel else 0.0)
    box_w = width - left - right
    box_h = box_w * picture.shape[0] / picture.shape[1]
    height = box_h + top + bottom
    fig = new_figure(width, height, constrained=False)
    ax = fig.add_axes((left / width, bottom / height, box_w / width, box_h / height))
    ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([c * (w + 1) + (w - 1) / 2 for c in range(cols)] if col_labels is not None else [])
    if col_labels is not None:
        ax.set_xticklabels(list(col_labels), fontsize=8)
    ax.set_yticks([r * (h + 1) + (h - 1) / 2 for r in range(rows)] if row_labels is not None else [])
    if row_labels is not None:
        ax.set_yticklabels(list(row_labels))
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    if xlabel:
        ax.set_xlabel(xlabel)
    fig.suptitle(title, y=1 - 0.08 / height, va="top")  # centred on the figure, not on the images
    return fig


def curve_grid(
    samples: np.ndarray,
    *,
    title: str,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    xlabel: str | None = None,
    features: Sequence[str] | None = None,
) -> Figure:
    """A (rows, cols, *sample) array of samples that are no pictures (a table's rows, signals) as a grid of
    small plots of their curves (`curves`: a signal's channels in colours), on one shared range; a tile of
    NaN (`grid_rows`' padding of such samples) is left blank. `features`: the names of a flat sample's
    values (a table's columns), written under the bottom row's tiles (every k-th where there are many)."""
    samples = np.asarray(samples, dtype=np.float32)
    rows, cols = samples.shape[:2]
    finite = samples[np.isfinite(samples)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = 0.05 * (hi - lo) or 0.5
    left = 0.2 + (text_inches(row_labels) + 0.1 if row_labels is not None and len(row_labels) else 0.0)
    width = max(cols * 1.3 + left + 0.15, 4.5)
    title = fit_title(title, width)
    height = rows * 0.9 + 0.35 + 0.22 * (title.count("\n") + 1) + (0.3 if col_labels is not None else 0) + (0.3 if xlabel else 0)
    fig = new_figure(width, height)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    for r in range(rows):
        for c in range(cols):
            ax, values = axes[r, c], curves(samples[r, c])
            marker = "." if values.shape[1] <= MARKED else None
            for k, row in enumerate(values):
                ax.plot(row, color=COLOURS[k % len(COLOURS)], lw=0.9, marker=marker, ms=3)
            if not np.isfinite(samples[r, c]).any():
                ax.set_axis_off()
        if row_labels is not None:
            axes[r, 0].set_ylabel(row_labels[r], rotation=0, ha="right", va="center")
    # once: the shared axes follow (set on each, every call went through all of them: 22 s for 15 x 15, a bug hunt)
    axes[0, 0].set_ylim(lo - pad, hi + pad)
    axes[0, 0].set_xticks([])
    axes[0, 0].set_yticks([])
    if features is not None and len(features) == samples.shape[-1] and samples.ndim == 3:
        step = math.ceil(len(features) / 8)  # at most 8 names a tile
        for c in range(cols):
            axes[-1, c].set_xticks(range(0, len(features), step), [str(f)[:12] for f in features[::step]],
                                   rotation=90, fontsize=6)
        for ax in axes[:-1].flat:  # (shared x: the rows above would show the ticks without names)
            ax.tick_params(axis="x", length=0)
    if col_labels is not None:
        for c in range(cols):
            axes[-1, c].set_xlabel(col_labels[c], fontsize=8)
    if xlabel:
        fig.supxlabel(xlabel)
    fig.suptitle(title)
    return fig


def manifold_picture(
    images: np.ndarray, *, x_values: np.ndarray, y_values: np.ndarray, xlabel: str, ylabel: str, title: str
) -> Figure:
    """(n_y, n_x, *sample) decoded images laid out on their latent coordinates (y grows upwards); samples
    that are no pictures as a grid of their curves, the coordinates written along its sides."""
    if not is_picture(images.shape[2:]):
        return curve_grid(images[::-1], title=title, row_labels=[f"{ylabel}={v:.3g}" for v in y_values[::-1]],
                          col_labels=[f"{v:.3g}" for v in x_values], xlabel=xlabel)
    n_y, n_x = images.shape[:2]
    if (span := unit_span(images)) is not None:  # in other units: drawn by their range, said (a review)
        images, title = (images - span[0]) / (span[1] - span[0]), title + span_note(span)
    picture = np.clip(mosaic(images[::-1], pad=0), 0.0, 1.0)  # top row = largest y
    dx = (x_values[-1] - x_values[0]) / max(n_x - 1, 1)
    dy = (y_values[-1] - y_values[0]) / max(n_y - 1, 1)
    extent = (x_values[0] - dx / 2, x_values[-1] + dx / 2, y_values[0] - dy / 2, y_values[-1] + dy / 2)
    side = min(max(n_x * 0.45, 4.5), 9.0)
    title = fit_title(title, side + 0.8)
    fig = new_figure(side + 0.8, side * n_y / n_x + 0.7 + 0.22 * (title.count("\n") + 1))
    ax = fig.add_subplot()
    ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0, extent=extent, aspect="auto", interpolation="nearest")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


# --- scatter maps --------------------------------------------------------------------------------


def scatter_maps(
    maps: Mapping[str, np.ndarray],
    labels: np.ndarray | None,
    *,
    title: str,
    axis_names: Mapping[str, tuple[str, str]] | None = None,
    classes: Sequence[str] | None = None,
    note: str | None = None,
) -> Figure:
    """Side-by-side 2-D maps of the same points, coloured by label, with one shared legend."""
    if not maps:
        raise ConfigError("scatter_maps needs at least one 2-D map")
    n = len(maps)
    fig = new_figure(4.0 * n + (1.6 if labels is not None else 0.2), 4.3)
    axes = fig.subplots(1, n, squeeze=False)[0]
    handles = []
    uniq = np.unique(labels[labels != -1] if labels is not None else [])
    discrete = labels is not None and len(uniq) <= MANY_LABELS
    for ax, (name, points) in zip(axes, maps.items()):
        points = np.asarray(points)
        if labels is None:
            ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.7, color="tab:blue", linewidths=0)
        elif discrete:  # a colour a label, and unlabelled points (-1) grey
            shown = list(zip(uniq, value_colours(uniq, classes, _palette), value_markers(uniq, classes)))
            handles = []
            for value, colour, marker in shown + ([(-1, "#9aa3b0", UNLABELLED_MARKER)] if (labels == -1).any() else []):
                keep = labels == value
                name_of = ("unlabelled" if value == -1 else classes[int(value)]
                           if classes is not None and 0 <= int(value) < len(classes) else str(value))
                handles.append(
                    ax.scatter(points[keep, 0], points[keep, 1], s=12, alpha=0.75, color=colour, marker=marker,
                               linewidths=0, label=name_of)
                )
        else:  # labelled points on a scale of their values; unlabelled ones (-1) grey
            known = labels != -1
            ax.scatter(points[~known, 0], points[~known, 1], s=8, color="#9aa3b0", linewidths=0)
            sc = ax.scatter(points[known, 0], points[known, 1], s=8, c=labels[known], cmap="viridis", linewidths=0)
            fig.colorbar(sc, ax=ax, label="label")
        xname, yname = (axis_names or {}).get(name, ("dimension 1", "dimension 2"))
        ax.set_xlabel(xname)
        ax.set_ylabel(yname)
        ax.set_title(name)
    if discrete and handles:
        fig.legend(handles=handles, loc="outside right center", title="label", markerscale=2.5, frameon=False)
    fig.suptitle(title if note is None else f"{title}\n{note}")
    return fig


MANY_LABELS = 20  # more label values than this are coloured on a scale (a target read as classes), not a legend each


def _palette(n: int) -> list:
    from matplotlib import colormaps

    base = colormaps["tab10" if n <= 10 else "tab20"]
    return [base(i % base.N) for i in range(n)]


def class_slots(values: Sequence, classes: Sequence[str] | None) -> tuple[list[int], int]:
    """Each of `values`' (labels, in order) place in a palette, and the palette's size: its class number where the
    data name their classes, so that a class keeps its colour and shape in any subset (class 1 has class 1's colour
    where no 0 is shown), else its rank."""
    whole = classes is not None and len(classes) <= MANY_LABELS and all(  # (more: a palette's colours would repeat)
        float(v).is_integer() and 0 <= v < len(classes) for v in values)
    return ([int(v) for v in values], len(classes)) if whole else (list(range(len(values))), len(values))


def value_colours(values: Sequence, classes: Sequence[str] | None, palette=None) -> list:
    """A colour each of `values` (labels, in order), in its class_slots place."""
    slots, n = class_slots(values, classes)
    colours = (palette or label_colours)(n)
    return [colours[i] for i in slots]


# a shape a class beside its colour, so that a map does not tell classes apart by colour alone (an accessibility
# trial); fifteen, so that no two of tab20's paired shades share one, nor a class and the class ten after it where
# fewer than 16 are shown (a review). Unlabelled points are small dots (UNLABELLED_MARKER). The report's map draws
# the same shapes (report.js SHAPES, a test keeps them equal).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "p", "h", "d", "8", "H")
UNLABELLED_MARKER = "."


def value_markers(values: Sequence, classes: Sequence[str] | None) -> list[str]:
    """A matplotlib marker each of `values` (labels, in order), in its class_slots place."""
    return [MARKERS[i % len(MARKERS)] for i in class_slots(values, classes)[0]]


def label_colours(n: int) -> list[str]:
    """Hex colours for `n` classes in their order: the maps' palette up to MANY_LABELS, else a viridis scale."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if n <= MANY_LABELS:
        return [to_hex(c) for c in _palette(n)]
    return [to_hex(colormaps["viridis"](i / (n - 1))) for i in range(n)]


# --- learning curves -----------------------------------------------------------------------------


def learning_curves(
    histories: Mapping[str, Sequence[float]] | Mapping[str, Mapping[str, Sequence[float]]]
    | Sequence[Mapping[str, Sequence[float]]],
    *,
    metric: str = "loss",
    title: str | None = None,
    log_y: bool = False,
) -> Figure:
    """Several runs on one plot: `train_<metric>` solid, `val_<metric>` dashed, one colour per run.

    `histories` are what `aekit.fit` returns (epoch, train_loss, val_loss, ...): one, a mapping
    run name -> history, or a list (named run 1, run 2, ...).
    """
    if isinstance(histories, Mapping) and histories and all(isinstance(h, (list, tuple, np.ndarray))
                                                            for h in histories.values()):
        histories = [histories]  # one history (lists of numbers), as fit returns it
    runs = dict(histories) if isinstance(histories, Mapping) else {f"run {i + 1}": h for i, h in enumerate(histories)}
    if not runs:
        raise ConfigError("learning_curves needs at least one history")
    key = f"train_{metric}"
    for name, history in runs.items():
        if key not in history:
            options = sorted(k[6:] for k in history if k.startswith("train_"))
            if not options:  # not a history: a run folder's path, say
                raise ConfigError(f"learning_curves: {name!r} is not a training history (a dict of train_* lists, such "
                                  f"as fit returns or a run folder's history.json holds), got {type(history).__name__}")
            raise ConfigError(f"metric: history of {name!r} has no {key!r}; choose one of: {', '.join(options)}")
    if log_y:  # (a bug hunt: a Gaussian NLL below 0 left the axis unsaid, the curve running off it)
        values = np.asarray([v for h in runs.values() for k in (key, f"val_{metric}") for v in h.get(k, ())
                             if v is not None], dtype=float)
        if (values <= 0).any():
            raise ConfigError(f"log_y: {metric} reaches {values.min():.4g}, which a log scale cannot show; leave "
                              "log_y off")
    fig = new_figure(7.0, 4.5)
    ax = fig.add_subplot()
    for colour, (name, history) in zip(_palette(len(runs)), runs.items()):
        train = np.asarray(history[key], dtype=float)
        epochs = np.asarray(history.get("epoch", np.arange(1, len(train) + 1)), dtype=float)
        ax.plot(epochs, train, color=colour, linestyle="-", marker="o", markersize=3, label=f"{name} (train)")
        if f"val_{metric}" in history:
            val = np.asarray(history[f"val_{metric}"], dtype=float)
            # a run resumed without its validation data logs val for its first epochs only
            ax.plot(epochs[: len(val)], val, color=colour, linestyle="--", marker="o", markersize=3, label=f"{name} (val)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(fit_title(title or f"Learning curves ({metric}; solid = train, dashed = validation)", 7.0))
    return fig
