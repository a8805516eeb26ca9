"""The one trainer for every model: `fit(model, train, val=None, ...)`.

It knows only the model contract: `model(x) -> Output` and `model.loss(x, output, y=y) -> dict`
whose "loss" entry it minimises and whose other entries it logs.

The hot path keeps the data as one tensor (on the GPU when training there) and slices batches
from it; memory-mapped data (`np.load(..., mmap_mode="r")`, `read_idx(..., mmap=True)`) stays on
disk and is read a batch at a time. Optimisers use fused kernels where torch has them; on
accelerators the NaN check reads the loss back every `nan_check_every` steps, not every step.
Under torchrun each process trains on its shard of every epoch (see distributed.py). Semi-supervised
models can train on mixed batches, a set number of labelled samples in each (`labelled_per_batch`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import hashlib
import importlib
import importlib.util
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..config import SEED_MAX, build, check, check_types, non_negative, positive, to_dict
from ..data.batches import (
    as_inputs,
    check_inputs,
    eval_mode,
    input_shape_of,
    model_dtype,
    random_affine,
)
from ..data.core import SCALING_FILE, data_map, is_picture, progress_bar, resolved_scale
from ..data.memmap import MemmapArray
from ..errors import CheckpointError, ConfigError, DataError, NonFiniteLossError, warn
from ..models.base import Autoencoder, check_contract
from ..registry import FIT_LOCK, model_kind
from ..writing import atomic_write_text, is_temporary
from . import checkpoint as ckpt
from . import distributed
from .callbacks import Callback, EarlyStopping
from .loggers import make_loggers
from .stops import StopSignals, signals_held
from .threads import ThreadGovernor, flush_denormals

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adagrad": torch.optim.Adagrad,
              "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
FUSED = ("adam", "adamw", "adagrad", "sgd")  # optimisers with fused (one-kernel) steps in torch
MOMENTUM = ("rmsprop", "sgd")  # optimisers that take train.momentum
FUSED_CPU_ONLY = ("adagrad",)  # fused Adagrad on CUDA is recent in torch and untested here: CPU only
ACCELERATOR_NAN_CHECK_EVERY = 32  # steps between loss read-backs on a GPU (each one waits for it)
BUDGET_CHECKPOINT_SECONDS = 30.0  # with a time budget, checkpoints after the first come at most this often (and at the end)
# what a run killed before its first checkpoint leaves in its folder, which a fresh run there replaces
# what a run stopped before its first checkpoint leaves (and `aekit report` of it: a trial's retry was refused)
LEFT_UNSAVED = {ckpt.CONFIG_FILE, SCALING_FILE, ckpt.INIT_FILE, ckpt.BEST_FILE, ckpt.FAILED_FILE, "log.csv", "tensorboard", "report.html"}
EPOCH_LINE_SECONDS = 1.0  # epoch lines after the first come at most this often (and the last): short epochs would flood


def say(text: str) -> None:
    """A line of training's progress, above any bar, on stdout at once: a file or a pipe holds Python's output back
    (a long-job trial: `nohup aekit train ... > log` showed no epoch line for minutes, and a kill lost 39 of them)."""
    tqdm.write(text)
    if sys.stdout is not None:  # (pythonw)
        sys.stdout.flush()


def _stderr_note() -> Callable[[str], None] | None:
    """Where an exception takes no note (Python 3.10), what says a fit's note on stderr instead (a versions trial: a
    notebook's interrupted fit left unsaid which checkpoint it kept), but in the aekit command, which says it itself."""
    from .. import _the_command

    command = sys.modules.get("aekit.apps.cli")  # main([...]) called in a script says it too (a review: twice)
    if _the_command() or getattr(command, "RUNNING", None) or sys.stderr is None:
        return None
    return lambda text: print(f"aekit: note: {text}", file=sys.stderr, flush=True)


_BAR_NOTED: list[bool] = []  # whether _note_notebook_bar has spoken in this process


def _note_notebook_bar() -> None:
    """In a Jupyter kernel without ipywidgets, tqdm draws no bar: said once a process (a core-install trial: a line an
    epoch, and nothing said of the extra that gives a bar)."""
    if not _BAR_NOTED and "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is None:
        _BAR_NOTED.append(True)
        warn("progress: a bar in Jupyter needs ipywidgets (pip install 'aekit[notebook]'); meanwhile a line an epoch")


def seconds_text(seconds: float) -> str:
    """An epoch's or a layer's seconds as its line gives them: "2.3s", or "0.04s" under a second (not "0.0s")."""
    return f"{seconds:.{1 if seconds >= 0.995 else 2}f}s"


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """The settings of `fit` (a run config's `train:` section, `aekit train train.KEY=...`): each below, and in
    README's table and docs/user-guide/training.md."""

    epochs: int = 10  #: passes over the training data
    time_budget: float | None = None  #: seconds of training; replaces `epochs` (see Budget)
    batch_size: int = 128  #: samples a step (under torchrun the global batch, split over the processes)
    optimizer: Literal["adam", "adamw", "adagrad", "rmsprop", "sgd"] = "adam"  #: fused kernels where torch has them
    lr: float = 1e-3  #: the learning rate (the start of a cosine schedule)
    lr_schedule: Literal["constant", "cosine"] = "constant"  #: cosine: per epoch from lr down towards lr_min
    lr_min: float = 0.0  #: where the cosine ends: epoch e of E takes e/E of the way (a budget: the fraction spent)
    warmup: float = 0.0  #: fraction of the steps over which lr rises linearly from ~0 (0: none)
    weight_decay: float = 0.0  #: the optimiser's own decay (decoupled for adamw)
    momentum: float = 0.0  #: sgd and rmsprop only
    shuffle: bool = True  #: reshuffle the samples every epoch (a pure function of seed and epoch)
    #: > 0: mixed batches for semi-supervised models whose train labels hold -1 (unlabelled): each
    #: batch takes this many labelled samples, cycled through reshuffled passes over the (small)
    #: labelled set, and batch_size - labelled_per_batch unlabelled ones; an epoch is one pass over
    #: the unlabelled samples (see mixed_epoch_order). 0: the plain order, labelled or not
    labelled_per_batch: int = 0
    seed: int = 0  #: the sample order, noise, dropout and data.limit's samples (and in aekit train, the weights)
    device: str = "auto"  #: "auto" picks CUDA when present, else CPU
    deterministic: bool = False  #: deterministic kernels and a fixed CPU thread count: a resumed run matches an uninterrupted one
    grad_clip: float | None = None  #: max global gradient norm; None = no clipping
    monitor: str = "val_loss"  #: what "best" means, lowest (an accuracy: highest); train_loss without validation
    early_stopping: int | None = None  #: patience in epochs; None = train all epochs
    min_delta: float = 0.0  #: smallest change of `monitor` that counts as an improvement
    restore_best: bool = False  #: end with the best weights instead of the last ones
    checkpoint_every: int = 1  #: epochs between checkpoints in the run folder
    #: minutes of training at most between checkpoints, one written inside an epoch where it is due (a kill, the
    #: out-of-memory killer, loses no more; under torchrun, at the epoch's end); None: at epochs' ends alone
    checkpoint_minutes: float | None = 30.0
    progress: bool = True  #: a line an epoch, and on a terminal a progress bar with the live loss
    log: tuple[Literal["csv", "tensorboard", "mlflow"], ...] = ()  #: loggers (training/loggers.py)
    log_every: int = 10  #: steps between the loggers' per-step values
    amp: Literal["off", "bf16", "fp16"] = "off"  #: autocast mixed precision (fp16 adds a GradScaler)
    compile: bool = False  #: torch.compile the model's forward; pays off on long GPU runs, not short ones
    memory_format: Literal["auto", "contiguous", "channels_last"] = "auto"  #: auto: channels_last for conv models
    nan_check_every: int | None = None  #: steps between NaN checks; None: every step on CPU, 32 on GPUs
    #: augmentation of image batches (N, C, H, W), drawn anew every step (data.batches.random_affine): each
    #: image turned by up to augment_rotate degrees, scaled by up to +-augment_scale, moved by up to
    #: augment_shift pixels; the model sees and reconstructs the moved image. All 0: none
    augment_rotate: float = 0.0
    augment_scale: float = 0.0  #: see augment_rotate
    augment_shift: float = 0.0  #: see augment_rotate
    augment_share: float = 1.0  #: the fraction of training images distorted (each drawn anew); the rest stay as they are

    def __post_init__(self) -> None:
        check_types(self)
        positive("epochs", self.epochs)
        check(0 <= self.seed <= SEED_MAX, "seed", f"must be in [0, {SEED_MAX}], got {self.seed}")
        positive("time_budget", self.time_budget, allow_none=True)
        check(0 <= self.warmup < 1, "warmup", f"must be a fraction in [0, 1), got {self.warmup}")
        positive("batch_size", self.batch_size)
        check(
            0 <= self.labelled_per_batch < self.batch_size, "labelled_per_batch",
            f"must be in [0, batch_size - 1] = [0, {self.batch_size - 1}] (0: plain batches), got {self.labelled_per_batch}",
        )
        positive("lr", self.lr)
        non_negative("lr_min", self.lr_min)
        check(self.lr_min <= self.lr, "lr_min", f"must be <= lr ({self.lr}), got {self.lr_min}")
        non_negative("weight_decay", self.weight_decay)
        check(0 <= self.momentum < 1, "momentum", f"must be in [0, 1), got {self.momentum}")
        unused = _unused(vars(self))  # settings that do something only beside another, given without it: refused
        check(self.momentum == 0 or not unused["momentum"], "momentum",
              f"only sgd and rmsprop take it, and optimizer is {self.optimizer!r}; leave momentum out (0)")
        check(self.lr_min == 0 or not unused["lr_min"], "lr_min",
              "is where the cosine schedule ends; lr_schedule is 'constant', which keeps lr: set lr_schedule=cosine")
        positive("grad_clip", self.grad_clip, allow_none=True)
        positive("early_stopping", self.early_stopping, allow_none=True)
        positive("checkpoint_every", self.checkpoint_every)
        check(self.checkpoint_minutes is None or self.checkpoint_minutes > 0, "checkpoint_minutes",
              f"must be minutes > 0, or null for checkpoints at epochs' ends alone, got {self.checkpoint_minutes}")
        non_negative("min_delta", self.min_delta)
        positive("nan_check_every", self.nan_check_every, allow_none=True)
        positive("log_every", self.log_every)
        check(len(set(self.log)) == len(self.log), "log", f"names a logger twice, got {list(self.log)}; give each once")
        check(0 <= self.augment_rotate <= 180, "augment_rotate", f"must be degrees in [0, 180], got {self.augment_rotate}")
        check(0 <= self.augment_scale < 1, "augment_scale", f"must be a fraction in [0, 1), got {self.augment_scale}")
        non_negative("augment_shift", self.augment_shift)
        check(0 < self.augment_share <= 1, "augment_share", f"must be a fraction in (0, 1], got {self.augment_share}")
        check(self.augment_share == 1 or not unused["augment_share"], "augment_share", "is the share of "
              "images augment_rotate, augment_scale and augment_shift distort, and all three are 0: give one, or leave "
              "augment_share out (1)")  # (a bug hunt: these two were taken and did nothing)
        check(self.log_every == 10 or not unused["log_every"], "log_every", "spaces the per-step values of tensorboard "
              "and mlflow, and train.log names neither (csv writes a row an epoch): add one (train.log=[tensorboard]), "
              "or leave log_every out")
        check(self.min_delta == 0 or not unused["min_delta"], "min_delta", "is the change of monitor that counts as "
              "better for early_stopping and restore_best, and neither is on: give one, or leave min_delta out (0)")
        check(known_device(self.device), "device", f"{self.device!r} is not allowed; choose {DEVICES}")


