"""The default on tables of a few dozen to a few hundred rows: the epoch count by cross-validation against restore_best.

On such tables the validation tenth holds 4-40 rows. Each row of the table is two runs of
`aekit train data.name=X model.code_size=K train.time_budget=S train.seed=SEED` on the same split:

- "folds": the command as it is; the automatic model's epoch count is chosen by 5-fold cross-validation
  (training/folds.py) where the validation part has fewer than 100 samples
- "val part": the same model given by name (`model.name=dense` with the keys `auto` chooses), which
  restore_best trains as before: the epoch with the lowest loss on the validation part is kept

and prints each one's test squared error per sample as a ratio to PCA's with the same code size
(fitted on the run's own training part), the seconds of each whole run, the load average, and a
summary (runs above PCA, the worst ratio, the geometric mean).

Data: scikit-learn's wine, breast cancer and diabetes tables (raw columns), each split 70/30 by
three seeds; two smooth manifolds where longer training keeps helping (`smooth`); and, with
`--ts DIR`, the univariate UCR series in DIR/NAME/NAME_TRAIN.ts and NAME_TEST.ts in their own
splits (sktime's wheel holds ItalyPowerDemand, ArrowHead, GunPoint, Tecator, ACSF1 and OSULeaf
under sktime/datasets/data/; they are not ours to ship). A code as wide as the columns is skipped.

    python benchmarks/tiny_tables.py [--budget 10] [--seeds 0 1] [--ts DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

TABLES = {"wine": "load_wine", "breast": "load_breast_cancer", "diabetes": "load_diabetes"}


def read_ts(path: Path) -> np.ndarray:
    """The series of a univariate .ts file (one a line after @data, values before the last ':'), cut to one length."""
    rows, data = [], False
    for line in path.read_text(encoding="latin-1").splitlines():
        line = line.strip()
        if data and line and not line.startswith("#"):
            rows.append([float(v) for v in line.rsplit(":", 1)[0].split(",")])
        data = data or line.lower().startswith("@data")
    length = min(map(len, rows))
    return np.array([row[:length] for row in rows])


def smooth() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Two small sets on smooth manifolds, where a longer training keeps helping (a trial's counter-case): a swiss roll
    (scikit-learn's, 200 + 50 rows of 3 values) and a 2-d code through tanh into 12 columns with noise (300 + 60)."""
    import sklearn.datasets

    roll = sklearn.datasets.make_swiss_roll(250, noise=0.1, random_state=1)[0]
    rng = np.random.default_rng(1)
    curved = np.tanh(rng.normal(size=(360, 2)) @ rng.normal(size=(2, 12))) + 0.05 * rng.normal(size=(360, 12))
    return {"swiss": (roll[:200], roll[200:]), "tanh12": (curved[:300], curved[300:])}


def write_sets(folder: Path, ts: Path | None) -> list[Path]:
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in sorted(p.name for p in ts.iterdir() if (p / f"{p.name}_TRAIN.ts").is_file()) if ts else []:
        a, b = (read_ts(ts / name / f"{name}_{part}.ts") for part in ("TRAIN", "TEST"))
        length = min(a.shape[1], b.shape[1])
        if np.isnan(a).any() or np.isnan(b).any():  # (missing values: not this benchmark's question)
            continue
        np.savez(folder / f"{name}.npz", x_train=a[:, :length], x_test=b[:, :length])
        paths.append(folder / f"{name}.npz")
    for name, (a, b) in smooth().items():
        np.savez(folder / f"{name}.npz", x_train=a, x_test=b)
        paths.append(folder / f"{name}.npz")
    for name, loader in TABLES.items():
        x = getattr(sklearn.datasets, loader)().data
        for seed in range(3):
            a, b = train_test_split(x, test_size=0.3, random_state=seed)
            np.savez(folder / f"{name}{seed}.npz", x_train=a, x_test=b)
            paths.append(folder / f"{name}{seed}.npz")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=10)
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--ts", type=Path, default=None, help="a folder of UCR series: NAME/NAME_TRAIN.ts, NAME_TEST.ts")
    parser.add_argument("--sets", nargs="+", default=None, help="only these sets (wine0, Tecator, ...)")
    parser.add_argument("--out", default=None, help="run folders go here (default: a temporary folder)")
    args = parser.parse_args()

    from aekit.apps import run

    work = Path(args.out or tempfile.mkdtemp(prefix="aekit-tiny-"))
    print(f"budget {args.budget:g} s a run; load average at the start {os.getloadavg()[0]:.2f}")
    print(f"{'data':<18} {'K':>2} {'seed':>4} {'val rows':>8} {'folds':>6} {'val part':>8} {'epoch':>9} "
          f"{'s folds':>7} {'s val':>6} {'load':>5}")
    ratios: dict[str, list[float]] = {"folds": [], "val part": []}
    for path in [p for p in write_sets(work / "data", args.ts) if args.sets is None or p.stem in args.sets]:
        columns = np.load(path)["x_train"].shape[1]
        for k in [k for k in args.ks if k < columns]:  # a code as wide as the columns compresses nothing
            for seed in args.seeds:
                given = [f"data.name={path}", f"model.code_size={k}", f"train.time_budget={args.budget}",
                         f"train.seed={seed}", "train.progress=false", f"output.dir={work / 'runs'}"]
                cfg = run.load_run_config(None, [*given, f"output.name={path.stem}-{k}-{seed}-folds"])
                train, val, _ = run.load_splits(cfg)
                keys = run.auto_model(cfg.model, train.sample_shape, len(train))
                named = [f"model.{key}={json.dumps(value)}" for key, value in keys.items() if key != "code_size"]  # auto's model, by name
                row, seconds, epoch = [], [], ""
                for label, extra in (("folds", []), ("val part", named)):
                    start = time.perf_counter()
                    run_dir = run.train(run.load_run_config(None, [*given, *extra,
                                                                   f"output.name={path.stem}-{k}-{seed}-{label[:3]}"]))
                    seconds.append(time.perf_counter() - start)
                    m = json.loads((run_dir / "metrics.json").read_text())
                    row.append(m["squared_error_per_sample"] / m["pca_squared_error_per_sample"])
                    ratios[label].append(row[-1])
                    folds = m["training"].get("cross_validation")
                    if folds:
                        epoch = f"{folds['chosen']}/{folds['epochs']}"
                print(f"{path.stem:<18} {k:>2} {seed:>4} {len(val):>8} {row[0]:>6.3f} {row[1]:>8.3f} {epoch:>9} "
                      f"{seconds[0]:>7.1f} {seconds[1]:>6.1f} {os.getloadavg()[0]:>5.2f}", flush=True)
    for label, values in ratios.items():
        mean = math.exp(sum(map(math.log, values)) / len(values))
        print(f"{label}: {sum(v > 1 for v in values)} of {len(values)} runs above PCA, worst {max(values):.3f}, "
              f"geometric mean {mean:.3f}")
    print(f"run folders: {work / 'runs'}")


if __name__ == "__main__":
    main()
