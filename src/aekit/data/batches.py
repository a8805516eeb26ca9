"""Data into models, a batch at a time: the helpers `models/`, `training/`, `analysis/` and the
applications share.

`as_inputs` accepts what every entry point accepts (a tensor, an array, a memmap, an (x, y) pair or
a Dataset); `check_inputs` checks it against a model; `map_batches` runs a function of the model
over it in eval mode without gradients; `encode_all` and `reconstruct_all` are the two such
functions everyone wants, as numpy arrays.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..config import count
from ..errors import ConfigError, DataError, warn
from .core import all_finite, not_finite
from .memmap import MemmapArray, as_memmap_array, chunk_rows, is_memmap


def pick(n_total: int, n: int) -> np.ndarray:
    """`n` indices (of `n_total`) spread evenly over the data, so pictures (and measures of a part) of the same data take
    the same samples and data sorted by class (a folder of class folders) shows more than its first class."""
    count("n", n)
    return np.unique(np.linspace(0, n_total - 1, min(n, n_total)).round().astype(np.int64))


def to_tensor(value: Any, what: str) -> Tensor:
    """A tensor or a numpy array of numbers as a tensor (an array's memory shared where it can be), else a
    one-line refusal naming `what`."""
    if isinstance(value, Tensor):
        return value.detach()  # (a bug hunt: a tensor that requires grad failed the pictures' .numpy())
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":  # strings, objects, dates: nothing a model can take
            raise DataError(f"{what}: a numpy array of {value.dtype} values; give numbers (floats for inputs, "
                            "integers for labels)")
        with warnings.catch_warnings():  # a read-only array (pandas' .values): aekit never writes into its inputs
            warnings.filterwarnings("ignore", "The given NumPy array is not writable", UserWarning)
            return torch.from_numpy(np.ascontiguousarray(value))
    hint = ""
    if isinstance(value, (torch.utils.data.Dataset, torch.utils.data.DataLoader)):  # aekit batches and shuffles itself
        hint = ("; give the tensors it holds (a TensorDataset's .tensors, as an (x, y) pair), or an aekit Dataset"
                if isinstance(value, torch.utils.data.TensorDataset) else
                "; give the tensors or arrays it reads from (an (x, y) pair), or an aekit Dataset: aekit batches them")
    elif isinstance(value, (str, PathLike)):  # a file's or data set's name: read it first
        hint = f"; read {str(value)[:60]!r} first: aekit.data.load_dataset(name or path, 'train')"
    raise DataError(f"{what}: expected a tensor or numpy array, got {type(value).__name__}{hint}")


def as_inputs(data: Any, what: str = "data") -> tuple[Tensor | MemmapArray, Tensor | None]:
    """Accept a tensor, an array, a memmap, an (x, y) pair or an object with `.x` and `.y`.

    A memory-mapped array stays on disk: it comes back as a MemmapArray, read a batch at a time.
    """
    y = None
    if hasattr(data, "x") and not isinstance(data, (Tensor, np.ndarray, MemmapArray)):
        data, y = data.x, getattr(data, "y", None)
    elif isinstance(data, tuple):
        if len(data) != 2:
            raise DataError(f"{what}: a tuple must be (x, y), got {len(data)} items")
        data, y = data
    if is_memmap(data):
        x = as_memmap_array(data, what)
    else:
        x = to_tensor(data, what)
        if not x.is_floating_point():
            raise DataError(f"{what}: inputs must be floating point, got {x.dtype}; scale them to [0, 1] first "
                            "(load_dataset(FILE, like=RUN) scales a data file's samples as a run's training data were)")
        if x.dtype == torch.float64:
            warn_of_rounding(x, what)
        if x.dtype != torch.float32:  # numpy's float64 default, or half precision: models compute in float32
            x = x.float()
    if y is not None:
        y = to_tensor(y, f"{what} labels")
        if y.ndim > 1 and math.prod(y.shape[1:]) > 1:
            raise DataError(f"{what} labels: one a sample, shaped (N,), got {tuple(y.shape)}; one-hot labels become "
                            "class numbers by y.argmax(1)")
        y = y.reshape(-1) if y.ndim > 1 else y  # (N, 1): a column of labels
        if y.shape[0] != x.shape[0]:
            raise DataError(f"{what}: {x.shape[0]} samples but {y.shape[0]} labels")
    return x, y


def warn_of_rounding(x: Tensor | np.ndarray, what: str) -> None:
    """Warns of float64 features that float32, the networks' precision, rounds by more than 0.1% of their
    spread (a timestamp near 1.7e9 moves in steps of 128): what varies in them is lost before any step."""
    if len(x) < 2:
        return
    sample = x[:: max(1, len(x) // 10_000)]  # at most ~10,000 rows: a check, not a copy of a large x
    sample = np.asarray(sample.detach().cpu() if isinstance(sample, Tensor) else sample).reshape(len(sample), -1)
    spread, rounding = sample.std(0), np.abs(sample - sample.astype(np.float32)).max(0)
    varies = sample.max(0) > sample.min(0)  # (a constant of 0.1 has a std of 1e-17: a trial was told to standardise it)
    lost = np.flatnonzero(varies & (rounding > 1e-3 * spread)).tolist()
    if lost:
        warn(f"{what}: feature(s) {', '.join(map(str, lost[:5]))}{' ...' if len(lost) > 5 else ''} vary "
             "little for their size, and float32 (the network's precision) rounds away much of that; centre "
             "or standardise them first (StandardScaler, or (x - x.mean(0)) / x.std(0))")


def as_tensors(data: Any, what: str = "data") -> tuple[Tensor, Tensor | None]:
    """Like `as_inputs`, with memory-mapped data read into memory whole."""
    x, y = as_inputs(data, what)
    return (x[:] if isinstance(x, MemmapArray) else x), y


def check_inputs(model, x: Tensor | MemmapArray, y: Tensor | None = None) -> None:
    """`model.check_data`, a chunk at a time for memory-mapped data (uint8 needs only its shape checked),
    and `model.check_labels(y)` once, for models that take labels (so no step has to check them)."""
    if y is not None and hasattr(model, "check_labels"):
        model.check_labels(y)
    if x.ndim < 2:  # one sample's values, or one value a sample
        raise DataError(f"a {x.ndim}-d array of {math.prod(x.shape)} value{'s' * (x.ndim > 0)}; give a batch (N, ...) "
                        "of samples (one sample: x[None])")
    if not isinstance(x, MemmapArray):
        model.check_data(x)
        return
    if x.scanned is not None:  # finite, and each value's range known from the scan at load: two rows say it all
        model.check_data(torch.from_numpy(np.stack(x.scanned)).reshape(2, *x.sample_shape))
        return
    if x.in_unit_range:  # uint8 / 255: finite and in [0, 1] by construction
        model.check_data(x[:1])
        return
    rows = chunk_rows(4 * math.prod(x.shape[1:]))
    for start in range(0, max(len(x), 1), rows):
        model.check_data(x[start : start + rows])


def input_shape_of(model) -> tuple[int, ...]:
    """The sample shape `model` takes; a one-line refusal for what is not a model of aekit's (a path, a
    classifier where an autoencoder is needed, a torch module of your own)."""
    shape = getattr(getattr(model, "config", None), "input_shape", None) or getattr(model, "input_shape", None)
    if shape is not None:
        return tuple(shape)
    if isinstance(model, str) and not Path(model).exists() and Path(model).name == model:  # a model's name, say
        raise ConfigError(f"model: got the string {model!r}; give a model: aekit.create_model({model!r}, ...), or "
                          "aekit.load_model(a run folder)")
    if isinstance(model, (str, PathLike)):
        raise ConfigError(f"model: got the path {str(model)!r}; give the model itself: aekit.load_model({str(model)!r})")
    if type(model).__module__.startswith("aekit.") and hasattr(model, "get_params"):  # an estimator of aekit's
        fitted = "its fitted model" if hasattr(model, "model_") else "its model once fitted"
        raise ConfigError(f"model: got the estimator {type(model).__name__}; give {fitted}, estimator.model_")
    raise ConfigError(f"model: {type(model).__name__} is not a model of aekit's; give one from aekit.create_model or "
                      "aekit.load_model")


def autoencoder_of(model) -> Any:
    """`model`, when it is an autoencoder (encodes and decodes): what the inspection tools take."""
    input_shape_of(model)
    if not callable(getattr(model, "decode", None)):
        own = "; its autoencoder is model.autoencoder" if hasattr(model, "autoencoder") else ""
        raise ConfigError(f"model: '{getattr(model, 'name', type(model).__name__)}' has no encode(x) and decode(z) of "
                          f"its own (a classifier, or a semi-supervised model){own}; these tools take an autoencoder")
    return model


def why_codes_alone_fail(model) -> str | None:
    """Why decoding a code alone (a drawn, gridded or interpolated one) is not `model`'s decoding, or None."""
    if getattr(getattr(model, "config", None), "decoder", None) == "unpool":  # (conv)
        return (f"model '{model.name}' decodes with the encoder's pooling indices beside the code: a code drawn "
                "alone has none, so what it decodes is not the model's sample")
    return None