def without_ignored_training(values: dict[str, Any], where: Any) -> dict[str, Any]:
    """Saved training settings (a run's config.yaml, a checkpoint's) less what an older aekit took and did
    nothing with, now refused (momentum for an optimiser without it, lr_min without the cosine schedule),
    each left out with a note."""
    kept = dict(values)
    for key in [k for k, ignored in _unused(values).items() if ignored and kept.get(k, getattr(TrainConfig, k)) !=
                getattr(TrainConfig, k)]:
        warn(f"{where}: train.{key}={kept.pop(key)!r}, which this training did nothing with, is left out")
    if kept.get("monitor") == "time":  # (taken before 2026-12-07: an epoch's seconds chose "best", a review)
        warn(f"{where}: train.monitor='time' (an epoch's seconds) measures no best weights and is taken no longer: the "
             "training goes on by val_loss (train_loss without validation data)")
        kept.pop("monitor")
    return kept


def _unused(values: dict[str, Any]) -> dict[str, bool]:
    """For each setting that does something only beside another, whether `values` leave it nothing to do."""
    def get(key: str) -> Any:
        return values.get(key, getattr(TrainConfig, key))

    return {"momentum": get("optimizer") not in MOMENTUM, "lr_min": get("lr_schedule") != "cosine",
            "augment_share": not any(get(f"augment_{k}") for k in ("rotate", "scale", "shift")),
            "log_every": not set(get("log")) - {"csv"},  # (the CSV's rows are epochs': a settings hunt)
            "min_delta": get("early_stopping") is None and not get("restore_best")}


DEVICES = "auto, cpu, cuda, cuda:N or mps"


def known_device(name: Any) -> bool:
    return isinstance(name, str) and (name in ("auto", "cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", name) is not None)


def resolve_device(name: str) -> torch.device:
    if not known_device(name):
        raise ConfigError(f"device: {name!r} is not allowed; choose {DEVICES}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device: {name!r} was asked for but CUDA is not available; use auto or cpu")
    if name.startswith("cuda:") and int(name[5:]) >= (gpus := torch.cuda.device_count()):
        raise ConfigError(f"train.device: {name!r} was asked for but this machine has {gpus} CUDA GPU"
                          f"{'s' * (gpus != 1)}: cuda:0{f' to cuda:{gpus - 1}' if gpus > 1 else ''}, or cuda for the first")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.device: 'mps' was asked for but is not available; use auto or cpu")
    return torch.device(name)


def training_device(cfg: TrainConfig) -> torch.device:
    """The device `cfg` trains on in this process: under torchrun its own GPU; CUDA named as its tensors
    name it (cuda:0, not cuda)."""
    device = distributed.device(resolve_device(cfg.device))
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def make_optimizer(params, cfg: TrainConfig, *, device: torch.device | None = None) -> torch.optim.Optimizer:
    """The optimiser `cfg` names, with fused kernels where torch has them for `device`.

    A fused step is one kernel over all parameters instead of several per tensor: on the CPU the
    Adam step of the deep MNIST autoencoder runs ~5x faster (benchmarks/RESULTS.md).
    """
    params = [p for p in params if p.requires_grad]
    device = device if device is not None else (params[0].device if params else torch.device("cpu"))
    options: dict[str, Any] = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    if cfg.optimizer in MOMENTUM:
        options["momentum"] = cfg.momentum
    on_device = device.type in _fused_devices() and (cfg.optimizer not in FUSED_CPU_ONLY or device.type == "cpu")
    if cfg.optimizer in FUSED and on_device and all(p.is_floating_point() for p in params):
        options["fused"] = True
    return OPTIMIZERS[cfg.optimizer](params, **options)


def make_optimizers(model, cfg: TrainConfig, *, device: torch.device) -> dict[str, torch.optim.Optimizer]:
    """One optimiser per entry of `model.optimizer_groups()` (models/base.py), each over its own parameters."""
    groups = model.optimizer_groups() if hasattr(model, "optimizer_groups") else {"loss": list(model.parameters())}
    owned = [id(p) for params in groups.values() for p in params]
    if next(iter(groups)) != "loss" or len(owned) != len(set(owned)) or set(owned) != {id(p) for p in model.parameters()}:
        raise ConfigError(f"model '{model.name}': optimizer_groups must start with 'loss' and hold every parameter once")
    if frozen := [key for key, params in groups.items() if not any(p.requires_grad for p in params)]:  # (a hunt: torch's
        raise ConfigError(f"model '{model.name}': every parameter of its optimiser group {frozen[0]!r} is frozen "  # "empty
                          "(requires_grad False), and training steps each group: unfreeze some of them")  # parameter list")
    return {key: make_optimizer(params, cfg, device=device) for key, params in groups.items()}


def _fused_devices() -> list[str]:
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        return list(_get_fused_kernels_supported_devices())
    except ImportError:  # an older torch: fused kernels on CUDA only
        return ["cuda"]


def stream_seed(seed: int, *key: int) -> int:
    """A seed drawn from `seed` and `key` (numpy's SeedSequence), for a stream that must not repeat the one `seed`
    itself starts: training's noise, dropout and sampling, and each pretrained layer's weights, beside the initial
    weights `torch.manual_seed(seed)` drew (a bug hunt: a denoising run's first masks followed its first layer's
    weights, number for number)."""
    return int(np.random.SeedSequence([seed, *key]).generate_state(1, np.uint64)[0])


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool) -> Tensor:
    """The sample order of one epoch, a pure function of (seed, epoch), so resuming needs no RNG state."""
    if not shuffle:
        return torch.arange(n)
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


LABELLED_STREAM = 1 << 40  # seeds of the labelled passes start here, away from epoch_order's


def mixed_epoch_order(
    labelled: Tensor, unlabelled: Tensor, *, labelled_per_batch: int, batch_size: int, seed: int, epoch: int,
    shuffle: bool,
) -> Tensor:
    """The sample order of one epoch of mixed batches, a pure function of (seed, epoch) like `epoch_order`.

    `labelled` and `unlabelled` are the sample indices of each part. Batch b is positions
    [b * batch_size, (b + 1) * batch_size) of the result: `labelled_per_batch` labelled samples
    first, then batch_size - labelled_per_batch unlabelled ones (the last batch has fewer of
    those). The unlabelled samples are reshuffled each epoch and each is seen once; the labelled
    ones come from an endless stream of passes over the labelled set, pass j reshuffled by
    (seed, j). Every epoch has the same number of batches, so epoch e starts at position
    e * batches * labelled_per_batch of that stream: resuming needs no saved state. Under torchrun
    `distributed.shard` deals position p of a batch to rank p % world, so every rank's part of a
    batch holds labelled_per_batch / world labelled samples (as near as a whole number allows).
    """
    k, m, n = labelled_per_batch, batch_size - labelled_per_batch, len(labelled)
    batches = math.ceil(len(unlabelled) / m)
    start, stop = epoch * batches * k, (epoch + 1) * batches * k
    first, last = start // n, (stop - 1) // n  # the passes this epoch's labelled samples come from
    passes = [labelled[epoch_order(n, seed, LABELLED_STREAM + j, shuffle)] for j in range(first, last + 1)]
    drawn = torch.cat(passes)[start - first * n : stop - first * n].view(batches, k)  # (batches, k)
    shuffled = unlabelled[epoch_order(len(unlabelled), seed, epoch, shuffle)]
    full = (batches - 1) * m  # the unlabelled samples of every batch but the last
    whole = torch.cat([drawn[:-1], shuffled[:full].view(batches - 1, m)], dim=1)  # (batches - 1, batch_size)
    return torch.cat([whole.flatten(), drawn[-1], shuffled[full:]])


