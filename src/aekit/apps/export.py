"""Export a model's encoder, decoder or whole autoencoder to ONNX or TorchScript, with a dynamic batch axis.

    export_model("runs/mnist-dense", "encoder.onnx")                   # a run folder or checkpoint
    export_model(model, "decoder.pt", format="torchscript", part="decoder")

Inputs/outputs are named `x` -> `z` (encoder), `z` -> `x_hat` (decoder) and `x` -> `x_hat`
(full), with axis 0 named `batch`; a conditional model's (cvae's) parts take `y` too, a class number
(int64) a sample. `x` and `x_hat` are the model's inputs, in [0, 1]; with `raw=True`
a run trained on a data file takes and gives them as the file stores them (its scaling.json, the
per-column ranges of a table, is folded in). ONNX uses torch's `torch.export`-based exporter (it needs
`onnx` and `onnxscript`: the `[onnx]` extra) and writes one self-contained file. TorchScript uses
`torch.jit.trace`, which torch now marks deprecated (its warnings are silenced here); prefer ONNX.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import inspect
import io
import logging
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from ..data.core import SCALING_FILE, run_unit_map
from ..errors import AekitError, ConfigError, naming, warn
from ..training import checkpoint as ckpt
from ..training.checkpoint import load_model
from ..writing import atomic_write_bytes, check_writable, temporary_beside

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}  # the file ending of each format
PARTS = ("encoder", "decoder", "full")
_NAMES = {"encoder": ("x", "z"), "decoder": ("z", "x_hat"), "full": ("x", "x_hat")}
ONNX_MAX_BYTES = 2**31 - 2**26  # weights one ONNX file holds (protobuf's 2 GiB, less room for the graph)


class _Part(nn.Module):
    """One part of an autoencoder as a plain tensor -> tensor module, so exporters can trace it. With a run's
    unit map (offset, divisor, layout; data.core.read_unit_map), samples go in and come out as the data file
    stores them: inputs = (stored - offset) / divisor, images in the file's layout ("nhwc", "nhw")."""

    def __init__(self, model: nn.Module, part: str, unit_map: tuple | None = None) -> None:
        super().__init__()
        self.model = model
        self.part = part
        offset, divisor, self.layout = unit_map if unit_map is not None else (0.0, 1.0, None)
        divisor = torch.as_tensor(divisor)
        self.register_buffer("offset", torch.as_tensor(offset))
        self.register_buffer("divisor", divisor)
        self.register_buffer("span", torch.where(divisor.isinf(), 0.0, divisor))  # a constant range: all offset

    def stored(self, x: Tensor) -> Tensor:
        """Model inputs (N, C, H, W) as the data file stores them."""
        x = x * self.span + self.offset
        return x.permute(0, 2, 3, 1) if self.layout == "nhwc" else x[:, 0] if self.layout == "nhw" else x

    def forward(self, t: Tensor, labels: Tensor | None = None) -> Tensor:
        """`labels`: a conditional model's y, one class number a sample (None for others)."""
        t = t.float()  # numpy's float64 too (the network computes in float32)
        y = {} if labels is None else {"y": labels.long()}
        if self.part == "decoder":
            return self.stored(self.model.decode(t, **y))
        t = t.permute(0, 3, 1, 2) if self.layout == "nhwc" else t.unsqueeze(1) if self.layout == "nhw" else t
        t = (t - self.offset) / self.divisor
        return self.model.encode(t, **y) if self.part == "encoder" else self.stored(self.model(t, **y).x_hat)


def _takes_labels(model: nn.Module, part: str) -> bool:
    """Whether `part` of `model` takes a label: a conditional model's, where its method has a `y` (a model of
    your own may condition forward alone)."""
    method = {"encoder": model.encode, "decoder": model.decode, "full": model.forward}[part]
    return model.conditional and "y" in inspect.signature(method).parameters