def decoder_of(model) -> Any:
    """`model`, when a code alone decodes as the model does (`autoencoder_of`, and why_codes_alone_fail)."""
    reason = why_codes_alone_fail(autoencoder_of(model))
    if reason is not None:
        raise ConfigError(reason)
    return model


def inputs_of(model, data: Any, what: str = "data", *, whole: bool = True) -> tuple[Tensor | MemmapArray, Tensor | None]:
    """(x shaped (N, *input_shape), labels or None) from a Dataset, tensor, array or (x, y) pair.

    whole=False leaves memory-mapped data on disk (a lazy MemmapArray view of that shape).
    Only the shape and finite values are checked: unlike training, analysis may feed inputs outside [0, 1].
    """
    shape = input_shape_of(model)
    x, y = (as_tensors if whole else as_inputs)(data, what)
    one = [d for d in x.shape if d != 1] == [d for d in shape if d != 1] and x.ndim <= len(shape)  # (8, 8) for (1, 8, 8)
    if isinstance(x, Tensor) and (one or tuple(x.shape) == (math.prod(shape),)):  # (a bug hunt: refused as 8 samples)
        x = x.unsqueeze(0)  # (a review: any array of as many values, (2, 32) for (64,), was not one sample)
    if x.ndim < 2:
        raise DataError(f"{what}: a 1-d array of {len(x)} values, but model '{model.name}' takes samples of shape "
                        f"{shape} ({math.prod(shape)} values); give one sample, or a batch (N, ...) of them")
    check_shape(tuple(x.shape[1:]), shape, what)
    if x.shape[0] == 0:
        raise DataError(f"{what}: no samples")
    if isinstance(x, Tensor) and not all_finite(x):  # NaN codes out, silently (memmaps: checked as read)
        raise not_finite(x, what)
    return x.reshape(x.shape[0], *shape), y