def scheduled_lr(cfg: TrainConfig, progress: float) -> float:
    """The learning rate when a fraction `progress` in [0, 1] of training is done (before warm-up)."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * min(progress, 1.0)))


def warmup_factor(cfg: TrainConfig, progress: float) -> float:
    """Linear warm-up over the first `cfg.warmup` of training (1 after it, or without warm-up)."""
    return 1.0 if progress >= cfg.warmup else max(progress, 1e-3 * cfg.warmup) / cfg.warmup


class Budget:
    """Training for `time_budget` seconds: how much is done, and when to stop.

    Progress is the fraction of the budget spent, counted in wall time from the start of `fit` (data
    checks and PCA fits excluded; validation and checkpoints included) and carried over by resume,
    which trains for what is left. In deterministic mode and under torchrun, wall time would make the
    schedule differ between runs (or ranks), so the budget becomes a number of steps: the first
    `CALIBRATION_STEPS` (at most one epoch) are timed and their pace sets `total_steps`; at the end of the
    first epoch that ends PLAN_SECONDS (or a tenth of the budget) after that timing began, the plan is made
    again from the pace of everything since, validation and the epochs' other work included (the training
    steps' pace alone left them out: runs of short epochs overran their budgets by 70%). That plan is final
    (`settled`): the first checkpoint comes after it and saves it, so a resumed run takes exactly the steps
    an uninterrupted one would.
    """

    CALIBRATION_STEPS = 20
    PLAN_SECONDS = 30.0

    def __init__(self, seconds: float, *, by_steps: bool) -> None:
        self.seconds = seconds
        self.by_steps = by_steps
        self.spent = 0.0  # seconds spent in earlier sessions of this run (resume)
        self.total_steps: int | None = None  # by_steps: the planned number of steps, once calibrated
        self.settled = not by_steps  # by_steps: whether total_steps is final (after_epoch)
        self._start = time.perf_counter()
        self._calibration: tuple[int, float] | None = None  # (step, time) where timing began

    def restart_clock(self) -> None:
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        return self.spent + time.perf_counter() - self._start

    def progress(self, step: int) -> float:
        if not self.by_steps:
            return self.elapsed() / self.seconds
        return 0.0 if self.total_steps is None else step / self.total_steps

    def after_step(self, step: int, steps_per_epoch: int) -> None:
        """Calibrate the step plan (by_steps only) from the pace of the first steps of the first epoch."""
        if not self.by_steps or self.total_steps is not None:
            return
        if self._calibration is None:
            self._calibration = (step, time.perf_counter())
            if steps_per_epoch > 1:  # the first step pays one-off costs: time from its end
                return
            self._calibration = (step - 1, self._start)  # one step an epoch: it is all there is to time
        first, t0 = self._calibration
        if step - first >= min(self.CALIBRATION_STEPS, steps_per_epoch - 1):
            self.total_steps = distributed.broadcast(self._plan(step))  # rank 0's plan, so every rank stops alike

    def _plan(self, step: int) -> int:
        """The step that spends the budget, at the pace of the steps since timing began (at least one more)."""
        first, t0 = self._calibration
        pace = (time.perf_counter() - t0) / (step - first)
        return max(step + 1, int(step + (self.seconds - self.elapsed()) / pace))

    def after_epoch(self, step: int) -> bool:
        """By steps, at an epoch's end: make the final plan once the pace has been timed long enough (see the
        class); returns whether the plan is final (always, by wall time)."""
        if self.settled or self.total_steps is None:
            return self.settled
        plan = None
        if step >= self.total_steps:  # the first plan ended training: it stands
            plan = self.total_steps
        elif time.perf_counter() - self._calibration[1] >= min(self.PLAN_SECONDS, 0.1 * self.seconds):
            plan = self._plan(step)
        plan = distributed.broadcast(plan)  # rank 0's decision, so every rank plans alike
        if plan is not None:
            self.total_steps, self.settled = plan, True
        return self.settled

    def state_dict(self) -> dict[str, Any]:
        return {"spent": self.elapsed(), "total_steps": self.total_steps}

    def load_state_dict(self, state: dict[str, Any], *, seconds: float | None = None) -> None:
        """A checkpoint's state; `seconds`, the budget it was saved under: another one now (a resume given a new
        total) scales a planned number of steps with it."""
        self.spent, self.total_steps = state["spent"], state["total_steps"]
        self.settled = self.settled or self.total_steps is not None  # a checkpoint's plan is final
        if self.total_steps is not None and seconds and self.seconds != seconds:
            self.total_steps = round(self.total_steps * self.seconds / seconds)
        self.restart_clock()


def _autocast(device: torch.device, amp: str):
    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def uses_convolutions(model) -> bool:
    return any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in model.modules())


@torch.no_grad()
def evaluate(model, data: Any, *, batch_size: int = 512, device: str | torch.device | None = None) -> dict[str, float]:
    """Mean of every loss term over `data`, in eval mode (no noise, no dropout). A loss that draws (a WAE's or
    an AAE's prior samples, an IWAE's k codes) draws the same numbers at every call on a CPU or a CUDA device,
    so that epochs' validation losses compare and restore_best picks by the model, not the draw; the caller's
    random stream is left as it was."""
    x, y = as_inputs(data, "eval data")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    sums: dict[str, float] = {}
    dtype = model_dtype(model)  # a float64 model (documented) takes float64 batches (a bug hunt: torch's dtype error)
    cuda = device.type == "cuda"  # (the CPU's generator and this device's, not every device's: MPS is not forked)
    with eval_mode(model), torch.random.fork_rng(devices=[device] if cuda else []):
        torch.random.default_generator.manual_seed(0)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(0)
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size].to(device, dtype, non_blocking=True)
            yb = y[start : start + batch_size].to(device) if y is not None else None
            out = model(xb, y=yb) if getattr(model, "conditional", False) else model(xb)
            for key, value in model.loss(xb, out, y=yb).items():
                sums[key] = sums.get(key, 0.0) + float(value) * xb.shape[0]
    return {k: v / x.shape[0] for k, v in sums.items()}


START_SAID_VALUES = 20_000_000  # a model's start from data of more values than this is said (3072-wide rows: ~45 s)


class Trainer:
    """State of one training run; callbacks receive it and may set `stop_training`."""

    def __init__(self, model, cfg: TrainConfig, *, callbacks: Sequence[Callback], run_dir: Path | None) -> None:
        self.model = model
        self.config = cfg
        self.callbacks = list(callbacks)
        self.run_dir = run_dir
        distributed.init()  # a no-op unless started by torchrun
        self.rank, self.world = distributed.rank(), distributed.world_size()
        self.is_main = self.rank == 0
        distributed.check_batch(cfg.batch_size, self.world)
        self.device = training_device(cfg)
        if not any(p.requires_grad for p in model.parameters()):  # (torch's optimiser said "empty parameter list")
            name = getattr(model, "name", type(model).__name__)
            raise ConfigError(f"model: every parameter of {name} is frozen (requires_grad False): unfreeze those to "
                              "train (model.requires_grad_(True) for all)" if any(True for _ in model.parameters())
                              else f"model: {name} has no parameters to train (make its layers in __init__)")
        model.to(self.device)  # first: Adagrad builds its state beside the weights as it is made
        self.optimizers = make_optimizers(model, cfg, device=self.device)  # loss key -> optimiser; most have one
        self.optimizer = self.optimizers["loss"]
        scales = cfg.amp == "fp16" and self.device.type in ("cuda", "cpu")
        self.scaler = torch.amp.GradScaler(self.device.type) if scales else None
        # channels-last convolutions: 1.5-1.8x faster for the conv AE on a CPU (benchmarks/RESULTS.md), and on GPUs
        self.channels_last = uses_convolutions(model) and cfg.memory_format != "contiguous"
        self.nan_check_every = cfg.nan_check_every or (1 if self.device.type == "cpu" else ACCELERATOR_NAN_CHECK_EVERY)
        self.forward = model  # what the batches go through: the model, under DDP and/or torch.compile
        self.ddp = None  # the DistributedDataParallel wrapper under torchrun
        self.ddp_checked = False  # whether its first backward reached every parameter (distributed.check_used)
        self.data_print: dict[str, Any] | None = None  # which training data it trains on (data_print), checkpointed
        self.checkpointed_print: dict[str, Any] | None = None  # what its folder's checkpoint records as its data
        self.val_print: dict[str, Any] | None = None  # and which validation inputs its best is measured on
        self.epoch = 0  # epochs completed
        self.global_step = 0
        self.history: dict[str, list[float]] = {}
        self.bar: Any = None  # the progress bar, made by the first epoch
        self.sign = -1 if cfg.monitor.endswith("accuracy") else 1  # an accuracy is best highest, the rest lowest
        self.best_value = self.sign * math.inf
        self.best_epoch = 0
        self.epochs_since_best = 0
        self.best_state: dict[str, Tensor] | None = None
        self.best_saved = True  # best_state is in best.safetensors (or there is none)
        self.best_from_start = False  # a resume whose best is measured afresh, its start a candidate (load_checkpoint)
        self.monitored = cfg.monitor  # what "best" is measured by: train_loss where val_loss is not logged
        # a fair share of a busy CPU; a deterministic run keeps one thread count (sums of batch norm and
        # convolutions depend on how many threads split them)
        self.threads = ThreadGovernor(enabled=self.device.type == "cpu" and not cfg.deterministic)
        self.stop_training = False
        self.stop_reason = ""
        by_steps = cfg.deterministic or distributed.active()
        self.budget = Budget(cfg.time_budget, by_steps=by_steps) if cfg.time_budget is not None else None
        self.train_data: tuple[Tensor | MemmapArray, Tensor | None] | None = None  # (x, y), set by fit
        self.mixed: tuple[Tensor, Tensor] | None = None  # (labelled, unlabelled) indices for mixed batches
        self.val_data: tuple[Tensor | MemmapArray, Tensor | None] | None = None
        self.in_epoch: dict[str, Any] | None = None  # the epoch in progress, as a checkpoint inside it keeps it
        self.epoch_started = 0.0  # when this epoch began (less the seconds of its part a checkpoint inside it kept)
        self.saved_at = 0.0  # when this session last wrote a checkpoint (or began training)
        self.stops = StopSignals(say=cfg.progress and self.is_main)  # put off during an epoch (training/stops.py)

    @property
    def augments(self) -> bool:
        cfg = self.config
        return cfg.augment_rotate > 0 or cfg.augment_scale > 0 or cfg.augment_shift > 0

    def progress(self) -> float:
        """The fraction of training done: of the time budget, or of the epochs."""
        if self.budget is not None:
            return min(1.0, self.budget.progress(self.global_step))
        return self.epoch / self.config.epochs

    # --- checkpoints ------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        assert self.run_dir is not None
        if not self.run_dir.is_dir():  # removed while it trained: not made again holding a checkpoint alone (a kill trial)
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(self.run_dir))
        self._check_weights()  # NaN weights never reach a checkpoint
        if not self.best_saved and self.best_state is not None:  # first, so a checkpoint never names a lost best
            ckpt.save_model(self.model, self.run_dir / ckpt.BEST_FILE, state=self.best_state)
            self.best_saved = True
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        optim_meta = {}  # loss key -> the optimiser's state that is not tensors
        for key, optimizer in self.optimizers.items():
            optim_tensors, optim_meta[key] = ckpt.optimizer_to_tensors(optimizer, key)
            tensors.update(optim_tensors)
        tensors.update(ckpt.rng_to_tensors())
        more = {k: v for k, v in optim_meta.items() if k != "loss"}  # a model's other optimisers (optimizer_groups)
        states = [_callback_state(cb) for cb in self.callbacks]
        meta = {
            **ckpt.model_meta(self.model),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "history": self.history,
            "train_config": to_dict(self.config),
            "optimizer": optim_meta["loss"],
            **({"more_optimizers": more} if more else {}),
            # the weights each optimiser steps, and those frozen (requires_grad False, by the user or a callback of
            # theirs, maybe after the optimiser was made): a resume makes them so again (a hunt: aekit resume's model
            # trained all, and the optimiser's state did not fit it: "unexpected", or a segfault where counts agreed)
            "trained": {key: self.param_names(optimizer) for key, optimizer in self.optimizers.items()},
            **({"frozen": frozen} if (frozen := [name for name, p in self.model.named_parameters() if not p.requires_grad])
               else {}),
            "best": {"value": self.best_value if math.isfinite(self.best_value) else None,
                     "epoch": self.best_epoch, "since": self.epochs_since_best, "monitor": self.monitored},
            "callback_states": [{"callback": _callback_name(cb), "state": state} for cb, state in zip(self.callbacks, states)],
            "callbacks": states,  # (as an earlier aekit reads them, by position: a resume there keeps them)
            "budget": self.budget.state_dict() if self.budget is not None else None,
            **({"grad_scaler": self.scaler.state_dict()} if self.scaler is not None else {}),  # fp16's loss scale
            "processes": self.world,
            **({"threads": sorted(self.threads.used)} if self.device.type == "cpu" else {}),  # (a reproducibility trial)
            "data": self.data_print,
            "val_data": self.val_print,
            **({"in_epoch": self.in_epoch} if self.in_epoch is not None else {}),
            # a callback's stop (early stopping), kept for a resume of a run killed before its model was written
            **({"stopped": self.stop_reason} if self.stop_training else {}),
        }
        with signals_held():  # the two together (a hunt: a second Ctrl-C between them left history.json an epoch
            ckpt.write(self.run_dir / ckpt.CHECKPOINT_FILE, tensors, meta)  # behind the checkpoint)
            atomic_write_text(self.run_dir / ckpt.HISTORY_FILE, json.dumps(self.history, indent=1))
        self.checkpointed_print = self.data_print
        self.saved_at = time.perf_counter()
        for cb in self.callbacks:
            cb.on_checkpoint(self)

    def checkpoint_overdue(self, *, inside: bool = False) -> bool:
        """Whether `checkpoint_minutes` have passed since the last checkpoint (or the start) of a run that writes
        one; `inside` an epoch, in a single process only (under torchrun every process would need to agree on it
        each step)."""
        minutes = self.config.checkpoint_minutes
        return (minutes is not None and self.run_dir is not None and not (inside and self.world > 1)
                and time.perf_counter() - self.saved_at >= 60 * minutes)

    def param_names(self, optimizer: torch.optim.Optimizer) -> list[str]:
        """The names of the model's weights `optimizer` steps, in its order."""
        names = {id(p): name for name, p in self.model.named_parameters()}
        return [names.get(id(p), "?") for group in optimizer.param_groups for p in group["params"]]

    def load_checkpoint(self) -> None:
        assert self.run_dir is not None
        path = self.run_dir / ckpt.CHECKPOINT_FILE
        tensors, meta = ckpt.read(path)  # (its model and config: checked by `fit` before config.yaml was written)
        ckpt.load_state(self.model, ckpt.prefixed(tensors, "model."), path)
        self.model.to(self.device)
        metas = {"loss": meta["optimizer"], **meta.get("more_optimizers", {})}
        for key, optimizer in self.optimizers.items():
            saved, now = (meta.get("trained") or {}).get(key), self.param_names(optimizer)
            if saved is not None and saved != now:  # other weights trainable now: said, not torch's "doesn't match the
                def listed(names: list[str]) -> str:  # size", or a segfault where the counts agreed (a hunt)
                    return ", ".join(names[:4]) + ", ..." * (len(names) > 4)

                ran, runs = sorted(set(saved) - set(now)), sorted(set(now) - set(saved))
                raise CheckpointError(f"{path}: its optimiser ({key}) stepped weights this model does not train "
                                      f"(requires_grad), or the reverse: " + "; ".join(
                                          [f"only the run trained {listed(ran)}"] * bool(ran) +
                                          [f"only this model trains {listed(runs)}"] * bool(runs) or ["their order"]) +
                                      "; make the same ones trainable to resume it")
            # the state (moments, step counts) is the checkpoint's; the settings are this configuration's, as built:
            # weight_decay, momentum, betas given at a resume (a bug hunt: the old ones stepped, config.yaml said the
            # new), and how to step, this machine's choice (fused, foreach: set before loading, where Adam puts its
            # step counts on the device for fused kernels, on the CPU otherwise)
            groups = [{**group, **{k: v for k, v in built.items() if k != "params"}}
                      for group, built in zip(metas[key]["param_groups"], optimizer.param_groups)]
            try:
                ckpt.optimizer_from_tensors(optimizer, tensors, {**metas[key], "param_groups": groups}, key)
            except CheckpointError as err:
                raise CheckpointError(f"{path}: {err}") from None
        params = dict(self.model.named_parameters())
        for name in meta.get("frozen") or ():  # frozen as they were (by a callback, after its optimiser was made)
            if name in params:
                params[name].requires_grad_(False)
        ckpt.rng_from_tensors(tensors)  # (rank 0's: other ranks seed their own at each epoch's start)
        self.epoch = meta["epoch"]
        self.global_step = meta["global_step"]
        self.history = meta["history"]
        self.in_epoch = meta.get("in_epoch")  # checkpointed inside an epoch: train_epoch goes on from its step
        if (reason := ckpt.callback_stop(meta, self.config.epochs, self.config.time_budget)) is not None:
            self.stop_training, self.stop_reason = True, reason
        if "epoch" in self.history and "step" not in self.history:  # a checkpoint from before steps were recorded
            self.history["step"] = [None] * len(self.history["epoch"])
        best = meta["best"]
        self.best_value = self.sign * math.inf if best["value"] is None else best["value"]
        self.best_epoch, self.epochs_since_best = best["epoch"], best["since"]
        self._load_callbacks(meta)
        self.threads.used.update(meta.get("threads", []))
        trained_on = meta.get("data")  # (None: saved before it was recorded)
        self.checkpointed_print = trained_on
        other_data = trained_on not in (None, self.data_print)
        # its best measured on other validation inputs (or other training data, without them): kept, it would undo
        # all this training; labels alone, or other training data beside the same validation inputs, keep it
        by_val = "val_data" in meta and self.val_print and not self.config.monitor.startswith("train_")
        other_best = meta["val_data"] != self.val_print if by_val else other_data  # (a train_ monitor: the training data's)
        monitor = self.config.monitor  # what this session's best is measured by (train_loss without validation data)
        monitor = "train_loss" if monitor.startswith("val_") and self.val_print is None else monitor
        best_file = self.run_dir / ckpt.BEST_FILE
        then = best.get("monitor")  # (None: saved before it was recorded)
        if best["value"] is not None and not other_best and then not in (None, monitor):  # (a bug hunt: the new metric
            if self.is_main:  # was compared with the old one's best, and early stopping ended the run)
                warn(f"{self.run_dir}: its best so far ({then} {best['value']:.4g} at epoch {best['epoch']}) was measured "
                     f"by {then}, and this resume monitors {monitor}: its best is measured from here on")
            other_best = True
        unsaved = self.config.restore_best and best["value"] is not None and not other_best and not best_file.is_file()
        if unsaved:  # restore_best asked now, its best's weights never saved (a bug hunt: the last epoch's came back)
            if self.is_main:
                warn(f"{self.run_dir}: no weights of its best so far (epoch {best['epoch']}) were saved (restore_best was "
                     "off): the weights it resumes from and later epochs' are the candidates")
            other_best = self.best_from_start = True
        if other_best:
            self.best_value, self.best_epoch, self.epochs_since_best = self.sign * math.inf, self.epoch, 0
        if other_data and self.is_main:  # (a production trial: restore_best kept the old weights, unsaid)
            now, then = self.data_print, trained_on  # (a resume trial: data.name edited in config.yaml, unsaid)
            what = ("as many samples, other ones" if (now["samples"], now["shape"]) == (then["samples"], then["shape"])
                    else f"{now['samples']:,} samples of shape {tuple(now['shape'])}; {then['samples']:,} of "
                         f"{tuple(then['shape'])} then")
            kept = (f", its best so far ({self.monitored}) measured from here on" if other_best else
                    f", its best so far ({self.monitored} {self.best_value:.4g} at epoch {self.best_epoch}, on the same "
                    "validation inputs) kept: restore_best ends on it unless these data train a better one")
            warn(f"{self.run_dir}: the training data are not the ones its checkpoint trained on ({what}); it goes on "
                 f"with these{kept}")
        saved = meta.get("processes")  # (None: saved before it was recorded)
        if saved not in (None, self.world) and self.is_main:
            same = f"--distributed --nproc {saved}" if saved > 1 else "a resume without --distributed"
            warn(f"{self.run_dir} trained in {saved} process{'es' * (saved > 1)} and continues in {self.world}: the same "
                 f"steps on the same samples, with numbers that agree to float rounding (dropout's masks and batch "
                 f"norm's statistics differ); {same} continues it as it was")
        if self.budget is not None and meta.get("budget") is not None:
            self.budget.load_state_dict(meta["budget"], seconds=meta.get("train_config", {}).get("time_budget"))
        if self.scaler is not None and meta.get("grad_scaler"):  # (a review: it started again at 65536, skipping steps)
            self.scaler.load_state_dict(meta["grad_scaler"])
        if self.config.restore_best and best_file.is_file() and not other_best:
            self.best_state = ckpt.prefixed(ckpt.read(best_file)[0], "model.")

    def _load_callbacks(self, meta: dict[str, Any]) -> None:
        """Each callback takes the saved state of its own class (the first not taken, in order), so one added,
        removed or moved hands none another's (an extension trial: MLflow's logger took a counter's, and
        opened a new MLflow run)."""
        if "callback_states" not in meta:  # a checkpoint of an earlier aekit: the states by position alone
            for cb, state in zip(self.callbacks, meta.get("callbacks", [])):
                cb.load_state_dict(state)
            return
        left = list(meta["callback_states"])
        for cb in self.callbacks:  # its class's state, else that of a class of its name (a script's, now a module's)
            name = _callback_name(cb)
            match = next((entry for entry in left if entry["callback"] == name), None) or next(
                (entry for entry in left if entry["callback"].rpartition(".")[2] == name.rpartition(".")[2]), None)
            if match is not None:
                cb.load_state_dict(match["state"])
                left.remove(match)
        lost = sorted({entry["callback"] for entry in left if entry["state"]})
        if lost and self.is_main:
            warn(f"{self.run_dir}: its checkpoint holds the state of callback {', '.join(lost)}, which this resume is "
                 "not given: it goes on without it (give it again to go on with its state)")

    # --- the loop -----------------------------------------------------------------------------
    def _track_best(self, logs: dict[str, float]) -> None:
        # `check` refused a monitor that is not logged; val_loss falls back to train_loss without validation
        key = self.monitored = self.config.monitor if self.config.monitor in logs else "train_loss"
        value = logs[key]
        if self.sign * value < self.sign * self.best_value - self.config.min_delta:
            self._new_best(value)
        else:
            self.epochs_since_best += 1

    def _new_best(self, value: float) -> None:
        self.best_value, self.best_epoch, self.epochs_since_best = value, self.epoch, 0
        if self.config.restore_best:  # written to best.safetensors with the next checkpoint
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.best_saved = False

    def _start_best(self, val_data) -> None:
        """With restore_best, the weights before the first step count as a candidate: a model started
        from a good solution (e.g. PCA's, models/pca.py) never ends worse than its start."""
        if not (self.config.restore_best and val_data is not None and self.config.monitor.startswith("val_")):
            return
        logs = {f"val_{k}": v for k, v in evaluate(self.model, val_data, device=self.device).items()}
        if self.config.monitor in logs:  # every rank holds the same weights and data: all decide alike
            self._new_best(logs[self.config.monitor])

    def _batch(self, data: Tensor | MemmapArray | None, idx: Tensor, *, augment: bool = False) -> Tensor | None:
        """Rows `idx` of `data` on the training device (memory-mapped rows are read here), distorted
        as `train.augment_*` say when `augment`."""
        if data is None:
            return None
        batch = data[idx]
        if batch.device != self.device:
            if self.device.type == "cuda":
                batch = batch.pin_memory()  # so the copy below runs alongside the GPU's work
            batch = batch.to(self.device, non_blocking=True)
        if augment and self.augments:
            cfg = self.config
            batch = random_affine(batch, rotate=cfg.augment_rotate, scale=cfg.augment_scale, shift=cfg.augment_shift,
                                  share=cfg.augment_share)
        if self.channels_last and batch.ndim == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _check_finite(self, losses: list[Tensor], b: int) -> float:
        """The losses of batches b - len(losses) + 1 .. b read back; raise naming the first non-finite one."""
        values = [losses[0].item()] if len(losses) == 1 else torch.stack(losses).float().cpu().tolist()
        for i, value in enumerate(values):
            if not math.isfinite(value):
                batch = b - len(values) + 2 + i
                self._diverged("loss", value, f"at epoch {self.epoch + 1}, batch {batch}",
                               first=self.epoch == 0 and batch == 1)  # no step yet: no learning rate could have done it
        return values[-1]

    def _diverged(self, what: str, value: float, where: str, *, first: bool = False) -> None:
        """Raise NonFiniteLossError for `what` ("loss", "validation loss") become `value` `where`, naming the
        checkpoint kept and what to try."""
        kept = ""
        if self.run_dir is not None:
            saved = (self.run_dir / ckpt.CHECKPOINT_FILE).is_file()
            kept = f" and the last good checkpoint in {self.run_dir} was kept" if saved else " before its first checkpoint"
        advice = ("before any step: the model's loss is not finite on the data as given; scale them "
                  "(standardised, or to [0, 1]) or look for extreme values" if first else
                  "try a lower learning rate (train.lr) or gradient clipping (train.grad_clip)")
        raise NonFiniteLossError(f"the {what} became {value} {where}; training stopped{kept}; {advice}",
                                 value=value, where=where, first=first)

    def _check_weights(self) -> None:
        """Raise where the weights about to be checkpointed give a non-finite loss on a training batch: the losses
        checked before each step leave the last step's weights unchecked (a bug hunt: a diverged last step was
        kept as "the last good checkpoint", and no resume could leave it). At an epoch's end the validation loss
        checks them where there is one, and under torchrun (every process must decide alike)."""
        if self.world > 1 or self.train_data is None or (self.val_data is not None and self.in_epoch is None):
            return
        x, y = self.train_data
        idx = torch.arange(min(self.config.batch_size, len(x)))
        xb, yb = self._batch(x, idx), self._batch(y, idx)
        value = evaluate(self.model, (xb, yb) if yb is not None else xb, device=self.device)["loss"]
        if not math.isfinite(value):
            self._diverged("loss", value, f"after step {self.global_step:,}, as a checkpoint was due")

    def losses(self, xb: Tensor, yb: Tensor | None) -> dict[str, Tensor]:
        """The model's loss terms of one batch (forward pass and `loss`, under autocast)."""
        # with several optimisers DDP's reducer would wait for gradients a step does not make (the other
        # optimisers' parameters): `optimizer_step` averages its own parameters' gradients instead
        unsynced = self.ddp is not None and len(self.optimizers) > 1
        with _autocast(self.device, self.config.amp), self.ddp.no_sync() if unsynced else contextlib.nullcontext():
            out = self.forward(xb, y=yb) if getattr(self.model, "conditional", False) else self.forward(xb)
            return self.model.loss(xb, out, y=yb)

    def optimizer_step(self, key: str, loss: Tensor, scale: float = 1.0) -> None:
        """Minimise `loss` one step with the optimiser of loss entry `key` (its own parameters only);
        `scale` weighs this rank's share of the batch (distributed.share)."""
        optimizer = self.optimizers[key]
        loss = loss if scale == 1 else loss * scale
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.model.zero_grad(set_to_none=True)  # every parameter: another optimiser's gradients are not this step's
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        if self.ddp is not None and len(self.optimizers) > 1:
            distributed.average_gradients(params)
        elif self.ddp is not None and not self.ddp_checked:  # its first step in this process
            self.ddp_checked = True
            distributed.check_used(self.model)
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()

    def _mixed_parts(self, y: Tensor | None) -> tuple[Tensor, Tensor] | None:
        """(labelled, unlabelled) sample indices for mixed batches (train.labelled_per_batch), or None."""
        k = self.config.labelled_per_batch
        if k == 0:
            return None
        what = f"train.labelled_per_batch: {k}"
        if model_kind(self.model) != "semi-supervised":
            raise DataError(
                f"{what} is for semi-supervised models (such as ladder or m2), and model "
                f"'{getattr(self.model, 'name', type(self.model).__name__)}' is not one; set it to 0"
            )
        if y is None:
            raise DataError(f"{what} needs training labels, with -1 for the unlabelled samples")
        unlabelled = y.cpu() == -1
        if not unlabelled.any():
            raise DataError(f"{what}, but every training sample is labelled (no label is -1); set it to 0 for plain batches")
        if unlabelled.all():
            raise DataError(f"{what}, but no training sample is labelled (every label is -1); give some labels")
        return torch.nonzero(~unlabelled).flatten(), torch.nonzero(unlabelled).flatten()

    def epoch_order(self, n: int) -> Tensor:
        """This epoch's sample order over the `n` training samples (before sharding)."""
        cfg = self.config
        if self.mixed is None:
            return epoch_order(n, cfg.seed, self.epoch, cfg.shuffle)
        return mixed_epoch_order(*self.mixed, labelled_per_batch=cfg.labelled_per_batch, batch_size=cfg.batch_size,
                                 seed=cfg.seed, epoch=self.epoch, shuffle=cfg.shuffle)

    def train_epoch(self, x: Tensor | MemmapArray, y: Tensor | None) -> dict[str, float]:
        cfg, model, device = self.config, self.model, self.device
        started = time.perf_counter()
        full = self.epoch_order(len(x))
        order = distributed.shard(full, self.rank, self.world).to(x.device)
        batch_size = cfg.batch_size // self.world  # this process's part of the global batch
        n_batches = math.ceil(len(full) / cfg.batch_size)  # the same on every rank
        budget, steps = self.budget, cfg.epochs * n_batches  # steps: the whole run's, without a budget
        sums: dict[str, Tensor] = {}
        seen = 0  # samples this process trained on (a budget can end an epoch early)
        first, part, self.in_epoch = 0, self.in_epoch, None
        if part is not None and (part["samples_in_data"], part["batches_of"]) == (len(full), n_batches):
            first = part["batches"]  # a checkpoint inside it: the epoch goes on from its step, its part counted once (on
            seen = part["samples"] if self.is_main else 0  # rank 0, resumed under torchrun: a review saw it twice)
            sums = {key: torch.tensor(value if self.is_main else 0.0, device=device) for key, value in part["sums"].items()}
        elif part is not None:
            if self.is_main:
                warn(f"{self.run_dir}: its checkpoint was made {part['batches']:,} steps into epoch {self.epoch + 1}, "
                     f"of {part['batches_of']:,} steps over {part['samples_in_data']:,} samples, and this resume makes "
                     f"{n_batches:,} over {len(full):,}: epoch {self.epoch + 1} starts again")
            part = None
        if part is None:  # (a stop's part of it: begun before it)
            for cb in self.callbacks:
                cb.on_epoch_begin(self)
        self.epoch_started = started - (part or {}).get("seconds", 0.0)  # (the seconds of the part kept count)
        unchecked: list[Tensor] = []  # losses not yet read back (accelerators read them in groups)
        loss_value: float | None = None  # the latest loss read back
        model.train()
        desc = f"epoch {self.epoch + 1}" + ("" if budget else f"/{cfg.epochs}")
        if self.bar is None and cfg.progress and self.is_main:
            _note_notebook_bar()
        if self.bar is None:  # one bar for the whole run, reset each epoch (a notebook shows one widget, not one an epoch)
            self.bar = progress_bar(total=n_batches, desc=desc, leave=False, dynamic_ncols=True,
                                    shown=cfg.progress and self.is_main)
        else:
            self.bar.set_description(desc, refresh=False)
            self.bar.set_postfix_str("", refresh=False)  # the last epoch's loss is not this one's
            self.bar.reset(total=n_batches)
        bar = self.bar
        bar.update(first)
        for b in range(first, n_batches):
            self.threads.update()
            if budget is not None:
                progress = budget.progress(self.global_step)
                if progress >= 1.0:
                    if unchecked:  # the losses since the last check: NaN weights never reach a checkpoint
                        self._check_finite(unchecked, b - 1)
                    break
                lr = scheduled_lr(cfg, progress)
            else:  # the decay follows the epoch, so resuming needs no state; only a warm-up moves per step
                progress = (self.epoch * n_batches + b) / steps
                lr = scheduled_lr(cfg, self.epoch / cfg.epochs)
            for optimizer in self.optimizers.values():
                for group in optimizer.param_groups:
                    group["lr"] = lr * warmup_factor(cfg, progress)
            idx = order[b * batch_size : (b + 1) * batch_size]
            weight = len(idx)  # fewer (or none) in a last batch that does not split over the processes
            scale = distributed.share(weight, min(cfg.batch_size, len(full) - b * cfg.batch_size), self.world)
            if not weight:  # DDP needs every rank in every step: a batch that counts for nothing
                idx = order[:batch_size]
            xb = self._batch(x, idx, augment=True)
            yb = self._batch(y, idx)
            terms = self.losses(xb, yb)
            loss = terms["loss"]
            unchecked.append(loss.detach())
            if len(unchecked) >= self.nan_check_every or b == n_batches - 1:
                loss_value = self._check_finite(unchecked, b)  # before the step: NaNs never reach a checkpoint
                unchecked.clear()
            self.optimizer_step("loss", loss, scale)
            for key in list(self.optimizers)[1:]:  # a model's other optimisers in turn, each after a new forward
                self.optimizer_step(key, self.losses(xb, yb)[key], scale)
            self.global_step += 1
            if budget is not None:
                if budget.by_steps and budget.total_steps is None and device.type == "cuda":  # the pace of steps done,
                    torch.cuda.synchronize(device)  # not of kernels queued (a review of the GPU paths)
                budget.after_step(self.global_step, n_batches)
            seen += weight
            for key, value in terms.items():  # a term made on another device (a user's loss) joins here
                value = value.detach().float().to(device, non_blocking=True)
                if key in sums:
                    sums[key].add_(value, alpha=weight)
                else:
                    sums[key] = value * weight
            if self.callbacks:  # detached: a callback that keeps them does not keep every step's graph
                terms = {key: value.detach() for key, value in terms.items()}
            for cb in self.callbacks:
                cb.on_batch_end(self, b, terms)
            bar.update(1)
            ends = self.stop_training or (budget is not None and budget.progress(self.global_step) >= 1.0)
            if self.stops.asked is not None and not ends:  # (training ends: fit's checkpoint)
                self._save_in_epoch(b + 1, n_batches, len(full), sums, seen, unchecked)
                self.stops.answer()
            elif (b + 1 < n_batches and not ends and self.checkpoint_overdue(inside=True)  # (the epoch's end: fit's)
                  and (budget is None or budget.settled)):
                self._save_in_epoch(b + 1, n_batches, len(full), sums, seen, unchecked)
            if self.stop_training and self.world == 1:  # a callback stopped it (under torchrun: at the epoch's end,
                if unchecked:  # where the processes agree), after a check of the losses since the last one
                    self._check_finite(unchecked, b)
                break
            if loss_value is not None and (b % 10 == 0 or b == n_batches - 1):
                bar.set_postfix(loss=f"{loss_value:.4g}", refresh=False)
        if not sums:  # the budget ran out before this epoch's first step
            return {}
        keys = list(sums)  # the model's order, the same on every rank
        counted = torch.stack([*(sums[k] for k in keys), torch.tensor(float(seen), device=device)])
        *totals, samples = distributed.all_sum(counted).tolist()  # one read-back per epoch
        return {f"train_{k}": v / samples for k, v in zip(keys, totals)}

    def _save_in_epoch(self, batches: int, batches_of: int, samples_in_data: int, sums: dict[str, Tensor], seen: int,
                       unchecked: list[Tensor]) -> None:
        """A checkpoint of the epoch so far, `batches` steps into it, for a stop signal or `checkpoint_minutes` (where a
        step plan is final: a budget's checkpoints save only a final one)."""
        if unchecked:  # NaN weights never reach a checkpoint
            self._check_finite(unchecked, batches - 1)
            unchecked.clear()
        if self.budget is None or self.budget.settled:
            self.in_epoch = {"batches": batches, "batches_of": batches_of, "samples_in_data": samples_in_data,
                             "samples": seen, "sums": {key: value.item() for key, value in sums.items()},
                             "seconds": time.perf_counter() - self.epoch_started}
            self.save_checkpoint()
            self.in_epoch = None

    def _prepare(self, x: Tensor | MemmapArray, y: Tensor | None) -> tuple[Tensor | MemmapArray, Tensor | None]:
        """Move the model (and data that fits) to the device; wrap the forward for DDP and compile."""
        model = self.model
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
            for optimizer in self.optimizers.values():  # a resumed state (saved contiguous) in its weight's layout:
                for param, state in optimizer.state.items():  # fused kernels walk both in memory order (a GPU review)
                    for key, value in state.items():
                        if isinstance(value, Tensor) and value.shape == param.shape and value.dim() == 4:
                            state[key] = torch.empty_like(param).copy_(value)
        if distributed.active():
            self.forward = self.ddp = distributed.wrap(model, self.device)
        if self.config.compile:
            self.forward = torch.compile(self.forward)
        if self.device.type == "cuda" and isinstance(x, Tensor):
            try:  # one tensor on the device; batches are slices of it
                x, y = x.to(self.device), (y.to(self.device) if y is not None else None)
            except torch.cuda.OutOfMemoryError:  # too big: keep it on the host, copy each batch over
                x, y = x.cpu(), (y.cpu() if y is not None else None)
        return x, y

    def check(self, train: Any, val: Any = None) -> tuple[tuple[Tensor | MemmapArray, Tensor | None], Any]:
        """((x, y), validation (x, y) or None) from `train` and `val`, checked against the model and
        the settings: what training would refuse is refused here, before any step or file."""
        x, y = as_inputs(train, "train data")
        check_inputs(self.model, x, y)
        if getattr(self.model, "conditional", False) and y is None and self.is_main:
            warn(f"{self.model.name}: the training data have no labels; it learns as a plain model, its label input "
                 "left at zero (give (x, y), or data with labels, to condition on classes)")
        self.classes = getattr(train, "classes", None)  # a Dataset's class names, which loggers show
        val_data = None if val is None else as_inputs(val, "validation data")
        if val_data is not None:
            try:
                check_inputs(self.model, *val_data)
            except DataError as err:
                raise DataError(f"validation data: {err}") from None
        self.check_settings(x, y, val_data)
        if isinstance(self.model, Autoencoder) and type(self.model).__module__.partition(".")[0] != "aekit":  # your own
            check_contract(self.model, x[:2], None if y is None else y[:2])  # (after its settings: a float64 one said)
        return (x, y), val_data

    def check_settings(self, x: Tensor | MemmapArray, y: Tensor | None, val_data: Any) -> None:
        """Refuse the settings that do not fit the model or these data (`check` has checked their values);
        sets `self.mixed`."""
        cfg, model = self.config, self.model
        odd = sorted({str(p.dtype).removeprefix("torch.") for p in model.parameters() if p.dtype != torch.float32})
        if odd:  # else a dtype error at the first step; mixed precision is train.amp's
            raise ConfigError(f"model: its parameters are {', '.join(odd)}; aekit trains float32 models (train.amp "
                              "for mixed precision): call model.float() first")
        if self.augments and x.ndim != 4:
            raise DataError(f"train.augment_*: augmentation moves images (N, C, H, W), but the training samples have "
                            f"shape {tuple(x.shape[1:])}; set augment_rotate, augment_scale and augment_shift to 0")
        if self.augments and not is_picture(x.shape[1:]) and self.is_main:  # (a signals trial: a shift moved values
            warn(f"train.augment_*: augmentation moves images, and samples of shape {tuple(x.shape[1:])} are drawn as "
                 f"signals, their {x.shape[2]} rows channels over time, which it would mix; if they are, set "
                 "augment_rotate, augment_scale and augment_shift to 0 (windows cut at random offsets teach a model "
                 "shifts)")  # between channels; a review: a 16 x 64 grey image would be refused, so it is said)
        if self.augments and cfg.augment_shift >= min(x.shape[2:]):  # every image moved out of its frame
            raise ConfigError(f"train.augment_shift: {cfg.augment_shift:g} pixels moves images out of their "
                              f"{x.shape[2]} x {x.shape[3]} frame; give fewer than {min(x.shape[2:])}")
        path = getattr(model, "linear_path", None)  # PCA's start, fitted on the training samples (a bug hunt: refused
        if path is not None and not bool(path.fitted) and 2 <= len(x) < model.config.code_size:  # after the start
            raise DataError(f"train data: the linear path of {model.name} starts at PCA's solution with "  # line)
                            f"{model.config.code_size} components, which needs at least "
                            f"{model.config.code_size} training samples, and there are {len(x)}; give a smaller "
                            "model.code_size or more samples, or model.linear_path=false")
        if cfg.memory_format == "channels_last" and not self.channels_last and self.is_main:  # (a bug hunt: unsaid)
            warn(f"train.memory_format: channels_last lays out the images (N, C, H, W) of 2-d convolutional models, "
                 f"and {type(model).__name__} has no 2-d convolutions: it trains as it is")
        self.mixed = self._mixed_parts(y)
        length = len(x) if self.mixed is None else len(self.epoch_order(len(x)))  # samples an epoch
        if length < self.world:  # a process without a sample (a trial: "another process ... stopped")
            raise DataError(f"train data: {length} sample{'s' * (length != 1)} cannot be shared by {self.world} "
                            f"processes; give at least {self.world} samples or fewer processes")

        def lone(size: int) -> bool:  # whether a rank's part of the epoch's last batch is 1 sample
            return 1 in [len(range(r, length % size or size, self.world)) for r in range(self.world)]

        if lone(cfg.batch_size) and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            over = f" over {self.world} processes" if self.world > 1 else ""
            other = next((b for b in range(cfg.batch_size + self.world, length + self.world, self.world) if not lone(b)), 0)
            raise DataError(  # (a size that splits over the processes: a trial was told 65 for 2 processes)
                f"train data: {len(x)} sample{'s' * (len(x) != 1)} in batches of {cfg.batch_size}{over} leave{'s' * (len(x) == 1)} a batch "
                f"of 1 sample, which batch norm cannot train on; "
                + (f"choose another train.batch_size (e.g. {other})" if other else "give more samples")
            )
        if cfg.monitor not in ("train_loss", "val_loss"):  # logged whatever the model (val_loss: or train_loss); not an
            # epoch's seconds, logged too (a settings hunt: restore_best kept the fastest epoch's weights)
            terms = evaluate(model, (x[: cfg.batch_size], None if y is None else y[: cfg.batch_size]))  # fit reseeds after
            parts = ("train", "val") if val_data is not None else ("train",)
            logged = {f"{part}_{k}" for part in parts for k in terms}
            if cfg.monitor not in logged:
                raise ConfigError(
                    f"train.monitor: {cfg.monitor!r} is not logged; choose one of: {', '.join(sorted(logged))}"
                )

    def fit(self, data: tuple[Tensor | MemmapArray, Tensor | None], val_data: Any = None, *,
            resume: bool = False) -> dict[str, list[float]]:
        """Train on `data` and `val_data` as `check` returns them (`check` has set `self.mixed`)."""
        cfg, model = self.config, self.model
        x, y = data
        before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        workspace = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
        if cfg.deterministic and self.device.type == "cuda" and workspace is None:  # cuBLAS's deterministic
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"  # workspace, read as its first matmul starts it
        # denormal floats (below 1.2e-38, as a ReLU net's Adam states decay to them) take a CPU ~100x longer a
        # multiply: a 784-1000-500-16 net's epochs slowed 5x from its sixth on; flushed to zero, the losses were equal
        # whether this thread flushes denormal floats to zero now (torch.set_flush_denormal has no getter)
        flushed = (torch.tensor([1e-39]) * 1.0).item() == 0.0
        flush_denormals(True)
        show = cfg.progress and self.is_main
        writes = self.run_dir is not None and self.is_main  # only rank 0 writes the run folder
        ended = False
        try:
            self.threads.begin()  # (given back in the finally below)
            self.data_print = data_print(x, y)  # (before the checkpoint is read: it says whether they differ)
            self.val_print = None if val_data is None else data_print(val_data[0], None)  # what "best" is measured on
            if resume:
                self.load_checkpoint()
            else:
                torch.manual_seed(stream_seed(cfg.seed, self.rank))  # each rank's own noise
                if hasattr(model, "init_from_data"):  # e.g. a PCA start (models/pca.py)
                    big = len(x) * math.prod(x.shape[1:]) > START_SAID_VALUES
                    path = getattr(model, "linear_path", None)  # (not a warm start's, fitted already: a review)
                    if show and big and path is not None and not bool(path.fitted):  # a while on big data: said
                        say(f"{model.name}: fitting its PCA start to the training data ({len(x):,} samples) ...")
                    model.init_from_data(x, seed=cfg.seed)
            x, y = self._prepare(x, y)
            if not resume or self.best_from_start:
                self._start_best(val_data)
            self.train_data, self.val_data = (x, y), val_data
            for cb in self.callbacks:
                cb.on_train_begin(self)
                if writes:  # a state a checkpoint cannot save is said now, not after an epoch
                    _callback_state(cb)
            budget = self.budget
            if budget is not None:
                budget.restart_clock()
            saved_at: float | None = None  # when this session last wrote a checkpoint at an epoch's end (a budget's pace)
            self.saved_at = time.perf_counter()  # (checkpoint_minutes count from here: any checkpoint sets it)
            said_at: float | None = None  # when the last epoch line was printed
            final = self.stop_training or self.progress() >= 1.0
            # final: as the epoch's end saw it (a budget's clock running out since is the next epoch's); a stop set
            # since (by on_checkpoint) ends it in one process (under torchrun rank 0 alone runs that hook)
            while not final and not (self.stop_training and self.world == 1):
                with self.stops.epoch(enabled=writes and self.world == 1):  # (a stop after the steps: the epoch kept)
                    if self.rank > 0:  # other ranks' own noise (dropout, corruption), seeded by the epoch: a resume's alike
                        torch.manual_seed(stream_seed(cfg.seed, self.rank, self.epoch))
                    self.stops.stepping = True  # (a stop before or during the steps: answered at a step's end)
                    logs = self.train_epoch(x, y)
                    self.stops.stepping = False
                    if not logs:  # the budget ran out between two epochs: nothing was trained in this one
                        if writes:
                            self.save_checkpoint()
                        break
                    if val_data is not None and self.is_main:
                        logs.update({f"val_{k}": v for k, v in evaluate(model, val_data, device=self.device).items()})
                    logs["time"] = time.perf_counter() - self.epoch_started
                    logs = distributed.broadcast(logs)  # every rank takes rank 0's view, so they decide alike
                    if not math.isfinite(logs.get("val_loss", 0.0)):  # the epoch's last steps diverged: not recorded
                        self._diverged("validation loss", logs["val_loss"], f"after epoch {self.epoch + 1}")
                    self.epoch += 1
                    self.history.setdefault("epoch", []).append(self.epoch)
                    self.history.setdefault("step", []).append(self.global_step)  # a budget's run: its length, recorded
                    # one value an epoch for every key, None where it was not logged (validation data added or left
                    # out at a resume: a bug hunt saw epoch 3's loss drawn at epoch 1)
                    for key in [k for k in dict.fromkeys([*self.history, *logs]) if k not in ("epoch", "step")]:
                        kept = self.history.setdefault(key, [])
                        kept.extend([None] * (len(self.history["epoch"]) - 1 - len(kept)))
                        kept.append(logs.get(key))
                    self._track_best(logs)
                    for cb in self.callbacks:
                        cb.on_epoch_end(self, logs)
                    self.stop_training, self.stop_reason = distributed.broadcast((self.stop_training, self.stop_reason))
                    settled = budget is None or budget.after_epoch(self.global_step)  # (a step plan: made final first)
                    final = self.progress() >= 1.0 or self.stop_training
                    of = f"/{cfg.epochs}" if budget is None else (
                        f" ({budget.elapsed():.0f} of {budget.seconds:g} s)" if budget.total_steps is None or not budget.by_steps
                        else f" (step {self.global_step:,} of {budget.total_steps:,}: the budget's planned steps)")
                    due = self.epoch % cfg.checkpoint_every == 0 and settled
                    if budget is not None and saved_at is not None:  # after the first, short epochs would
                        due = due and time.perf_counter() - saved_at >= BUDGET_CHECKPOINT_SECONDS  # spend the budget writing
                    due = due or (settled and self.checkpoint_overdue())
                    if writes and (due or final or (self.stops.asked is not None and settled)):
                        self.save_checkpoint()
                        saved_at = time.perf_counter()
                    if show and (final or said_at is None or time.perf_counter() - said_at >= EPOCH_LINE_SECONDS):
                        shown = "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "time")  # after the checkpoint:
                        say(f"epoch {self.epoch}{of}  {shown}  ({seconds_text(logs['time'])})")  # a Ctrl-C on it keeps the epoch
                        said_at = time.perf_counter()
            if budget is not None and not self.global_step and self.is_main:
                warn(f"time_budget: {cfg.time_budget:g} s ended before the first step; the model is untrained "
                     "(give a longer budget)")
            elif budget is not None and show:  # how long a budget trained differs between runs: said and recorded
                late = budget.by_steps and budget.elapsed() > 1.25 * budget.seconds  # (a bug hunt: 8.8 s of a 4-s budget)
                say(f"time_budget {cfg.time_budget:g} s: {self.global_step:,} steps in {self.epoch} epoch"
                    f"{'s' * (self.epoch != 1)}, {budget.elapsed():.1f} s"
                    + (" (history.json's step column)" if self.run_dir is not None else "")
                    + ("; past the budget: the steps were planned from the pace of the first ones, and the machine "
                       "ran slower since (another process?)" if late else ""))
            if self.stop_reason and show:
                say(self.stop_reason)
            if cfg.restore_best and self.best_state is not None:
                model.load_state_dict(self.best_state)
                if show:
                    which = "its start (no epoch improved on it)" if self.best_epoch == 0 else f"epoch {self.best_epoch}"
                    after = self.epoch - self.best_epoch  # most of a run past its best: said (a quality trial)
                    wasted = (f"; the {after:,} epochs after it did not improve on it (early stopping ends such a run "
                              "sooner)") if (self.best_epoch and self.epoch >= 20 and after >= self.epoch / 2
                                             and cfg.early_stopping is None) else ""
                    say(f"restore_best: the weights of {which}, {self.monitored} "
                        f"{self.best_value:.4g}{wasted}")
            if writes:
                kept = {"kept_epoch": self.best_epoch if cfg.restore_best and self.best_state is not None else None,
                        "threads": sorted(self.threads.used) if self.device.type == "cpu" else None,
                        "seconds": self.budget.elapsed() if self.budget is not None else None,
                        # what the folder's checkpoint records (load_model holds the two together): a resume that
                        # trains no epoch on rewritten data keeps the old (a review: its own model was refused)
                        "data": self.data_print if self.checkpointed_print is None else self.checkpointed_print}
                ckpt.save_model(model, self.run_dir / ckpt.MODEL_FILE, epochs=self.epoch, training=kept)
            model.eval()  # what a callback measures at the end is the model handed back
            for cb in self.callbacks:
                cb.on_train_end(self)
            distributed.barrier()  # no rank leaves before rank 0 has written the run folder
            ended = True
        except OSError as err:  # a full disk: the CLI names the folder and its last checkpoint
            err.run_dir = self.run_dir
            raise
        finally:
            if cfg.deterministic:  # the caller's setting back, both flags (and no workspace setting left behind)
                torch.use_deterministic_algorithms(before[0], warn_only=before[1])
                if workspace is None:
                    os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
            self.threads.restore()
            flush_denormals(flushed)  # (in as many threads as it had)
            if self.bar is not None:
                if ended:  # a budget ends an epoch short: not a failure (a notebook shows it red)
                    self.bar.total = self.bar.n
                self.bar.close()
            model.eval()  # ready to use, also after an error: codes that do not depend on the batch, no dropout
            error = sys.exc_info()[1]  # last: a callback's store may keep it waiting (a second Ctrl-C ends it)
            for cb in self.callbacks if error is not None and not ended else ():
                with contextlib.suppress(Exception):  # (the error said is the one that stopped training)
                    cb.on_train_stop(self, error)
        return self.history