class _Checked(nn.Module):
    """A traced TorchScript part behind a check of its input's sample shape (TorchScript, scripted)."""

    def __init__(self, traced: nn.Module, shape: list[int]) -> None:
        super().__init__()
        self.traced = traced
        self.shape = shape

    def check(self, t: Tensor) -> None:
        if list(t.shape[1:]) != self.shape:
            raise ValueError("expected samples of shape " + str(self.shape) + " (batch first), got "
                             + str(list(t.shape[1:])))

    def forward(self, t: Tensor) -> Tensor:
        self.check(t)
        return self.traced(t)


class _CheckedWithLabels(_Checked):
    """A conditional model's: its label y beside the samples."""

    def forward(self, t: Tensor, y: Tensor) -> Tensor:
        self.check(t)
        return self.traced(t, y)


def export_model(
    model_or_run_dir,
    path: str | Path,
    *,
    format: Literal["onnx", "torchscript"] = "onnx",
    part: Literal["encoder", "decoder", "full"] = "encoder",
    raw: bool = False,
) -> Path:
    """Write `part` of a model (an Autoencoder, a fitted AutoencoderTransformer or AutoencoderClassifier, or a run folder
    / model / checkpoint file) to `path` as ONNX or TorchScript; returns the path. `raw`: samples in and
    out as the run's data file stores them (needs a run folder, or a file in one, holding scaling.json)."""
    for key, value, allowed in (("format", format, FORMATS), ("part", part, PARTS)):
        if value not in allowed:
            raise ConfigError(f"export: {key} {value!r} is not allowed; choose one of: {', '.join(allowed)}")
    folder = str(path).endswith(("/", os.sep))  # (Path drops the slash: "newdir/" became a file named newdir)
    path = Path(path).expanduser()
    if path.is_dir() or folder:
        raise ConfigError(f"export: {path}{'/' * folder} {'is' if path.is_dir() else 'names'} a folder; give a file name, "
                          f"such as {path / ('model' + SUFFIXES[format])}")
    if path.suffix.lower() != SUFFIXES[format]:  # another format's (a TorchScript file named .onnx misleads whoever opens it)
        raise ConfigError(f"export: {path} names no {format} file; {format} files end in {SUFFIXES[format]}")
    if path.is_file() and not _exported(path, format):  # a user's data file or model: never written over
        raise ConfigError(f"export: {path} is there and is not an export of aekit's ({format}); give a new file name")
    check_writable(path)  # a read-only or full disk: said before the model is loaded and traced (a bug hunt)
    if part != "encoder" and hasattr(model_or_run_dir, "classifier_") and not isinstance(model_or_run_dir, nn.Module):
        warn(f"export: part {part!r} of an AutoencoderClassifier: its encoder was fine-tuned as the classifier's, and "
             "its decoder no longer matches it (its reconstructions are not the pretrained autoencoder's); part "
             "'encoder' gives the codes it classifies")  # (a bug hunt: unsaid)
    model = copy.deepcopy(_resolve(model_or_run_dir)).cpu().float().eval().requires_grad_(False)  # the caller's is left as it was (a float64 one's export is float32, as every export); outputs need no .detach()
    unit_map = _unit_map(model_or_run_dir, model.config.input_shape) if raw else None
    if format == "onnx":
        missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
        if missing:
            raise ConfigError(
                f"export: format 'onnx' needs {' and '.join(missing)}; pip install 'aekit[onnx]', "
                "or use format 'torchscript'"
            )
    wrapper = _Part(model, part, unit_map).eval()
    weights = sum(t.numel() * t.element_size() for t in (*wrapper.parameters(), *wrapper.buffers()))
    if format == "onnx" and weights > ONNX_MAX_BYTES:  # (a scale hunt: torch then kept them in a file named after the
        raise ConfigError(  # hidden temporary, which a copy of the .onnx file lost)
            f"export: the {part}'s weights take {weights / 2**30:.2f} GiB, more than one ONNX file holds (2 GiB); "
            "use format 'torchscript', or export the encoder or decoder alone")
    example = _example(wrapper)
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "torchscript":
        atomic_write_bytes(path, _torchscript(wrapper, example, part))
        return path
    tmp = temporary_beside(path)  # its own: two exports at once
    try:
        _to_onnx(wrapper, example, tmp, part)
        os.replace(tmp, path)  # a failed export never leaves half a file under the wanted name
    except OSError as err:
        raise naming(err, path, tmp) from None  # the file asked for, not the hidden one
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return path