def read_rows(x: Tensor | MemmapArray, index: Any, what: str = "data") -> Tensor:
    """Rows `index` of `x` (inputs_of(..., whole=False)'s) as a tensor: of a memory-mapped file, those rows alone read,
    and checked finite as inputs_of checks data in memory (a scale hunt: a picture of 10 rows read a 3 GB file)."""
    rows = x[index]
    if isinstance(x, MemmapArray) and not all_finite(rows):
        j = int(torch.nonzero(~torch.isfinite(rows.reshape(len(rows), -1)).all(1))[0])  # named by its row in the file
        raise not_finite(rows, what, offset=int(np.asarray(index).reshape(-1)[j]) - j)
    return rows


def check_shape(got: tuple[int, ...], shape: tuple[int, ...], what: str = "data") -> None:
    """Raise DataError unless samples of shape `got` are samples of `shape`: that shape, flat
    (prod(shape),), or with axes of size 1 added or left out ((28, 28) for (1, 28, 28)): the same
    values in the same order; a flat `shape` takes any samples of as many values. Other shapes
    holding as many values (channel-last colour images) are refused, never reshaped into scrambled
    pixels."""
    size = math.prod(shape)
    if [d for d in got if d != 1] == [d for d in shape if d != 1] or got == (size,) or (len(shape) == 1 and math.prod(got) == size):
        return  # a flat model takes samples of any shape, flattened
    flat = f" or flat ({size},)" if len(shape) > 1 else ""
    last = len(shape) == 3 and got == (*shape[1:], shape[0])
    hint = ("; channel-last images: move the channels first (x.permute(0, 3, 1, 2) for a tensor, "
            "np.transpose(x, (0, 3, 1, 2)) for an array)") if last else ""
    raise DataError(f"{what} samples have shape {got} but the model expects {shape}{flat}{hint}")