def check_run_folder(run_path: Path, resume: bool) -> None:
    """Refuse a run folder that is a file, one without a checkpoint to resume, or (a new run) one holding a
    checkpoint or files of another: before any work, and again once it is held (a concurrency trial: a run that
    ended in it while another read its data was trained over, both saying they succeeded)."""
    if run_path.exists() and not run_path.is_dir():
        raise ConfigError(f"run_dir: {run_path} is a file; give a folder (it is made if missing)")
    has_ckpt = (run_path / ckpt.CHECKPOINT_FILE).is_file()
    if resume and not has_ckpt:
        raise ckpt.nothing_to_resume(run_path)
    if not resume and has_ckpt:
        raise ConfigError(f"run folder {run_path} already holds a checkpoint; resume it or choose another folder")
    others = sorted(p.name for p in run_path.iterdir() if p.name[0] != "." and p.name not in LEFT_UNSAVED) if (
        not resume and run_path.is_dir() and distributed.is_main()) else []  # (torchrun ends the others)
    if others:  # a user's files, or a finished run's (its checkpoint deleted): never written over
        raise ConfigError(f"run_dir: {run_path} holds files ({', '.join(others[:4])}{' ...' * (len(others) > 4)}) and no "
                          "checkpoint to resume; a run is written into a new or empty folder: give another run_dir, "
                          "or empty this one")