def _example(wrapper: _Part) -> tuple[Tensor, ...]:
    """Inputs of the part `wrapper` exports, a batch of 2 (a batch of 1 could be specialised): its samples
    (codes for a decoder), and a conditional model's labels, which its graph takes too."""
    model, part = wrapper.model, wrapper.part
    with torch.no_grad():
        x = torch.rand(2, *model.config.input_shape, generator=torch.Generator().manual_seed(0))  # (not the caller's)
        y = torch.tensor([0, 1])
        labels = (y,) if _takes_labels(model, part) else ()
        first = (model.encode(x, **{"y": y} if _takes_labels(model, "encoder") else {}) if part == "decoder"
                 else wrapper.stored(x))
    return (first, *labels)


def signature(model_or_run_dir, part: str = "encoder", raw: bool = False) -> str:
    """What the exported `part` takes and gives, named and shaped, batch first: `x (batch, 1, 28, 28) -> z
    (batch, 30)`; a conditional model's labels are `y (batch,)`."""
    model = copy.deepcopy(_resolve(model_or_run_dir)).cpu().float().eval()  # the caller's stays as it was; float32
    # as the export takes (a bug hunt: a float64 model raised torch's dtype error)
    wrapper = _Part(model, part, _unit_map(model_or_run_dir, model.config.input_shape) if raw else None)
    example = _example(wrapper)
    with torch.no_grad():
        out = wrapper(*example)
    shape = lambda t: "(" + ", ".join(["batch", *map(str, t.shape[1:])]) + (",)" if t.dim() == 1 else ")")  # noqa: E731
    ins = [f"{_NAMES[part][0]} {shape(example[0])}"] + [f"y {shape(t)}" for t in example[1:]]
    return f"{', '.join(ins)} -> {_NAMES[part][1]} {shape(out)}"


def _torchscript(wrapper: nn.Module, example: tuple[Tensor, ...], part: str) -> bytes:
    """The traced part as a TorchScript file's bytes (written by Python: torch's own writer aborts the
    process on a full disk)."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.(trace|script|save).*deprecated")
        try:
            traced = torch.jit.trace(wrapper, example)
        except (TypeError, RuntimeError) as err:  # an op torch.jit.trace cannot record
            reason = (str(err).splitlines() or [type(err).__name__])[0]
            if len(reason) > 100:
                reason = reason[:100].rsplit(" ", 1)[0] + " ..."
            raise ConfigError(f"export: torchscript cannot trace this model's {part} ({reason}); use --format onnx") from None
        # a traced graph takes any input of as many values (a dense model flattens it): check the shape
        checked = _CheckedWithLabels if len(example) > 1 else _Checked
        traced = torch.jit.script(checked(traced, list(example[0].shape[1:])).eval())
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
    return buffer.getvalue()


def _exported(path: Path, format: str) -> bool:
    """Whether the file `path` is an export of `format` (which a new export may replace): an ONNX model (a graph
    of some nodes), or a TorchScript archive (a zip holding code/, which torch.save's files lack)."""
    if path.suffix != SUFFIXES[format]:
        return False
    if format == "onnx":
        if importlib.util.find_spec("onnx") is None:  # the export is refused for it before anything is written
            return True
        with contextlib.suppress(Exception):  # not ONNX's protobuf
            import onnx

            return len(onnx.load(str(path), load_external_data=False).graph.node) > 0
        return False
    with contextlib.suppress(zipfile.BadZipFile, OSError), zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())
    return False


