"""The scikit-learn transformer's default against PCA and against a plain dense model.

`make_pipeline(StandardScaler(), AutoencoderTransformer(model_params={"code_size": K}))` with every
other parameter at its default (20 epochs), on scikit-learn's bundled tables, split 75/25 with a
seed: the test squared error per sample (summed over the standardised columns) of the default model
("auto": PCA-started, MSE on linear outputs), of `model="dense"` with the same code size, and of
PCA with K components, with each fit's wall time and the load average.

    python benchmarks/sklearn_default.py [--ks 2 4] [--seeds 0 1] [--raw]

--raw leaves out the StandardScaler: the tables as they come, columns on very different scales
(errors then in the tables' own units).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import sklearn.datasets
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from aekit.apps.sklearn import AutoencoderTransformer

TABLES = ["load_iris", "load_wine", "load_breast_cancer", "load_diabetes", "load_digits"]


def error(pipe, x: np.ndarray) -> float:
    """Test squared error per sample in the units the model sees (standardised, or raw with --raw)."""
    scaled = pipe[0].transform(x)
    codes = pipe[1].transform(scaled)
    return float(((pipe[1].inverse_transform(codes) - scaled) ** 2).sum(1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--raw", action="store_true", help="no StandardScaler in front")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print("| table | features | K | seed | PCA | auto (default) | auto/PCA | dense | dense/PCA | auto s | dense s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for table in TABLES:
        x, y = getattr(sklearn.datasets, table)(return_X_y=True)
        for k in args.ks:
            if k >= x.shape[1]:
                continue
            for seed in args.seeds:
                train, test = train_test_split(x.astype(np.float32), test_size=0.25, random_state=seed)
                scaler = FunctionTransformer() if args.raw else StandardScaler()
                pca = make_pipeline(clone(scaler), PCA(k)).fit(train)
                row = [error(pca, test)]
                times = []
                for model in ("auto", "dense"):
                    start = time.perf_counter()
                    ae = AutoencoderTransformer(model, {"code_size": k}, random_state=seed, device="cpu")
                    pipe = make_pipeline(clone(scaler), ae).fit(train)
                    times.append(time.perf_counter() - start)
                    row.append(error(pipe, test))
                p, a, d = row
                print(f"| {table[5:]} | {x.shape[1]} | {k} | {seed} | {p:.3f} | {a:.3f} | {a / p:.3f} | {d:.3f} | "
                      f"{d / p:.3f} | {times[0]:.1f} | {times[1]:.1f} |")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