def data_print(x: Tensor | MemmapArray, y: Tensor | None) -> dict[str, Any]:
    """Which training data these are, as a checkpoint records them: their number and shape, and a hash of three
    rows (first, middle, last) and their labels, read as they are (a memmap reads three rows)."""
    digest = hashlib.sha1()
    for i in sorted({0, len(x) // 2, len(x) - 1}):
        digest.update(x[i : i + 1].detach().cpu().numpy().tobytes())  # (codes of another model may carry gradients)
        digest.update(b"" if y is None else y[i : i + 1].detach().cpu().numpy().tobytes())
    return {"samples": len(x), "shape": list(x.shape[1:]), "rows": digest.hexdigest()[:16]}


def check_settings(model, train: Any, val: Any = None, *, config: TrainConfig) -> None:
    """Refuse now what `fit(model, train, val, config=config)` would refuse of its settings with these data,
    without checking their values (the run layer checks those itself, then calls this before its first line; a
    monitor other than the losses is looked up in one batch's loss terms)."""
    trainer = Trainer(model, config, callbacks=(), run_dir=None)
    trainer.check_settings(*as_inputs(train, "train data"), None if val is None else as_inputs(val, "validation data"))


def _callback_name(cb) -> str:
    """A callback's class, as its saved state names it (two of one class take their states in order)."""
    return f"{type(cb).__module__}.{type(cb).__qualname__}"


def _callback_state(cb) -> Any:
    """`cb.state_dict()` as JSON values, as a checkpoint saves it: numpy and torch numbers and arrays as Python's."""
    def plain(value):
        if hasattr(value, "tolist"):
            return value.tolist()
        raise TypeError(f"{type(value).__name__} is not a JSON value")

    try:
        return json.loads(json.dumps(cb.state_dict(), default=plain))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"callback {type(cb).__name__}: state_dict() must hold numbers, strings, lists and dicts "
                          f"(a checkpoint saves it as JSON): {err}") from None


P = ParamSpec("P")
R = TypeVar("R")


def one_at_a_time(function: Callable[P, R]) -> Callable[P, R]:  # (typed: mypy read fit as Any, an API trial)
    """`function`, run holding FIT_LOCK."""

    @functools.wraps(function)
    def held(*args: P.args, **kwargs: P.kwargs) -> R:
        with FIT_LOCK:
            return function(*args, **kwargs)

    return held


def leaves_generator(function: Callable[P, R]) -> Callable[P, R]:
    """`function`, the caller's torch generators (CPU's, and CUDA's once in use) left as they were: the run layer
    seeds torch for a model's initial weights (a long-lived process hunt: a search drawing its trials' lr between
    in-process trainings drew one value again and again)."""

    @functools.wraps(function)
    def kept(*args: P.args, **kwargs: P.kwargs) -> R:
        with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if torch.cuda.is_initialized() else []):
            return function(*args, **kwargs)

    return kept


