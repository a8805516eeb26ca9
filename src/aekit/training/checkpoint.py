"""Checkpoints: one safetensors file holding tensors (weights, optimiser state, RNG states) and a
JSON metadata entry for everything else. Nothing is ever unpickled.

Files are written atomically (temporary file in the same folder, fsync, rename), so a crash or a
kill while saving leaves the previous checkpoint intact. A SHA-256 of the tensor bytes and the
metadata is stored and checked on load, so a truncated or tampered file is refused with a clear
message.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import shutil
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..config import safe_yaml, to_dict
from ..data.core import SCALING_FILE, data_map, input_range
from ..errors import (
    AekitError,
    CheckpointError,
    ConfigError,
    NonFiniteLossError,
    out_of_space,
    shell,
    warn,
    wraps_interrupt,
)
from ..writing import atomic_write_bytes, atomic_write_text
from .stops import signals_held

FORMAT_VERSION = 1
MODEL_FILE = "model.safetensors"
CHECKPOINT_FILE = "checkpoint.safetensors"
BEST_FILE = "best.safetensors"  # with train.restore_best: the best weights so far
CONFIG_FILE = "config.yaml"  # the run's config: what `aekit evaluate|resume|report` read
HISTORY_FILE = "history.json"  # every logged value, written beside every checkpoint
INIT_FILE = "init.json"  # a run started from another's model (init_from): which, and its weights' SHA-256 then
METRICS_FILE = "metrics.json"  # the test metrics beside PCA's, written by the run's end and by `aekit evaluate`
LOCK_FILE = ".aekit.lock"  # held by the process that trains, resumes or evaluates a run folder
FAILED_FILE = "failed.txt"  # the line of the error that stopped a run's training, until a run starts there again
WRITTEN_IN_PLACE = (LOCK_FILE, "log.csv", "tensorboard")  # what aekit opens to write, not replaces (its other files,
# pictures too, are written to a temporary file renamed over them: writing.py, which replaces a link)
_HELD: dict[Path, int] = {}  # the run folders this process holds -> the thread holding each
_EVALUATING: set[Path] = set()  # of those, the ones held to evaluate a run (check_free: free to that thread)


def remove_made(made: list[Path]) -> None:
    """Remove the folders a run made (innermost first): its run folder, and those above it while empty."""
    if made:
        shutil.rmtree(made[0], ignore_errors=True)
    for parent in made[1:]:
        with contextlib.suppress(OSError):  # another run's folder is in it now
            parent.rmdir()


def kept_when_stopped(err: BaseException, folder: Path) -> bool:
    """Whether a run folder that `err` stopped before its first checkpoint is worth keeping: a diverged run's
    logs show why, and a disk's error (but a full one) names a path in it; else it holds nothing a retry
    needs, and a retry under its name would be refused."""
    logs = [p for p in folder.iterdir() if p.name not in (CONFIG_FILE, SCALING_FILE, FAILED_FILE) and p.name[0] != "."]
    return bool(isinstance(err, NonFiniteLossError) and logs) or (  # (a closed output pipe is no path's error)
        isinstance(err, OSError) and not isinstance(err, BrokenPipeError) and not out_of_space(err))


def note_failure(folder: Path, err: BaseException) -> None:
    """Keep the line of the error that stopped a run in its folder (FAILED_FILE), where the report reads it (a lab's
    trial: a diverged run looked like one killed or still running); an interrupt, a closed pipe or a full disk is no
    failure of the run's. Never raises."""
    stopped = not isinstance(err, Exception) or isinstance(err, BrokenPipeError) or wraps_interrupt(err)
    if stopped or out_of_space(err) or not folder.is_dir():
        return
    line = (str(err) if isinstance(err, AekitError) else f"{type(err).__name__}: {err}").strip().splitlines()
    with contextlib.suppress(OSError):
        atomic_write_text(folder / FAILED_FILE, f"{line[0] if line else type(err).__name__}\n")


