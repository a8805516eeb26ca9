"""The number of epochs chosen by k-fold cross-validation, for data whose validation part is too small to choose by.

restore_best keeps the epoch with the lowest loss on the validation part. On tables of a few dozen to a few hundred
samples that part holds 4-40 of them, and the epoch it chooses is as much their noise as the model's: the automatic
model ended above PCA's test error in 5-7 of 30 runs. Training FOLDS models instead, each validated on its own fifth of
the samples, and taking the epoch where their mean validation loss is lowest (the weights before the first step, a
PCA start, count as epoch 0) left 2-3 of 30 above it, the worst 3-4% above instead of 10-61% (benchmarks/RESULTS.md 7g).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..data import Dataset
from .callbacks import LambdaCallback
from .loop import TrainConfig, evaluate, fit

FOLDS = 5
FEW_VALIDATION = 100  # a validation part of fewer samples than this chooses the epoch by its noise


def choose_epochs(make: Callable[[], Any], data: Dataset, config: TrainConfig, *, folds: int = FOLDS) -> dict[str, Any]:
    """Train `folds` models made by `make` (alike: the same seed) with `config`, each on all of `data` but one fold
    and validated on that fold, and return the record of the epoch count with their lowest mean validation loss:
    {"folds", "samples", "epochs" (what each trained), "chosen" (0: none beat the start), "val_loss" (the mean, from
    epoch 0), "seconds"}. The first model trains for a share of config.time_budget, budget / (folds + 2), and the
    others as many epochs as it did; the last two shares are left to the model chosen (it trains on a fifth more
    samples, for at most as many epochs) and to what each fit does before its first step. Where the first model's
    loss is still falling at its last epoch, the budget is too short to share: "chosen" is None (the first fold's
    record), and no other fold is trained (the caller treats a mean lowest at the last epoch, or at the start, alike:
    no turn inside the folds' epochs)."""
    started = time.perf_counter()
    order = np.random.default_rng(config.seed).permutation(len(data))
    plain = dataclasses.replace(config, restore_best=False, early_stopping=None, progress=False, log=())
    epochs, curves = None, []

    def record(chosen: int | None, curve) -> dict[str, Any]:
        return {"folds": folds, "samples": len(data), "epochs": len(curve) - 1, "chosen": chosen,
                "val_loss": [float(v) for v in curve], "seconds": round(time.perf_counter() - started, 2)}

    for held in np.array_split(order, folds):
        train, val = data.subset(np.sort(np.setdiff1d(order, held))), data.subset(np.sort(held))
        start: list[float] = []  # the validation loss before the first step
        hook = LambdaCallback(on_train_begin=lambda t, start=start, val=val: start.append(
            evaluate(t.model, val, device=t.device)["loss"]))
        runs = (dataclasses.replace(plain, time_budget=config.time_budget / (folds + 2)) if epochs is None else
                dataclasses.replace(plain, time_budget=None, epochs=epochs))
        history = fit(make(), train, val, config=runs, callbacks=[hook])
        curves.append([*start, *history.get("val_loss", [])])
        if len(curves) == 1 and int(np.argmin(curves[0])) == len(curves[0]) - 1:  # still falling: the budget is short
            return record(None, curves[0])
        epochs = epochs or max(1, len(curves[0]) - 1)
    length = min(map(len, curves))
    mean = np.mean([curve[:length] for curve in curves], axis=0)
    return record(int(np.argmin(mean)), mean)