def _resolve(obj) -> nn.Module:
    """The autoencoder behind a model, a fitted aekit.apps.sklearn estimator or a saved file."""
    from ..models.base import Autoencoder

    model = obj
    if isinstance(obj, (str, Path)):
        ckpt.check_free(Path(obj) if Path(obj).is_dir() else Path(obj).parent)  # never weights mid-training
        model = load_model(obj)
    elif hasattr(obj, "model_") and not isinstance(obj, nn.Module):  # a fitted aekit.apps.sklearn estimator
        model = obj.model_
    elif hasattr(obj, "get_params") and not isinstance(obj, nn.Module):
        raise ConfigError(f"export: this {type(obj).__name__} is not fitted yet; call fit(X) first")
    if isinstance(model, Autoencoder):
        return model
    hint = (" (a classifier: export its .autoencoder for the encoder, or the classifier itself with torch.onnx.export)"
            if hasattr(model, "autoencoder") else " (a semi-supervised classifier: it has no autoencoder to export)"
            if model is not obj and hasattr(obj, "model_") else "")
    raise ConfigError(
        f"export: {type(model).__name__} is not an autoencoder{hint}; give an aekit Autoencoder, a fitted "
        "AutoencoderTransformer or AutoencoderClassifier, or the path of a run folder, model or checkpoint file of an "
        "autoencoder"
    )


def _unit_map(obj, input_shape: tuple[int, ...]) -> tuple:
    """The (offset, divisor, layout) of the run folder `obj` names (or holds the file `obj`), for `raw`."""
    if not isinstance(obj, (str, Path)):
        raise ConfigError("export: raw needs a run folder (or a model file in one): its scaling.json says how the "
                          "data file's values were scaled")
    unit_map = run_unit_map(obj, "export: --raw")
    if "vocabulary" in unit_map:
        raise ConfigError(f"export: --raw: {obj} was trained on texts, whose inputs are TF-IDF vectors the graph "
                          "cannot compute from text; export without --raw and give it the vectors of new texts as the run "
                          "made its own: aekit.data.load_dataset(FOLDER_OF_TEXTS, like=RUN).x")
    offset, divisor, layout = unit_map["offset"], unit_map["divisor"], unit_map["layout"]
    if offset.ndim and offset.shape != tuple(input_shape):
        raise ConfigError(f"export: the {SCALING_FILE} of {obj} holds ranges for {offset.shape[0]} columns, but the "
                          f"model takes samples of shape {list(input_shape)}; train the run again to rewrite it")
    return torch.from_numpy(offset), torch.from_numpy(divisor), layout


def _not_torchvision(record: logging.LogRecord) -> bool:
    """Drops torch.onnx's "torchvision is not installed. Skipping ..." lines: aekit never uses torchvision."""
    return "torchvision is not installed" not in record.getMessage()


def _to_onnx(wrapper: nn.Module, example: tuple[Tensor, ...], path: Path, part: str) -> None:
    input_name, output_name = _NAMES[part]
    batch = torch.export.Dim("batch")
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    logger.addFilter(_not_torchvision)
    try:
        with warnings.catch_warnings():  # torch's own deprecation inside its exporter, not the user's to act on
            warnings.filterwarnings("ignore", message=r".*LeafSpec.*", category=FutureWarning)
            # a conditional model's two inputs share the batch axis, which torch says of itself
            warnings.filterwarnings("ignore", message=r"# The axis name: \w+ will not be used")
            torch.onnx.export(
                wrapper, example, str(path), input_names=[input_name, "y"][: len(example)], output_names=[output_name],
                dynamic_shapes=tuple({0: batch} for _ in example), dynamo=True,
                external_data=False,  # one self-contained file (fine below ONNX's 2 GB limit)
                verbose=False,
            )
    except Exception as err:  # torch.onnx's own errors are pages long, with terminal colours and advice
        if isinstance(err, AekitError):
            raise
        cause = err.__cause__ or err  # what failed inside torch.export, not the page that wraps it
        if isinstance(cause, OSError) and cause.errno is not None:  # a full disk, say: not the exporter's fault
            raise cause from None
        first = re.sub(r"\x1b\[[0-9;]*m", "", (str(cause).splitlines() or [""])[0])[:160]
        raise ConfigError(f"export: torch's ONNX exporter cannot export this model's {part} ({type(cause).__name__}"
                          f"{': ' + first if first else ''}); use --format torchscript") from None
    finally:
        logger.removeFilter(_not_torchvision)