@contextlib.contextmanager
def hold(folder: str | Path, *, evaluating: bool = False) -> Iterator[None]:
    """Hold run folder `folder` for this process: another process that would write it at the same time
    is refused in one line. An OS lock (flock), so a killed process never leaves it held; nested holds
    of one folder in one process are free. Where flock is missing (Windows) no other process is refused; this
    one's threads are, and the lock file is made as elsewhere."""
    folder = Path(folder).resolve()
    odd = sorted(p.name for p in folder.iterdir() if p.name in WRITTEN_IN_PLACE and (
        p.is_symlink() or not (p.is_file() or p.is_dir()))) if folder.is_dir() and folder not in _HELD else []
    if odd:  # (a files trial: a log.csv linked to a file outside had it written over; a FIFO lock hung the command)
        which = "is a link or a special file" if len(odd) == 1 else "are links or special files"
        raise CheckpointError(f"{folder}: {', '.join(odd[:5])} {which}, which aekit would write through; make each a "
                              "plain file of the run's (or remove it)")
    try:
        import fcntl
    except ImportError:
        fcntl = None
    holder = _HELD.get(folder)  # the thread holding it, if this process does: that one holds it again (nested)
    if holder is not None and holder != threading.get_ident():  # (a concurrency trial: two threads' fits into one
        raise CheckpointError(f"{folder} is in use by another thread of this process (training, resuming or "
                              "evaluating it); wait for it to end, or use another folder")  # folder: one's model lost)
    if holder is not None:
        yield
        return
    with _lock_file(folder) as lock:  # (without flock, a portability review: threads and a killed run's restart went unguarded too)
        try:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CheckpointError(f"{folder} is in use by another aekit process (training, resuming or evaluating "
                                  "it); wait for it to end, or use another folder") from None
        _HELD[folder] = threading.get_ident()
        if evaluating:  # (load_model of it in this thread: "it is training now" of its own lock, a lab's trial)
            _EVALUATING.add(folder)
        try:
            yield
        finally:
            _HELD.pop(folder, None)
            _EVALUATING.discard(folder)


def _lock_file(folder: Path):
    """The folder's lock file, opened to hold it; another user's, in a folder this user may write (a group's shared
    folder), is opened to read, which flock takes (a non-root hunt: "cannot be written" of a folder it could write)."""
    try:
        return open(folder / LOCK_FILE, "a")  # noqa: SIM115 (the caller closes it)
    except OSError as err:
        if err.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        if err.errno == errno.EACCES and os.access(folder, os.W_OK | os.X_OK):
            with contextlib.suppress(OSError):
                return open(folder / LOCK_FILE)  # noqa: SIM115
        raise CheckpointError(f"{folder} cannot be written ({err.strerror}), and this command writes into it; copy the "
                              "folder to a place you may write (aekit evaluate --data FILE writes nothing)") from None


def check_free(folder: str | Path) -> None:
    """Refuse a run folder another process holds (hold), without writing anything: a read-only folder
    is read; where flock is missing (Windows), or the folder was never held, nothing is checked."""
    folder = Path(folder).resolve()
    if _HELD.get(folder) == threading.get_ident() and folder in _EVALUATING:
        return  # held by this thread's evaluate: no run trains it
    if not (folder / LOCK_FILE).is_file() or (folder / LOCK_FILE).is_symlink():
        return  # none (a FIFO would block the open for ever: hold refuses it)
    try:
        import fcntl

        with open(folder / LOCK_FILE) as lock:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise CheckpointError(f"{folder} is in use by another aekit process (training, resuming or "
                              "evaluating it; or by another thread of this one); wait for it to end") from None
    except (ImportError, OSError):
        pass


def _digest(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    """SHA-256 of the tensors and the metadata: one digest over both, so no single damaged byte
    can switch the check off."""
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key]
        h.update(key.encode())
        h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    body = {k: v for k, v in meta.items() if k != "sha256"}  # as read back from JSON
    h.update(json.dumps(body, sort_keys=True).encode())
    return h.hexdigest()


