"""Warm starts: a run started from last month's model (`init_from`) against a fresh run of the same budget.

A "month" is a file of its own (x_train, x_test as uint8 images in an .npz). Each scenario trains the automatic
model on month 1 (`aekit train data.name=month1.npz model.code_size=K train.time_budget=FIRST`), then, for each
budget S, two runs on month 2 of S seconds each:

- "warm": `aekit train data.name=month2.npz init_from=RUN1 train.time_budget=S`
- "fresh": `aekit train data.name=month2.npz model.code_size=K train.time_budget=S` (the same command as month 1's)

and prints each one's test squared error per sample on month 2's test part and PCA-K's (fitted on month 2's
training part, as each run's metrics.json holds it), the ratio warm / fresh, and the load average.

Scenarios, from the real data sets in AEKIT_DATA_DIR (../shared/data here):
- fashion-same: Fashion-MNIST's training images split in two random halves (month 2 tested on the test set)
- fashion-drift: month 1 its classes 0-4 (T-shirt ... coat), month 2 its classes 5-9 (sandal ... ankle boot)
- mnist-to-fashion: month 1 MNIST's digits, month 2 Fashion-MNIST

    python benchmarks/warm_start.py [--first 60] [--budgets 5 20 60] [--code-size 16] [--scenarios ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SCENARIOS = ("fashion-same", "fashion-drift", "mnist-to-fashion")


def months(name: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(month 1, month 2) of a scenario, each {"x_train", "x_test"} of uint8 images (N, 28, 28)."""
    from aekit.data import load_dataset

    def part(data_set: str, split: str, classes: range | None = None) -> np.ndarray:
        data = load_dataset(data_set, split)
        x = np.rint(data.x.numpy()[:, 0] * 255).astype(np.uint8)
        return x if classes is None else x[np.isin(data.y.numpy(), list(classes))]

    if name == "fashion-same":
        train = part("fashion-mnist", "train")
        order = np.random.default_rng(0).permutation(len(train))
        half = len(train) // 2
        test = part("fashion-mnist", "test")
        return ({"x_train": train[order[:half]], "x_test": test}, {"x_train": train[order[half:]], "x_test": test})
    if name == "fashion-drift":
        low, high = range(5), range(5, 10)
        return ({"x_train": part("fashion-mnist", "train", low), "x_test": part("fashion-mnist", "test", low)},
                {"x_train": part("fashion-mnist", "train", high), "x_test": part("fashion-mnist", "test", high)})
    if name == "mnist-to-fashion":
        return ({"x_train": part("mnist", "train"), "x_test": part("mnist", "test")},
                {"x_train": part("fashion-mnist", "train"), "x_test": part("fashion-mnist", "test")})
    raise SystemExit(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")


def train(folder: Path, name: str, *words: str) -> dict:
    """metrics.json of `aekit train WORDS output.dir=FOLDER output.name=NAME --quiet`, with its wall seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aekit", "train", *words, f"output.dir={folder}", f"output.name={name}",
                    "--quiet"], check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads((folder / name / "metrics.json").read_text())
    return {**metrics, "wall": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=float, default=60.0, help="month 1's budget in seconds")
    parser.add_argument("--budgets", type=float, nargs="+", default=[5.0, 20.0, 60.0], help="month 2's budgets")
    parser.add_argument("--code-size", type=int, default=16)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("| scenario | month 2 budget (s) | warm | fresh | PCA | warm / fresh | warm / PCA | fresh / PCA |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for scenario in args.scenarios:
            first, second = months(scenario)
            for i, month in enumerate((first, second), 1):
                np.savez(folder / f"{scenario}-{i}.npz", **month)
            k = f"model.code_size={args.code_size}"
            train(folder, f"{scenario}-m1", f"data.name={folder / f'{scenario}-1.npz'}", k,
                  f"train.time_budget={args.first:g}")
            data = f"data.name={folder / f'{scenario}-2.npz'}"
            for budget in args.budgets:
                seconds = f"train.time_budget={budget:g}"
                warm = train(folder, f"{scenario}-warm-{budget:g}", data, f"init_from={folder / f'{scenario}-m1'}", seconds)
                fresh = train(folder, f"{scenario}-fresh-{budget:g}", data, k, seconds)
                w, f = warm["squared_error_per_sample"], fresh["squared_error_per_sample"]
                p = fresh["pca_squared_error_per_sample"]  # (the warm run's is the same: one split, one code size)
                print(f"| {scenario} | {budget:g} | {w:.3f} | {f:.3f} | {p:.3f} | {w / f:.3f} | {w / p:.3f} | {f / p:.3f} |",
                      flush=True)
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
