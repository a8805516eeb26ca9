"""A fair share on a busy machine: training speed with other CPU-bound processes running.

Trains the demo's deep autoencoder (784-1000-500-250-30) on the bundled 10,000 MNIST digits, each
measurement in a fresh process, and prints samples per second:

- idle, torch's default threads (aekit's thread governor on, as a user gets it);
- with `--busy` other CPU-bound processes (2 by default, each stopping by itself after `--limit`
  seconds) running: aekit's default, and a fixed thread count (OMP_NUM_THREADS=<cores>, which turns
  the governor off: what training did before it), and the governor with its first look 2 s in (as
  it was before it looked half a second in).

Samples per second are given over epochs 2 to the last, and for the first epoch alone.

Goal (issue 12): with two busy processes on 2 cores, at least 0.3x the idle figure measured in the
same run (a fair share of 2 cores among 3 busy processes is ~0.67 core).

    python benchmarks/busy.py [--epochs 3] [--busy 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BUSY = "import time\nend = time.time() + {limit}\nwhile time.time() < end: pass\n"


def measure(epochs: int, first_check: float | None) -> dict:
    import torch

    import aekit
    from aekit.data import load_dataset
    from aekit.training import threads as governor
    from aekit.training.callbacks import LambdaCallback

    if first_check is not None:
        governor.FIRST_CHECK_SECONDS = first_check

    train = load_dataset("mnist-mini", "train")
    torch.manual_seed(0)
    model = aekit.create_model("dense", input_shape=train.sample_shape, hidden=[1000, 500, 250], code_size=30,
                               activation="elu")
    threads: list[int] = []
    cb = LambdaCallback(on_epoch_end=lambda t, logs: threads.append(torch.get_num_threads()))
    history = aekit.fit(model, train.x, epochs=epochs, batch_size=128, progress=False, callbacks=[cb])
    seconds = sum(history["time"][1:])  # the first epoch warms up (and the governor takes its first look)
    return {"samples_per_s": len(train) * (epochs - 1) / seconds, "threads": threads[-1],
            "first_per_s": len(train) / history["time"][0]}


def run_measure(epochs: int, env: dict[str, str] | None = None, first_check: float | None = None) -> dict:
    extra = [] if first_check is None else ["--first-check", str(first_check)]
    out = subprocess.run([sys.executable, __file__, "--measure", "--epochs", str(epochs), *extra], check=True,
                         capture_output=True, text=True, env={**os.environ, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--busy", type=int, default=2, help="other CPU-bound processes to start")
    parser.add_argument("--limit", type=float, default=600, help="seconds after which each busy process stops")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first-check", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.epochs, args.first_check)))
        return

    cores = os.cpu_count() or 1
    print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}")
    rows = [("idle", "default", run_measure(args.epochs))]
    busy = [subprocess.Popen([sys.executable, "-c", BUSY.format(limit=args.limit)]) for _ in range(args.busy)]
    try:
        time.sleep(3)
        rows.append((f"{args.busy} busy", "default (governor)", run_measure(args.epochs)))
        rows.append((f"{args.busy} busy", "governor, first look 2 s", run_measure(args.epochs, first_check=2.0)))
        rows.append((f"{args.busy} busy", f"OMP_NUM_THREADS={cores}", run_measure(args.epochs, {"OMP_NUM_THREADS": str(cores)})))
        load = os.getloadavg()[0]
    finally:
        for p in busy:
            p.kill()
    idle, idle_first = rows[0][2]["samples_per_s"], rows[0][2]["first_per_s"]
    print(f"{'machine':<10} {'threads':<26} {'used':>4} {'samples/s':>10} {'vs idle':>8} {'epoch 1':>8} {'vs idle':>8}")
    for machine, how, r in rows:
        print(f"{machine:<10} {how:<26} {r['threads']:>4} {r['samples_per_s']:>10.0f} {r['samples_per_s'] / idle:>7.2f}x"
              f" {r['first_per_s']:>8.0f} {r['first_per_s'] / idle_first:>7.2f}x")
    print(f"load average at the end of the busy part: {load:.2f}")


if __name__ == "__main__":
    main()
