"""Where `aekit.fit`'s time goes, by torch.profiler: data, forward, loss, backward, optimiser, Python.

Profiles one short `aekit.fit` per configuration and splits its wall time by the top-level events of
the main thread: batch gathering (aten::index / copies), the model's forward and its loss (labelled
with record_function), the backward pass (autograd engine), the optimiser's step and zero_grad, the
loss read-back (`item`, the NaN check) and the rest of the trainer's bookkeeping; "Python and
dispatch" is wall time not covered by any op. The second configuration is the trainer as it was
before issue 7: torch's default (per-tensor, unfused) Adam kernels and NCHW (not channels-last)
convolutions.

    python benchmarks/profile_trainer.py [--workload dense:256] [--steps 30] [--threads 1] [--top 12]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections import defaultdict
from unittest import mock

import torch
from throughput import load_train, make_model  # benchmarks/throughput.py, next to this file
from torch.profiler import ProfilerActivity, profile, record_function

import aekit
from aekit.training import loop


def labelled(fn, label: str):
    def wrapper(*args, **kwargs):
        with record_function(label):
            return fn(*args, **kwargs)

    return wrapper


def category(name: str) -> str:
    if name in ("aekit.forward", "aekit.loss"):
        return name.split(".")[1]
    if name.startswith("autograd::engine") or "Backward" in name:
        return "backward"
    if name.startswith("Optimizer.step") or name.startswith("Optimizer.zero_grad"):
        return "optimiser"
    if name in ("aten::index", "aten::index_select", "aten::to", "aten::_to_copy", "aten::slice",
                "aten::contiguous", "aten::randperm", "aten::arange"):
        return "data (batch gather)"
    if name in ("aten::item", "aten::_local_scalar_dense"):
        return "loss read-back (NaN check)"
    return "other ops (logging sums, ...)"


def profile_fit(kind: str, x: torch.Tensor, batch_size: int, steps: int, **patches):
    model = make_model(kind)
    model.forward = labelled(model.forward, "aekit.forward")
    model.loss = labelled(model.loss, "aekit.loss")
    subset = x[: steps * batch_size]
    aekit.fit(make_model(kind), subset[: 4 * batch_size], epochs=1, batch_size=batch_size, progress=False)  # warm-up
    with contextlib_patches(patches), profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        aekit.fit(model, subset, epochs=1, batch_size=batch_size, lr=1e-3, progress=False)
        wall = time.perf_counter() - start
    return prof, wall


def contextlib_patches(patches):
    stack = contextlib.ExitStack()
    for target, value in patches.items():
        stack.enter_context(mock.patch(target, value))
    return stack


def split(prof, wall: float) -> dict[str, float]:
    """Seconds per category, from the main thread's top-level events."""
    events = [e for e in prof.events() if e.cpu_parent is None and e.device_type.name == "CPU"]
    main = max({e.thread for e in events}, key=lambda t: sum(e.cpu_time_total for e in events if e.thread == t))
    out: dict[str, float] = defaultdict(float)
    for e in events:
        if e.thread == main:
            out[category(e.name)] += e.cpu_time_total / 1e6
    out["Python and dispatch (no op running)"] = max(0.0, wall - sum(out.values()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="dense:256")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--top", type=int, default=12, help="rows of the op table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    kind, bs = args.workload.split(":")
    batch_size = int(bs)
    x, name = load_train()
    print(f"{kind} autoencoder, batch {batch_size}, {args.steps} steps on {name}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}")

    configs = {
        "aekit.fit (fused Adam)": {},
        "before issue 7 (unfused Adam, NCHW)": {
            "aekit.training.loop._fused_devices": lambda: [],
            "aekit.training.loop.uses_convolutions": lambda model: False,
        },
    }
    splits = {}
    for label, patches in configs.items():
        prof, wall = profile_fit(kind, x, batch_size, args.steps, **patches)
        splits[label] = (split(prof, wall), wall)
        if not patches:
            print(f"\ntop ops of {label} by self CPU time:")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top,
                                            max_name_column_width=40))

    labels = list(splits)
    cats = list(dict.fromkeys(c for s, _ in splits.values() for c in s))
    print(f"{'where the time goes (share of wall time)':<40}" + "".join(f"{lab:>40}" for lab in labels))
    for c in cats:
        print(f"{c:<40}" + "".join(f"{100 * s.get(c, 0) / w:>39.1f}%" for s, w in splits.values()))
    print(f"{'wall time per step (ms)':<40}" + "".join(f"{1e3 * w / args.steps:>40.1f}" for _, w in splits.values()))
    print(f"(profiling adds its own overhead; load average now {os.getloadavg()[0]:.1f}; "
          f"loop module: {loop.__file__})")


if __name__ == "__main__":
    main()
