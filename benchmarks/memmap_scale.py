"""Bigger than memory: peak memory stays flat and epoch time grows linearly as a memory-mapped data set
grows 10x.

Writes uint8 .npy files of N and 10 N real MNIST digits (the 60,000 training digits, tiled), then for
each trains a small dense autoencoder for one epoch in a fresh process, two ways:

  memmap     aekit.fit(model, np.load(path, mmap_mode="r"))   read a batch at a time
  in memory  aekit.fit(model, whole file as float32 / 255)     the usual way, for contrast

and prints the epoch time (the whole `fit` call), time per sample and the peak memory of that
process, sampled every 10 ms from /proc/self/status: peak RSS (all resident pages, file-backed
ones included), its private (anonymous) part, and the growth of RSS over the fit. Linux only.

    AEKIT_DATA_DIR=/work/shared/data python benchmarks/memmap_scale.py [--n 50000] [--factor 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

CHILD = textwrap.dedent(
    """
    import json, sys, threading, time
    import numpy as np, torch
    import aekit
    path, mode, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    peak = {"rss": 0, "anon": 0}
    done = False

    def status():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        kb = lambda k: int(fields[k].split()[0]) if k in fields else 0
        return kb("VmRSS"), kb("RssAnon")

    def sample():
        while not done:
            rss, anon = status()
            peak["rss"], peak["anon"] = max(peak["rss"], rss), max(peak["anon"], anon)
            time.sleep(0.01)

    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])  # torch's one-time import of its compiler stack
    torch.manual_seed(0)
    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=[64], code_size=16)
    base_rss, base_anon = status()
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.perf_counter()
    if mode == "memmap":
        x = np.load(path, mmap_mode="r")
    else:
        x = torch.from_numpy(np.load(path).astype(np.float32) / 255.0)
    aekit.fit(model, x, epochs=1, batch_size=256, lr=1e-3, progress=False)
    seconds = time.perf_counter() - start
    done = True
    watcher.join()
    print(json.dumps({"seconds": seconds, "base_rss_kb": base_rss, "base_anon_kb": base_anon,
                      "peak_rss_kb": peak["rss"], "peak_anon_kb": peak["anon"]}))
    """
)


def write_digits(path: Path, n: int) -> None:
    """n real digits (uint8, (n, 1, 28, 28)), the training set tiled, written without holding n in memory."""
    from aekit.data import load_dataset

    try:
        digits = load_dataset("mnist", "train").x
    except Exception:  # no full MNIST: the bundled 10,000
        digits = load_dataset("mnist-mini", "train").x
    block = np.rint(digits.numpy() * 255).astype(np.uint8)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 1, 28, 28))
    for start in range(0, n, len(block)):
        stop = min(n, start + len(block))
        out[start:stop] = block[: stop - start]
    out.flush()
    del out


def run_child(path: Path, mode: str, threads: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, str(threads)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="the smaller data set; the larger is --factor times it")
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--modes", nargs="+", default=["memmap", "in memory"])
    parser.add_argument("--repeats", type=int, default=2, help="fastest of this many runs (peak memory: the largest)")
    args = parser.parse_args()

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; dense 784-64-16 AE, 1 epoch, batch 256, "
          f"{args.threads} thread(s); fastest of {args.repeats} runs, largest peak")
    head = (f"{'mode':<10} {'N':>9} {'file MB':>8} {'epoch s':>8} {'us/sample':>10} "
            f"{'peak RSS MB':>12} {'(private)':>10} {'RSS growth MB':>14}")
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory(prefix="aekit-memmap-") as tmp:
        for n in (args.n, args.n * args.factor):
            path = Path(tmp) / f"digits-{n}.npy"
            write_digits(path, n)
            for mode in args.modes:
                runs = [run_child(path, mode.replace(" ", "_"), args.threads) for _ in range(args.repeats)]
                r = min(runs, key=lambda run: run["seconds"])
                r = {**r, "peak_rss_kb": max(run["peak_rss_kb"] for run in runs),
                     "peak_anon_kb": max(run["peak_anon_kb"] for run in runs),
                     "base_rss_kb": min(run["base_rss_kb"] for run in runs)}
                mb = 1 / 1024
                print(f"{mode:<10} {n:>9} {path.stat().st_size / 2**20:>8.0f} {r['seconds']:>8.1f} "
                      f"{1e6 * r['seconds'] / n:>10.1f} {r['peak_rss_kb'] * mb:>12.0f} {r['peak_anon_kb'] * mb:>10.0f} "
                      f"{(r['peak_rss_kb'] - r['base_rss_kb']) * mb:>14.0f}", flush=True)
            path.unlink()
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
