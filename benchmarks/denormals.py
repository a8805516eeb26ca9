"""Denormal floats: epoch seconds of CPU training with them flushed to zero (what `fit` does) and without.

A resume trial found a deterministic time budget overshot 5-9x: from the sixth epoch on, a ReLU net's
epochs took 3-8 s where the first took 0.5-0.9 s. Adam's states decay into denormal floats (below
1.2e-38), which a CPU multiplies ~100x slower. `fit` now sets torch.set_flush_denormal(True) while it
trains, in each of torch's threads (and gives the caller's setting back). Each row is measured in a fresh
process, whose thread pool a parallel op makes before `fit` (as data loading does); "kept" stops `fit` from
flushing (the behaviour before). The baseline is "kept" in the same run.

    python benchmarks/denormals.py [--epochs 12] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CASES = {  # name: (model keys, data, samples, batch size)
    "relu 784-1000-500-16, batch 16": ({"name": "dense", "hidden": [1000, 500], "code_size": 16, "activation": "relu",
                                        "dropout": 0.0}, "mnist", 2000, 16),
    "demo's dense 784-1000-500-250-30 (elu)": ({"name": "dense", "hidden": [1000, 500, 250], "code_size": 30,
                                                "activation": "elu"}, "mnist-mini", 10000, 128),
}


def measure(case: str, epochs: int, flush: bool) -> dict:
    import torch

    import aekit
    from aekit.data import load_dataset

    if not flush:  # fit's own call made a no-op: the denormals stay
        torch.set_flush_denormal = lambda mode: True
    keys, data, n, batch = CASES[case]
    torch.rand(256, 256) @ torch.rand(256, 256)  # the thread pool, made before fit
    train = load_dataset(data, "train").take(n)
    torch.manual_seed(1)
    model = aekit.create_model(keys["name"], input_shape=train.sample_shape, **{k: v for k, v in keys.items() if k != "name"})
    history = aekit.fit(model, train, epochs=epochs, batch_size=batch, progress=False, deterministic=True)
    return {"time": history["time"], "loss": history["train_loss"][-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (OMP_NUM_THREADS) of each run")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.epochs, args.measure[1] == "flush")))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f}; {args.threads} thread(s)")
    print(f"| model | denormals | median epoch s (2-{args.epochs}) | last 5 epochs' s | vs kept | last train loss |")
    print("|---|---|---:|---:|---:|---:|")
    for case in CASES:
        rows = {}
        for how in ("kept", "flush"):
            out = subprocess.run([sys.executable, __file__, "--epochs", str(args.epochs), "--measure", case, how],
                                 check=True, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
            rows[how] = json.loads(out.stdout.strip().splitlines()[-1])
        base = statistics.median(rows["kept"]["time"][-5:])
        for how, r in rows.items():
            last = statistics.median(r["time"][-5:])
            print(f"| {case} | {how} | {statistics.median(r['time'][1:]):.2f} | {last:.2f} | {base / last:.2f}x | "
                  f"{r['loss']:.4f} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
