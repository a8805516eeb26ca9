"""Peak memory of `reconstruct_array` (and every batch-mapped result) before and after two changes, measured
in the same run, a fresh process each: its finite check a chunk of rows at a time (torch.isfinite on the
whole input held 1.75x it), and one output filled in place (a list of batches joined at the end held two).

A memory trial found reconstruct_array peaking at ~2.3x its output. Each row reconstructs N rows of 3,072
values (CIFAR's size) held in memory with a small dense model, and prints the process's peak RSS above
what it held before the call (VmHWM from /proc/self/status, Linux). The training's check of its data
(check_samples) used the same whole-array isfinite, and is chunked alike.

    python benchmarks/reconstruct_memory.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def _kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


def measure(rows: int, joined: bool) -> dict:
    import torch

    import aekit
    from aekit.data import batches

    if joined:  # the implementation before: a whole-array finite check, and a list of batches joined at the end
        batches.all_finite = lambda x: bool(torch.isfinite(x).all())

        def old(model, x, fn, *, batch_size=512):
            with batches.eval_mode(model), torch.no_grad():
                return torch.cat([fn(x[s : s + batch_size]).detach().float().cpu() for s in range(0, len(x), batch_size)])
        batches.map_batches = old
    torch.manual_seed(0)
    x = torch.rand(rows, 3072)
    model = aekit.create_model("dense", input_shape=(3072,), hidden=[64], code_size=16)
    before = _kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM to the current RSS
        f.write("5")
    out = model.reconstruct_array(x)
    return {"output_mb": out.nbytes / 2**20, "peak_above_mb": (_kb("VmHWM") - before) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--measure", choices=["before", "now"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.rows, args.measure == "before")))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f}; {args.rows:,} rows of 3,072 values")
    print("| code | output MB | peak above the start, MB | x the output |")
    print("|---|---:|---:|---:|")
    for how in ("before", "now"):
        out = subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--measure", how], check=True,
                             capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {how} | {r['output_mb']:.0f} | {r['peak_above_mb']:.0f} | {r['peak_above_mb'] / r['output_mb']:.2f}x |")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
