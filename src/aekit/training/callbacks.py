"""Callbacks: everything optional in training hangs off these hooks (minGPT style)."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .loop import Trainer


class Callback:
    """Override any hook. `state_dict`/`load_state_dict` (JSON-able) make a callback resumable."""

    def on_train_begin(self, trainer: Trainer) -> None:
        """Training starts (or resumes): the model, data and settings are in place, no step of this call taken."""

    def on_epoch_begin(self, trainer: Trainer) -> None:
        """An epoch starts (`trainer.epoch`: the epochs done)."""

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        """A step ended: `batch` its index in the epoch, `logs` its loss terms (tensors: read one only when needed,
        as each read waits for a GPU)."""

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        """An epoch ended: `logs` its means (train_loss, ...) and validation values (val_loss, ...);
        `trainer.stop_training = True` ends the training after it."""

    def on_train_end(self, trainer: Trainer) -> None:
        """Training ended (its weights final, restore_best's applied, the run folder written)."""

    def on_checkpoint(self, trainer: Trainer) -> None:
        """A checkpoint was written (what was trained so far is safe: a store can be sent what it is of)."""

    def on_train_stop(self, trainer: Trainer, error: BaseException) -> None:
        """Training stopped on `error` (an interrupt, a diverged loss, ...) instead of ending."""

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of this callback (JSON: numbers, strings, lists, dicts), for a resume."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what `state_dict` returned, as a resume begins."""


class EarlyStopping(Callback):
    """Stop when the trainer's monitored value (`TrainConfig.monitor`) has not improved for `patience` epochs."""

    def __init__(self, patience: int = 5) -> None:
        whole = isinstance(patience, numbers.Real) and not isinstance(patience, bool) and float(patience).is_integer()
        if not whole or patience < 1:  # (numpy's 3 and 3.0 taken, as TrainConfig takes them)
            raise ConfigError(f"early stopping patience must be a whole number of epochs >= 1, got {patience!r} (what "
                              "it watches is train.monitor)")
        self.patience = int(patience)

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if trainer.epochs_since_best >= self.patience:
            trainer.stop_training = True
            trainer.stop_reason = (
                f"early stopping: {trainer.monitored} has not improved for {self.patience} epoch{'s' * (self.patience != 1)} "
                f"(best {trainer.best_value:.6g} at epoch {trainer.best_epoch})"
            )


class LambdaCallback(Callback):
    """Wrap plain functions as hooks, e.g. `LambdaCallback(on_epoch_end=lambda t, logs: print(logs))`."""

    def __init__(self, **hooks: Any) -> None:
        allowed = {name for name in vars(Callback) if name.startswith("on_")}
        for name, fn in hooks.items():
            if name not in allowed:
                raise ConfigError(f"LambdaCallback: unknown hook {name!r}; allowed: {', '.join(sorted(allowed))}")
            if not callable(fn):  # (an API trial: refused only inside fit, as "'int' object is not callable")
                raise ConfigError(f"LambdaCallback: {name} must be a function, got {type(fn).__name__}")
            setattr(self, name, fn)