def model_device(model: torch.nn.Module) -> torch.device:
    return next(iter(model.parameters()), torch.empty(0)).device


def model_dtype(model: torch.nn.Module) -> torch.dtype:
    """The float type of the model's weights (float32 where it has none): the type its inputs are cast to."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


@contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode (no noise, no dropout, VAE codes = mean) for the block, then the previous mode."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def map_batches(model, x: Tensor | MemmapArray, fn: Callable[[Tensor], Tensor], *, batch_size: int = 512) -> Tensor:
    """fn over batches of `x` on the model's device (and in its float type: a model made float64 takes
    float64 batches), in eval mode without gradients; float32 on the CPU."""
    count("batch_size", batch_size)
    device = model_device(model)
    dtype = model_dtype(model)
    out = None  # filled in place: a list of batches joined at the end peaked at twice the output (a trial: 2.3x)
    with eval_mode(model), torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size]  # a MemmapArray reads just these rows
            if isinstance(x, MemmapArray) and not torch.isfinite(xb).all():  # (in memory: inputs_of checked)
                raise not_finite(xb, "data", offset=start)
            xb = xb.to(device, dtype=dtype) if xb.is_floating_point() else xb.to(device)
            yb = fn(xb).detach().float().cpu()
            out = torch.empty(x.shape[0], *yb.shape[1:]) if out is None else out
            out[start : start + len(yb)] = yb
    return out if out is not None else torch.empty(0)


def encode_all(model, data: Any, *, batch_size: int = 512) -> np.ndarray:
    """Codes (N, code_size) of every sample, in eval mode; memory-mapped data is read a batch at a time."""
    encode = getattr(model, "encode", None) or autoencoder_of(model).encode  # a classifier: said in one line
    x, _ = inputs_of(model, data, whole=False)
    codes = map_batches(model, x, encode, batch_size=batch_size)
    return codes.reshape(len(codes), -1).numpy()


def reconstruct_all(model, data: Any, *, batch_size: int = 512) -> np.ndarray:
    """Reconstructions of every sample, in eval mode, shaped as the samples were given: (N, *input_shape) for
    a Dataset; (N, 8, 8) for images (N, 8, 8) of a (1, 8, 8) model, flat rows for flat rows, one sample with a
    batch axis of 1 before it, (1, 8, 8) for one (8, 8) image, so that `reconstruct_all(model, x) - x` is the
    error of each sample."""
    given, y = as_inputs(data)  # the samples as handed over, before inputs_of shapes them as the model takes them
    x, _ = inputs_of(model, (given, y), whole=False)
    out = map_batches(model, x, lambda xb: model(xb).x_hat, batch_size=batch_size)
    one = len(x) == 1 and given.ndim < x.ndim  # one sample: (1, ...), as encode_array gives its code (a review)
    return out.reshape((1, *given.shape) if one else tuple(given.shape)).numpy()


def random_affine(x: Tensor, *, rotate: float, scale: float, shift: float, share: float = 1.0) -> Tensor:
    """Each image of the batch `x` (N, C, H, W) turned by up to `rotate` degrees, scaled by a factor in
    [1 - scale, 1 + scale] and moved by up to `shift` pixels each way, all drawn uniformly per image from
    torch's random generator (bilinear sampling, zeros outside); each image is distorted with probability
    `share` and otherwise kept as it is. Data augmentation for training."""
    n, dtype = x.shape[0], torch.float32

    def uniform(size: tuple[int, ...], half_width: float) -> Tensor:
        return (torch.rand(size, device=x.device, dtype=dtype) * 2 - 1) * half_width

    angle = uniform((n,), math.radians(rotate))
    zoom = 1 + uniform((n,), scale)
    move = uniform((n, 2), shift) * 2 / torch.tensor([x.shape[3], x.shape[2]], device=x.device, dtype=dtype)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, move[:, 0]], 1), torch.stack([sin, cos, move[:, 1]], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    out = torch.nn.functional.grid_sample(x.float(), grid, align_corners=False, padding_mode="zeros").to(x.dtype)
    if share >= 1:
        return out
    kept = torch.rand(n, device=x.device) >= share
    return torch.where(kept.view(n, 1, 1, 1), x, out)