def encode(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> bytes:
    """The safetensors file that `write` saves, as bytes."""
    from .. import __version__

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    header = json.loads(json.dumps({"format_version": FORMAT_VERSION, "aekit_version": __version__, **meta}))
    header["sha256"] = _digest(tensors, header)
    return st_save(tensors, metadata={"aekit": json.dumps(header)})


def write(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Save `tensors` and JSON-able `meta` to one safetensors file, atomically."""
    atomic_write_bytes(path, encode(tensors, meta))


def read(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load a file written by `write`; raise CheckpointError if it is missing, truncated or tampered."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.suffix != ".safetensors":  # a data file, a config, a torch .pt: not damaged, just not aekit's
        raise CheckpointError(f"{path} is not a .safetensors file; give a run folder or its model.safetensors")
    data = path.read_bytes()
    try:
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        raw_meta = json.loads(data[8 : 8 + header_len]).get("__metadata__", {})
        meta = json.loads(raw_meta["aekit"])
        if not isinstance(meta, dict):
            raise TypeError("aekit metadata must be a JSON object")
    except (SafetensorError, ValueError, KeyError, TypeError, json.JSONDecodeError, RuntimeError):
        raise CheckpointError(
            f"checkpoint {path} is truncated or not an aekit safetensors file; "
            "use an intact copy or retrain"
        ) from None
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"checkpoint {path} records no format version, so it was not written by aekit")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version!r}; this aekit reads versions up to "
            f"{FORMAT_VERSION}: upgrade aekit (it was written by aekit {meta.get('aekit_version')})"
        )
    if meta.get("sha256") != _digest(tensors, meta):
        raise CheckpointError(f"checkpoint {path} failed its checksum: the file was modified or damaged")
    return tensors, meta


def checkpoint_header(folder: Path) -> dict[str, Any]:
    """A run folder's checkpoint metadata alone (no tensors read); {} without a readable checkpoint."""
    return file_header(Path(folder) / CHECKPOINT_FILE)


def file_header(path: Path) -> dict[str, Any]:
    """An aekit safetensors file's metadata alone (no tensors read); {} for any other file."""
    from safetensors import safe_open

    with contextlib.suppress(Exception), safe_open(path, "np") as f:
        header = json.loads(f.metadata()["aekit"])
        return header if isinstance(header, dict) else {}
    return {}


def epochs_done(folder: Path) -> int:
    """The epochs a run folder has trained, from its checkpoint's header; 0 without a readable checkpoint."""
    with contextlib.suppress(Exception):
        return int(checkpoint_header(folder)["epoch"])
    return 0


def checkpoint_place(folder: Path) -> str:
    """Where a run's checkpoint stands, in words ("epoch 3"; one inside an epoch, a stop's or checkpoint_minutes':
    "epoch 3 and 120 steps of epoch 4's 469"); "" without a readable checkpoint, or one of no epoch and no step."""
    header = checkpoint_header(folder) or {}
    epoch, part = int(header.get("epoch") or 0), header.get("in_epoch")
    inside = f"{part['batches']:,} step{'s' * (part['batches'] != 1)} of epoch {epoch + 1}'s {part['batches_of']:,}" \
        if isinstance(part, dict) else ""
    return " and ".join(text for text in (f"epoch {epoch}" if epoch else "", inside) if text)


def callback_stop(header: dict[str, Any], epochs: int, time_budget: float | None) -> str | None:
    """The reason a callback (early stopping) ended a run, by its checkpoint's header, where a resume trains it to the
    length it was trained to (a longer one trains on); else None."""
    saved = header.get("train_config") or {}
    if "stopped" in header and (saved.get("epochs"), saved.get("time_budget")) == (epochs, time_budget):
        return header["stopped"]
    return None


def check_longer_budget(folder: Path, seconds: float, where: str = "time_budget") -> None:
    """Refuse a new time budget for a run (a resume that trains it longer) unless it exceeds the seconds the
    run has trained, by its checkpoint's header."""
    spent = 0.0
    with contextlib.suppress(Exception):
        spent = float(checkpoint_header(folder)["budget"]["spent"])
    if not (math.isfinite(seconds) and seconds > spent):
        raise ConfigError(f"{where}: must be a finite number of seconds more than the {spent:.1f} s this run has "
                          f"trained (it is the run's total, not the seconds to add), got {seconds:g}")


def final_training(folder: Path) -> dict[str, Any]:
    """What a finished run's model.safetensors records of its training (`save_model`'s `training`: the kept epoch,
    thread counts, a budget's seconds), which outlives the checkpoint (training.md allows removing it); {} for a run
    not finished, or saved before it was recorded."""
    saved = file_header(Path(folder) / MODEL_FILE).get("training")
    return saved if isinstance(saved, dict) and training_ended(folder) else {}


def kept_epoch(folder: Path) -> int | None:
    """The epoch whose weights restore_best kept at the end of a run (0: its start, before any step);
    None for a run without restore_best, or without a readable checkpoint."""
    final = final_training(folder)
    if final:  # as the model file records it, weights restored or not (reviews)
        return final["kept_epoch"] if isinstance(final.get("kept_epoch"), int) else None
    header = checkpoint_header(folder)
    with contextlib.suppress(Exception):
        return int(header["best"]["epoch"]) if header["train_config"]["restore_best"] else None
    return None


def training_ended(folder: Path) -> bool:
    """Whether a run folder's training ran to its end: its model.safetensors, written as training ends, is
    there and has trained the epochs of its checkpoint (a resume stopped since leaves a checkpoint of more);
    models saved without their epochs, by the files' times (a copy can reorder those)."""
    model, checkpoint = Path(folder) / MODEL_FILE, Path(folder) / CHECKPOINT_FILE
    if not model.is_file() or not checkpoint.is_file():
        return model.is_file()
    header = checkpoint_header(folder)
    if not header:  # damaged (a lab's trial: a zero-byte one): no resume goes on from it, the model is what there is
        return True
    trained, epoch = file_header(model).get("trained_epochs"), header.get("epoch")
    if isinstance(trained, int) and isinstance(epoch, int):
        return trained >= epoch + ("in_epoch" in header)  # (a checkpoint inside the epoch after the model's)
    return model.stat().st_mtime >= checkpoint.stat().st_mtime


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries whose names start with `prefix`, named without it."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def check_named(model) -> None:
    """Refuse to save a model (or a model inside it: a classifier's autoencoder) whose class is not the one registered
    under its name: a subclass of a registered model without a name of its own would load as its parent (a hunt: a
    subclass's own loss was lost at a resume, unsaid); a model of a class defined again since (a notebook's cell run
    again) whose weights the class as it is now cannot take is refused, one whose weights it takes is said."""
    from ..registry import _MODELS, same_class

    for part in model.modules():
        entry, cls = _MODELS.get(getattr(part, "name", None)), type(part)
        if entry is None or entry.cls is cls or not hasattr(part, "config"):
            continue
        if not same_class(entry.cls, cls):
            raise CheckpointError(f"{cls.__name__} subclasses {entry.cls.__name__} ({part.name!r}) without a name of its "
                                  f"own: saved, it would load as a plain {part.name}; register it under one "
                                  "(@aekit.register_model(\"my-name\") above its class)")
        if cls.__module__ != entry.cls.__module__:  # one file imported under two module names: the same class
            continue
        now = on_meta(lambda entry=entry, part=part: entry.cls(part.config))
        shapes = {k: tuple(v.shape) for k, v in part.state_dict().items()}
        if now is not None and {k: tuple(v.shape) for k, v in now.state_dict().items()} != shapes:
            raise CheckpointError(f"this {part.name} model was made before its class {cls.__qualname__} was defined "
                                  "again (a cell run again?), and its weights do not fit the class as it is now: make "
                                  "the model anew, or define the class as it was")
        warn(f"this {part.name} model was made before its class {cls.__qualname__} was defined again (a cell run "
             "again?): its files load into the class as it is now")


def model_meta(model) -> dict[str, Any]:
    from ..registry import defining_module

    module = defining_module(type(model))  # a model of your own: where it is registered, for load_model's message
    return {"model": model.name, "config": to_dict(model.config), **({"module": module} if module else {})}


def save_model(model, path: str | Path, *, state: dict[str, torch.Tensor] | None = None,
               epochs: int | None = None, training: dict[str, Any] | None = None) -> Path:
    """Save a model's weights (or `state`, a state dict of it) and config, so that `load_model(path)`
    rebuilds it; `epochs`: those of the training it ends (a run's model.safetensors), `training`: what else a run
    records of it (the epoch restore_best kept, the thread counts), read where its checkpoint was removed."""
    path = Path(path).expanduser()
    if path.is_dir() or path.suffix == "":
        path = path / MODEL_FILE
    if path.suffix != ".safetensors":  # load_model reads no other
        raise CheckpointError(f"{path}: a model file's name ends in .safetensors (or give a folder)")
    if path.is_file() and not file_header(path):  # a file of the user's, never written over
        raise CheckpointError(f"{path} is there and is not a model saved by aekit; give another path or remove it")
    model = getattr(model, "_orig_mod", model) if type(model).__name__ == "OptimizedModule" else model  # torch.compile's
    if not hasattr(model, "config") or not isinstance(model, torch.nn.Module):  # wrapper: its weights are the model's
        raise CheckpointError(f"save_model: {type(model).__name__} is not an aekit model (aekit.create_model builds one)")
    check_named(model)  # (fit checks it once before training; not again at each checkpoint)
    if state is not None and (what := state_fit(model, state)[1]) is not None:  # (an API trial: another model's
        raise CheckpointError(f"save_model: `state` is not {model.name}'s: {what}")  # was refused only by load_model)
    atomic_write_bytes(path, model_bytes(model, state=state, epochs=epochs, training=training))
    return path


def model_bytes(model, *, state: dict[str, torch.Tensor] | None = None, epochs: int | None = None,
                training: dict[str, Any] | None = None) -> bytes:
    """The file `save_model` writes, as bytes."""
    state = model.state_dict() if state is None else state
    meta = {**model_meta(model), **({"trained_epochs": epochs} if epochs is not None else {}),
            **({"training": training} if training else {})}
    return encode({f"model.{k}": v for k, v in state.items()}, meta)


# keys some models took and did nothing with until 2026-12-05, now refused (linear_path on tied, batch_norm
# without hidden layers, code_l2 on vq-vae, ...): a model saved with one is built without it, as it was
IGNORED_BEFORE = ("linear_path", "batch_norm", "dropout", "decoder_batch_norm", "decoder_dropout", "code_l2")


def without_ignored(name: str, config: dict[str, Any], path: Path, *, note: bool = True) -> dict[str, Any]:
    """A saved model `config` less the keys of IGNORED_BEFORE that model `name` refuses now (it was trained
    without them), each left out with a note; other refusals are raised."""
    from ..registry import make_config

    config = dict(config)
    while True:
        try:
            make_config(name, config)
            return config
        except ConfigError as err:
            key = next((k for k in IGNORED_BEFORE if k in config and str(err).startswith(f"model.{k}:")), None)
            if key is None:
                raise
            value = config.pop(key)
            if note:
                warn(f"{path}: model.{key}={value!r}, which this model did nothing with, is left out")


def check_same_model(meta: dict[str, Any], model, path: Path) -> None:
    """Refuse to resume `model` from a checkpoint (its header `meta`) of another model or config. The saved
    config is read as this aekit reads it (keys added since at their defaults, keys it ignored left out)."""
    from ..registry import make_config

    saved, own = meta.get("config") or {}, to_dict(model.config)
    if meta.get("model") == model.name:
        with contextlib.suppress(ConfigError, KeyError):  # a config this aekit cannot read: compared as saved
            saved = to_dict(make_config(model.name, without_ignored(model.name, saved, path, note=False)))
    if meta.get("model") != model.name or saved != own:
        keys = sorted(k for k in {*saved, *own} if k not in saved or k not in own or saved[k] != own[k])

        def shown(config: dict[str, Any]) -> str:
            return repr(config[keys[0]]) if keys[0] in config else "no value"

        differ = f" (model.{keys[0]}: {shown(saved)} there, {shown(own)} here)" if keys and meta.get("model") == model.name else ""
        raise CheckpointError(f"checkpoint {path} holds model '{meta.get('model')}' with another config{differ}; "
                              "resume it with the model it was trained with")


@contextlib.contextmanager
def meta_device():
    """torch's meta device for the block, stop signals answered once it is left: an interrupt inside
    `torch.device("meta")`'s exit broke torch's mode stack, and the model built next was made on meta."""
    with signals_held(), torch.device("meta"):
        yield


def on_meta(build: Callable[[], Any]) -> Any:
    """`build()` on torch's meta device, which takes no memory (its notes left out: they are said as the model is
    built for real), or None where a model cannot be built there (it is checked as it is built, then)."""
    try:
        with meta_device(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return build()
    except Exception:
        return None


def build_model(meta: dict[str, Any], path: Path):
    from ..registry import create_model

    try:
        return create_model(meta["model"], **without_ignored(meta["model"], meta["config"], path))
    except (KeyError, TypeError, ConfigError) as err:
        if "module" in meta and f"unknown model {meta['model']!r}" in str(err):
            where = (f"{meta['module']} registers: import that" if meta["module"] != "__main__" else
                     "the script or notebook that saved it defined (__main__): in a notebook run the cell that defines it "
                     "again; else move its class into a .py file and import that")
            raise CheckpointError(f"checkpoint {path} holds model {meta['model']!r}, which {where} first "
                                  "(aekit.registry.import_models([...]) takes a .py file's path; aekit export takes "
                                  "--imports FILE.py)") from None
        from .. import __version__

        written = str(meta.get("aekit_version", ""))
        newer = _release(written) > _release(__version__) and "unknown" not in __version__  # a key added since: likely
        raise CheckpointError(f"checkpoint {path} holds a model config this aekit cannot build: {err}" + (
            f" (aekit {written} wrote it, a newer one than this {__version__}: upgrade aekit)" if newer else "")) from None


def _release(version: str) -> tuple[int, ...]:
    """(major, minor, patch) of a version such as 0.2.0 or 0.2.0.dev3+g1a2b; () for none."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


def state_fit(model, state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str | None]:
    """(`state` completed by the state `model` added since it was written, as it read then; how it does not fit
    `model`, or None where it fits)."""
    own = model.state_dict()
    state = dict(state)
    for name, module in model.named_modules():
        for key, value in (module.added_state() if hasattr(module, "added_state") else {}).items():
            state.setdefault(f"{name}.{key}" if name else key, value)
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [k for k in own if k in state and own[k].shape != state[k].shape]
    what = (
        f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}" if unexpected
        else f"shape of {wrong[0]} is {tuple(state[wrong[0]].shape)}, the model's is {tuple(own[wrong[0]].shape)}"
    ) if missing or unexpected or wrong else None
    return state, what


def load_state(model, state: dict[str, torch.Tensor], path: Path, *, check_only: bool = False) -> None:
    """Load weights into `model`, with a clear error if they come from another model (`check_only`: the error
    alone, for a model built on the meta device)."""
    state, what = state_fit(model, state)
    if what is not None:
        raise CheckpointError(f"checkpoint {path} does not fit model '{model.name}': {what}")
    if not check_only:
        model.load_state_dict(state)


def model_file(folder: Path) -> Path:
    """The model in a folder: model.safetensors, else the checkpoint, else its one *.safetensors file."""
    for name in (MODEL_FILE, CHECKPOINT_FILE):
        if (folder / name).is_file():
            return folder / name
    others = sorted(p.name for p in folder.glob("*.safetensors") if p.name != BEST_FILE)
    if len(others) == 1:  # e.g. an experiment's model-<tag>.safetensors
        return folder / others[0]
    if others:
        raise CheckpointError(f"{folder} holds {len(others)} models ({', '.join(others)}); give one of these files")
    if (folder / "experiment.yaml").is_file():
        raise CheckpointError(f"{folder} is an experiment folder holding no model-*.safetensors yet (it stopped "
                              "before saving one)")
    if (folder / CONFIG_FILE).is_file():  # (a tuner's trial: "checkpoint .../model.safetensors does not exist")
        raise CheckpointError(f"{folder} holds no model yet: its run has not reached its first checkpoint, or stopped "
                              "before it (train it again)")
    raise CheckpointError(f"{folder} holds no model.safetensors; give a run folder made by aekit train or aekit.fit, "
                          "or a model .safetensors file")


def load_model(path: str | Path, *, map_location: str | torch.device = "cpu") -> Any:
    """Rebuild a model saved by `save_model`, `fit` (a run folder) or a training checkpoint, in eval
    mode (no noise, no dropout, batch norm's running statistics) and the precision it was saved in, ready to use: an
    Autoencoder, or a classifier (a module of ClassifierMixin) where one was saved."""
    # (typed Any, as torch.load: the union made every typed `load_model(run).encode_array(x)` need a cast, a review)
    if not isinstance(path, (str, os.PathLike)):
        raise CheckpointError(f"load_model: give the path of a run folder or a model .safetensors file, got "
                              f"{type(path).__name__}")
    try:
        device = torch.device(map_location)
    except (RuntimeError, TypeError):
        raise ConfigError(f"map_location: {map_location!r} is not a device; give 'cpu', 'cuda' or 'cuda:N'") from None
    here = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if device.type not in here:  # (a bug hunt: 'meta' gave a model without weights, unsaid)
        raise ConfigError(f"map_location: {map_location!r} holds no weights; give 'cpu', 'cuda' or 'cuda:N'")
    if not here[device.type]:  # (mps: torch's RuntimeError)
        raise ConfigError(f"map_location: {map_location!r} was asked for but {device.type.upper()} is not available; "
                          "use 'cpu'")
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; give a run folder made by aekit train or aekit.fit, or a "
                              "model .safetensors file")
    folder = path if path.is_dir() else None  # a run folder: its config.yaml says which model it holds
    if folder is not None:
        path = model_file(path)
        if path.name == CHECKPOINT_FILE and (path.parent / CONFIG_FILE).is_file():  # a run stopped before its end
            try:
                check_free(path.parent)
                then = f"`aekit resume {shell(path.parent)}` finishes it"
            except CheckpointError:  # (a concurrency trial: resume, which refuses a folder in use, was advised)
                then = "it is training now (its folder is in use), and writes them as it ends"
            warn(f"{path.parent} holds no {MODEL_FILE} (a run writes it as training ends: it has not finished, "
                 f"or the file was removed): these are the weights of its last checkpoint ("
                 f"{checkpoint_place(path.parent) or 'its start'}), not its final ones; {then}")
        elif (path.parent / "experiment.yaml").is_file() and not (path.parent / "results.json").is_file():
            warn(f"{path.parent} is an experiment stopped before its end (no results.json): {path.name} is a "
                 "model it had saved")
    tensors, meta = read(path)
    if "model" not in meta:
        raise CheckpointError(f"checkpoint {path} does not say which model it holds")
    weights = prefixed(tensors, "model.")
    ghost = on_meta(lambda: build_model(meta, path))  # the weights checked first against a model that takes no memory
    if ghost is not None:  # (a files trial: a 206 KB file edited to hidden [20000, 20000] took 3.5 GB before its refusal)
        load_state(ghost, weights, path, check_only=True)
    with torch.random.fork_rng(devices=[]):  # its drawn weights are replaced: the caller's generator left as it was
        model = build_model(meta, path)
    if folder is not None:
        _check_described(model, folder / CONFIG_FILE, path)
        _check_trained_here(meta, folder, path)
    saved = {t.dtype for t in weights.values() if t.is_floating_point()}
    if len(saved) == 1 and saved != {torch.float32}:  # a model saved in float64 (or bfloat16): as it was saved
        model.to(saved.pop())
    load_state(model, weights, path)
    done = epochs_done(path.parent) if path.name == MODEL_FILE and "trained_epochs" in meta else 0
    if done and not training_ended(path.parent):  # a later training (a resume) was stopped before its end
        warn(f"{path} is the model after {meta['trained_epochs']} epoch{'s' * (meta['trained_epochs'] != 1)}, but {path.parent / CHECKPOINT_FILE} "
             f"has trained to {checkpoint_place(path.parent)}, in a training stopped before its end: `aekit resume "
             f"{shell(path.parent)}` finishes it (load_model of the checkpoint file takes its weights)")
    return model.to(device).eval()


def _check_described(model, config_file: Path, path: Path) -> None:
    """Refuse a run folder's weights (`path`) of another model than its config.yaml's model section names (a
    file copied in from another run: evaluate wrote that model's error as the run's, and the report drew it
    under the run's name)."""
    try:
        section = (safe_yaml(config_file.read_text(encoding="utf-8"), str(config_file)) or {}).get("model")
    except (OSError, yaml.YAMLError, UnicodeDecodeError, AttributeError):
        return  # no run config to compare with (a commands' own refusal names a damaged one)
    if not isinstance(section, dict) or "name" not in section:
        return
    mine = to_dict(model.config)
    keys = [k for k, v in section.items() if k in mine and mine[k] != v]  # (keys an older aekit wrote, left out)
    if section["name"] != model.name or keys:
        differ = (f"{config_file} names {section['name']!r}" if section["name"] != model.name else
                  f"model.{keys[0]}: {mine[keys[0]]!r} there, {section[keys[0]]!r} in {config_file}")
        raise CheckpointError(f"{path} holds model {model.name!r} ({differ}): it is not this run's model (a file "
                              "copied in from another run?); put the run's own file back, or load the file by its path")


def _check_trained_here(meta: dict[str, Any], folder: Path, path: Path) -> None:
    """Refuse a run folder's model.safetensors trained on other data than its checkpoint records (a files hunt: another
    run's model of the same shape, copied in, was evaluated as this one, its metrics.json written over): where the
    checkpoint is of the training that wrote the model. Files from before 2026-12-07 record none, and a folder without
    its checkpoint has nothing to hold it against."""
    training = meta.get("training")
    trained = training.get("data") if isinstance(training, dict) and path.name == MODEL_FILE else None
    here = checkpoint_header(folder).get("data") if isinstance(trained, dict) else None
    if isinstance(here, dict) and here != trained and training_ended(folder):  # (a resume stopped since, on data
        # rewritten, is said by load_model as such)
        raise CheckpointError(f"{path} was trained on other data ({trained.get('samples')} samples) than "
                              f"{folder / CHECKPOINT_FILE} records ({here.get('samples')}, or the same number of others): "
                              "it is not this run's model (a file copied in from another run?); put the run's own file "
                              "back, or load the file by its path")


# training keys that say how this machine runs a training, not what it trains: a resume that gives them records none
HERE = ("progress", "device", "compile", "nan_check_every")


def nothing_to_resume(run_dir: Path) -> CheckpointError:
    """The refusal to resume a folder without a checkpoint, saying why there is none."""
    finished = (run_dir / MODEL_FILE).is_file()  # and its checkpoint removed: no optimiser to go on with
    logged = 0
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError, AttributeError):  # (a damaged log: as none)
        logged = len(json.loads((run_dir / HISTORY_FILE).read_text(encoding="utf-8"))["epoch"])
    return CheckpointError(f"cannot resume: {run_dir} holds no {CHECKPOINT_FILE} (" + (
        f"only its final {MODEL_FILE}, which holds no optimiser state to go on from: train again to train longer)"
        if finished else f"it was removed: {HISTORY_FILE} records {logged} epoch{'s' * (logged != 1)}; put it back, or train it again into "
        "another folder, or empty this one)" if logged
        else "a run stopped before its first checkpoint has nothing to resume: train it again)"))


def model_section(model) -> dict[str, Any]:
    """config.yaml's model section for `model`: its name and every key of its config, defaults included."""
    return {"name": model.name, **to_dict(model.config)}


def write_run_config(folder: Path, model, train_config, *, data: str | None, scale: str | None = None,
                     asked=None) -> None:
    """config.yaml for a folder that `fit` trains an autoencoder into: the model, the training keys and
    the data's source (None for arrays), so every `aekit` command that takes a run folder works on it.

    One that is there (`aekit train` wrote the whole config, or an earlier `fit`) is kept, except that a
    resume with other training keys (more `epochs`, another `lr`) records them: it describes the latest
    training; and that one describing another model or other training (or damaged), left by a run killed
    before its first checkpoint, is replaced. `asked`: the training as given, where fit changed it (restore_best
    off without validation data): a config.yaml of that describes this run (a combination trial: it was replaced,
    its data keys lost), and records what fit changed."""
    path = folder / CONFIG_FILE
    try:
        raw = safe_yaml(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else None
    except (yaml.YAMLError, UnicodeDecodeError):
        raw = "damaged"
    fresh = not (folder / CHECKPOINT_FILE).is_file()  # fit refuses a checkpoint it does not resume
    if path.is_file() and not (model is not None and fresh and not _describes(raw, model, asked or train_config)):
        train = raw.get("train") if isinstance(raw, dict) else None
        changed = {} if not isinstance(train, dict) else {
            key: value for key, value in to_dict(train_config).items() if key not in HERE and train.get(key) != value}
        if changed:
            train.update(changed)
            atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
        return
    if model is None:
        return
    from ..data.core import loader_file
    from ..registry import imported_files, trust

    # a model of your own, and a data set of your own (an own-data-set hunt: evaluate and resume in a new process
    # said it was "not there (moved?)"): the files that register them, for `aekit` commands
    imports = list(dict.fromkeys(m for m in (model_meta(model).get("module"), loader_file(data))
                                 if m not in (None, "__main__")))
    trust([f for item in imports for f in imported_files(item) if f.is_file()])  # (this process ran them: the
    config = {  # commands reading the folder may run them again)
        **({"imports": imports} if imports else {}),
        "model": model_section(model),
        # fit was given its train data whole; a file is read again as it was scaled (data.core.resolved_scale)
        "data": {"name": data, "val_fraction": 0.0, **({"scale": scale} if scale else {})},
        "train": to_dict(train_config),
        "output": {"dir": str(folder.parent), "name": folder.name},
    }
    atomic_write_text(folder / CONFIG_FILE, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def _describes(config: Any, model, train_config) -> bool:
    """Whether a run config's model section names `model` and only keys with its values, and its
    train section holds `train_config` (the keys of HERE, how this machine runs it, aside)."""
    section, train = (config.get(key) if isinstance(config, dict) else None for key in ("model", "train"))
    if not isinstance(section, dict) or section.get("name") != model.name or not isinstance(train, dict):
        return False
    mine, steps = to_dict(model.config), to_dict(train_config)
    return (all(mine.get(key) == value for key, value in section.items() if key != "name")
            and all(steps.get(key) == train.get(key) for key in steps if key not in HERE))


# --- optimiser and RNG state as tensors + JSON ------------------------------------------------


def _optimizer_prefix(key: str) -> str:
    """The optimiser of the "loss" entry keeps its tensors as optim.*, a model's others as optim:KEY.*."""
    return "optim." if key == "loss" else f"optim:{key}."


def optimizer_to_tensors(optimizer, key: str = "loss") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    prefix, sd = _optimizer_prefix(key), optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for pid, entry in sd["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}{pid}.{name}"] = value
            else:
                plain.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": sd["param_groups"], "state": plain}


def optimizer_from_tensors(
    optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any], key: str = "loss"
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for pid, entry in meta["state"].items():
        state.setdefault(int(pid), {}).update(entry)
    for tensor_name, value in prefixed(tensors, _optimizer_prefix(key)).items():
        pid, name = tensor_name.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if sum(len(g["params"]) for g in meta["param_groups"]) != len(params) or any(  # (a checkpoint that names no weights
            v.dim() > 0 and (pid >= len(params) or v.shape != params[pid].shape)  # it stepped: a fused step of misfit
            for pid, entry in state.items() for v in entry.values() if torch.is_tensor(v)):  # moments segfaulted)
        raise CheckpointError(f"the optimiser's saved state ({key}) does not fit the weights this model has to train "
                              "(requires_grad): make the same ones trainable as its training did to resume it (in "
                              "Python: requires_grad_ as it trained, then fit(..., resume=True))")
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def rng_to_tensors() -> dict[str, torch.Tensor]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"rng.torch": torch.get_rng_state(), **{f"rng.cuda.{i}": state for i, state in enumerate(cuda)}}


def rng_from_tensors(tensors: dict[str, torch.Tensor]) -> None:
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    cuda = prefixed(tensors, "rng.cuda.")
    if cuda and torch.cuda.is_available():
        states = [cuda[k] for k in sorted(cuda, key=int)]
        torch.cuda.set_rng_state_all(states[: torch.cuda.device_count()])


def write_scaling(folder: Path, data) -> None:
    """scaling.json, from a Dataset loaded from a data file (data.core.data_map): the map (offset, divisor)
    that took its stored values to the model's inputs, x = (stored - offset) / divisor (numbers, or lists of
    one per column; a divisor of null: an older run's constant range, every input 0), how the file stores images if not
    as (N, C, H, W) ("nhwc", "nhw"), a CSV's feature names, the class names its labels number and the sample
    shape, so that the run takes new samples as they are stored (`aekit export --raw`, `load_dataset(...,
    like=RUN)`; data.core.read_unit_map reads it). For texts, the vocabulary and TF-IDF weights in place of the map;
    and the data's size, so that a resume on data changed since says so."""
    saved = data_map(data)
    if "offset" in saved:
        divisor = saved["divisor"].tolist()  # JSON has no Infinity; per column it is never one
        saved = {**saved, "offset": saved["offset"].tolist(), "divisor": None if divisor == math.inf else divisor}
        if (bounds := input_range(data)) is not None:  # inputs beyond [0, 1]: their range, for checks of new samples
            saved["range"] = bounds
    elif saved["idf"] is not None:  # a folder of texts: its vocabulary and TF-IDF weights
        saved = {**saved, "idf": saved["idf"].tolist()}
    text = json.dumps(saved)
    atomic_write_text(folder / SCALING_FILE, text)