@one_at_a_time
def fit(
    model,
    train: Any,
    val: Any = None,
    *,
    config: TrainConfig | None = None,
    callbacks: Sequence[Callback] = (),
    run_dir: str | Path | None = None,
    resume: bool = False,
    **options: Any,
) -> dict[str, list[float]]:
    """Train `model` on `train` (tensor, array, memmap, (x, y) or Dataset); returns the history, a list a key
    (epoch, train_loss, val_loss where `val` is given, ...).

    `val` (the same kinds as `train`) is scored at each epoch (early stopping, restore_best). Options are TrainConfig
    keys (`epochs=5, lr=1e-3, optimizer="adagrad"`, ...), checked strictly; `config`, a TrainConfig, gives them all
    at once, and options given beside it replace its values. `callbacks` are aekit Callback objects
    (training/callbacks.py; LambdaCallback wraps a function).
    With `run_dir`, checkpoints, history.json and model.safetensors are written there, and
    `resume=True` continues from its checkpoint exactly where it stopped, with the settings it was
    trained with (those in the checkpoint; options given, such as a new `epochs`, replace them). `log=["csv", "tensorboard",
    "mlflow"]` adds loggers (training/loggers.py) writing into `run_dir`. Started by torchrun, it
    trains data-parallel over the processes, and only rank 0 writes.
    """
    base = to_dict(config) if config is not None else {}
    distributed.init()  # a no-op unless started by torchrun
    run_path = Path(run_dir).expanduser() if run_dir is not None else None  # ~ as data paths (a paths trial)
    if run_path is not None:
        check_run_folder(run_path, resume)
        if resume:  # its settings (read whole and checked where they are the base; the header alone where not)
            meta = (config is not None and ckpt.checkpoint_header(run_path)) or ckpt.read(run_path / ckpt.CHECKPOINT_FILE)[1]
            saved = meta.get("train_config", {})
        if resume and config is None:  # go on as it was trained: only the options given change
            base = without_ignored_training({k: v for k, v in saved.items() if k in TrainConfig.__dataclass_fields__},
                                            run_path / ckpt.CHECKPOINT_FILE)
    elif resume:
        raise ConfigError("resume=True needs run_dir, the folder holding the checkpoint")
    cfg = build(TrainConfig, {**base, **options}, where="train")
    if run_path is None and (given := sorted(key for key in ("checkpoint_every", "checkpoint_minutes") if key in options
                                              and options[key] not in (None, getattr(TrainConfig, key)))):  # (a
        raise ConfigError(f"{given[0]}: spaces the checkpoints written into run_dir, and fit has none: give run_dir, "  # settings
                          f"or leave {given[0]} out")  # hunt: taken, no checkpoint written; log=[csv] without it is refused)
    if not (isinstance(model, torch.nn.Module) and hasattr(model, "check_data")):  # what fit trains: aekit's models
        input_shape_of(model)  # a path, an estimator, a module of one's own: said in one line
        raise ConfigError(f"model: {type(model).__name__} is not a model of aekit's; give one from aekit.create_model")
    if type(model).__name__ == "OptimizedModule":  # (a hunt: trained, then saved under _orig_mod. names nothing loads)
        raise ConfigError("model: a torch.compile'd model; give fit the model itself: compile=True compiles its forward")
    if run_path is not None:  # before any work: its files must load as this model
        ckpt.check_named(model)
    if any(p.is_meta for p in model.parameters()):
        raise ConfigError("model: its weights are on the meta device (shapes without values); build it on the CPU, "
                          "or model.to_empty(device='cpu') and load weights into it")
    if resume:  # before config.yaml is written
        ckpt.check_same_model(meta, model, run_path / ckpt.CHECKPOINT_FILE)
        if saved.get("optimizer", cfg.optimizer) != cfg.optimizer:  # (a bug hunt: KeyError 'momentum')
            raise ConfigError(f"optimizer: {run_path} was trained with {saved['optimizer']!r}, whose state (moments, "
                              f"step counts) does not carry over to {cfg.optimizer!r}; resume it with "
                              f"{saved['optimizer']!r}, or start a new run from its model (init_from)")
    if not isinstance(callbacks, Sequence) or not all(isinstance(c, Callback) for c in callbacks):  # (a deque too)
        raise ConfigError("callbacks: a list of aekit Callback objects (LambdaCallback(on_epoch_end=f) wraps a "
                          f"function), got {callbacks!r:.60}")
    if "epochs" in options and cfg.time_budget is not None:  # the budget decides: epochs would be ignored
        raise ConfigError(f"epochs: this run has time_budget={cfg.time_budget:g}, which decides how long it trains; "
                          "give one of them (time_budget=None to train by epochs)")
    if options.get("monitor") == "val_loss" and val is None:  # named, not the default: no quiet train_loss for it
        raise ConfigError("monitor: 'val_loss' needs validation data; pass val, or monitor 'train_loss'")
    if cfg.compile and cfg.time_budget is not None and cfg.time_budget < 600:  # (a combination trial: 4 s trained 1 step)
        warn(f"compile: compiling counts against time_budget={cfg.time_budget:g} (seconds on a GPU, often more on a "
             "CPU, at the start and again for validation and a last, smaller batch), and a budget's step plan is timed "
             "on those first steps: a short budget trains far fewer steps; leave compile off for it")
    asked = cfg  # what config.yaml records (a combination trial: restore_best turned off below made it "another
    # training's", and the run's config.yaml was written again without its data keys: evaluate and resume failed)
    if cfg.restore_best and (val is None or cfg.monitor.startswith("train_")):  # (without val: train_loss)
        why = "there is no validation data" if val is None else f"train.monitor is {cfg.monitor!r}"
        warn(f"restore_best: it keeps the weights that did best on validation data, and {why}: the last "
             "epoch's weights are kept (a training loss, averaged as an epoch trains, is not the loss of its "
             "last weights)")
        cfg = dataclasses.replace(cfg, restore_best=False)
    if resume and cfg.time_budget is not None and cfg.time_budget != saved.get("time_budget"):  # trained longer
        ckpt.check_longer_budget(run_path, cfg.time_budget)
    done = int(meta.get("epoch") or 0) if resume and cfg.time_budget is None else 0  # (the header read above)
    part = resume and cfg.time_budget is None and isinstance(meta.get("in_epoch"), dict)  # checkpointed inside an epoch
    if done + part > cfg.epochs:
        raise ConfigError(f"epochs: {run_path} has trained {done} epochs already{' and part of the next' * part}, "
                          f"more than epochs={cfg.epochs}; give more to train longer (the run is left as it is)")
    callbacks = list(callbacks)
    if cfg.early_stopping is not None and not any(isinstance(c, EarlyStopping) for c in callbacks):
        callbacks.append(EarlyStopping(cfg.early_stopping))
    callbacks += make_loggers(cfg.log, run_path, every=cfg.log_every)
    if "torch._dynamo" not in sys.modules:  # what torch's first optimiser imports (seconds, sympy's too): an interrupt
        with signals_held():  # in it left torch's modules half-imported, every later fit failing until a restart (a
            importlib.import_module("torch._dynamo")  # notebook hunt)
    home = next(iter(model.parameters()), torch.empty(0)).device
    with contextlib.ExitStack() as held:
        held.callback(model.to, home)  # trained on cfg.device, handed back where it was (also on an error)
        trainer = Trainer(model, cfg, callbacks=callbacks, run_dir=run_path)
        if trainer.channels_last:  # handed back as load_model gives it (a notebook trial: codes 5e-7 apart)
            held.callback(model.to, memory_format=torch.contiguous_format)
        data, val_data = trainer.check(train, val)  # a refused setting or data set leaves no folder behind
        made = [] if run_path is None else [p for p in (run_path, *run_path.parents) if not p.exists()]
        if run_path is not None:
            run_path.mkdir(parents=True, exist_ok=True)
            if distributed.is_main():
                held.enter_context(ckpt.hold(run_path))  # another process writing it: refused, nothing touched
                check_run_folder(run_path, resume)  # again: one may have run to its end in it while this one began
                (run_path / ckpt.FAILED_FILE).unlink(missing_ok=True)  # an earlier training's failure: not this one's
                for stale in run_path.glob(".*.tmp"):  # left by a kill in the middle of a checkpoint write
                    if is_temporary(stale.name):
                        stale.unlink(missing_ok=True)
                autoencoder = model if isinstance(model, Autoencoder) else None  # its folder serves `aekit` commands too
                meta = getattr(train, "meta", None) or {}  # a data file's: how its values became the inputs
                scale = resolved_scale(meta["scale"], meta) if "scale" in meta else None
                ckpt.write_run_config(run_path, autoencoder, cfg, data=getattr(train, "source", None), scale=scale,
                                      asked=asked)
                if data_map(train) is not None and not (resume and (run_path / SCALING_FILE).is_file()):
                    ckpt.write_scaling(run_path, train)
                elif not resume:  # a fresh run on tensors: no map left from an earlier one in this folder
                    (run_path / SCALING_FILE).unlink(missing_ok=True)
        device = trainer.device  # (training_device: CUDA with its index)
        # fit seeds torch's generators (cfg.seed) and draws from them: the caller's draws go on as if it had not
        held.enter_context(torch.random.fork_rng(devices=[device] if device.type == "cuda" else []))
        try:
            return trainer.fit(data, val_data, resume=resume)
        except (KeyboardInterrupt, Exception) as err:  # (a notebook's interrupt; the CLI says it in its own words)
            if run_path is None or not distributed.is_main():
                raise
            note = getattr(err, "add_note", None) or _stderr_note()  # (add_note: Python 3.11 and later)
            if (run_path / ckpt.CHECKPOINT_FILE).is_file():
                if note and isinstance(err, KeyboardInterrupt):
                    note(f"{run_path} keeps the checkpoint of {ckpt.checkpoint_place(run_path) or 'its start'} (the "
                         "model holds the weights of the step it stopped at): fit(..., resume=True) goes on from it")
            elif made and not distributed.active() and not ckpt.kept_when_stopped(err, run_path) and all(
                    p.name in LEFT_UNSAVED | {ckpt.LOCK_FILE} for p in run_path.iterdir()):
                ckpt.remove_made(made)  # what it wrote alone, which blocks a retry (a notebook trial; a tuner's, an empty
                # log.csv); files of others (a callback's) are kept; under torchrun it is left (ranks make it apart)
                if note:
                    note(f"stopped before its first checkpoint: nothing was kept, and {run_path}, which this fit made, "
                         "is removed")
            ckpt.note_failure(run_path, err)  # (where the folder is kept)
            raise
