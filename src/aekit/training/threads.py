"""A fair share of a busy CPU: how many threads torch uses while training, chosen from what others use.

torch starts one OpenMP thread per core. When other processes keep some cores busy, each parallel
region waits for its slowest thread, and a thread that lost its core makes every step wait: on 2
cores with two other busy processes, training ran ~15x slower than idle, where one thread ran at
the fair share (benchmarks/busy.py). So while training on the CPU, half a second in and then every
2 s, aekit reads how busy the machine is (Linux /proc/stat) apart from itself, and uses as many
threads as there are cores the others leave free (at least one, at most what torch had when training began).

A run with train.deterministic keeps its thread count (sums split over threads differ in their last bits).
The user's choice always wins: with OMP_NUM_THREADS or MKL_NUM_THREADS set, or after
`torch.set_num_threads(n)` to anything but torch's default (as found when aekit was imported after
torch, or else when this module was), nothing is changed.
"""

from __future__ import annotations

import math
import os
import threading
import time

import torch

from .. import _TORCH_THREADS

CHECK_SECONDS = 2.0  # how often the load is read
FIRST_CHECK_SECONDS = 0.5  # the first look comes sooner: a first epoch on every core of a busy machine ran 2-7x slower
# torch's choice (one per core) as `import aekit` found it where torch came first, else as found now
_TORCH_DEFAULT = _TORCH_THREADS or torch.get_num_threads()


def allotted_cores() -> int:
    """The cores this process may use: its CPU affinity (a container's, a scheduler's pinning), and no more than a
    SLURM job's SLURM_CPUS_PER_TASK (a cluster trial: a job of 1 core started on every core of the node)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "").strip()
    return min(cores, int(slurm)) if slurm.isdecimal() and int(slurm) > 0 else cores


def _cpu_rows() -> tuple[list[list[int]], int] | None:
    """/proc/stat's counters of the cores this process may run on (its affinity: on a shared node, other jobs' cores
    are not its own; a cluster trial saw a 4-core job on a busy 64-core node fall to 1 thread), or the whole
    machine's total where not every one of those has its row (a container's /proc numbering them otherwise), with
    how many cores they count; None without /proc/stat."""
    try:
        with open("/proc/stat") as f:
            rows = {parts[0]: [int(v) for v in parts[1:]] for parts in map(str.split, f) if parts and parts[0].startswith("cpu")}
    except (OSError, ValueError):
        return None
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if allowed and all(f"cpu{n}" in rows for n in allowed):
        return [rows[f"cpu{n}"] for n in allowed], len(allowed)
    return ([rows["cpu"]], os.cpu_count() or 1) if "cpu" in rows else None


def _busy_seconds() -> float | None:
    """CPU-seconds the cores counted (_cpu_rows) spent busy since boot (None where /proc/stat is not there)."""
    read = _cpu_rows()
    if read is None:
        return None
    idle = sum(f[3] + (f[4] if len(f) > 4 else 0) for f in read[0])  # idle + iowait
    return (sum(sum(f[:8]) for f in read[0]) - idle) / os.sysconf("SC_CLK_TCK")


def _counted_cores() -> int:
    """How many cores _busy_seconds counts."""
    read = _cpu_rows()
    return read[1] if read is not None else os.cpu_count() or 1


class ThreadGovernor:
    """Call `update()` often (it reads the load FIRST_CHECK_SECONDS after it was made, then every CHECK_SECONDS);
    it sets torch's thread count."""

    def __init__(self, *, enabled: bool = True) -> None:
        user_set = any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"))
        self.start_threads = torch.get_num_threads()
        ours = not user_set and self.start_threads == _TORCH_DEFAULT  # torch's default: aekit's to choose
        self.max_threads = min(self.start_threads, allotted_cores()) if ours else self.start_threads  # (SLURM's share)
        self.used = {self.max_threads}  # every count it trained at (a run records them: they move its weights' last bits)
        main = threading.current_thread() is threading.main_thread()  # (a worker thread's count is its own, and a
        # thread first using torch while it was lowered kept the lowered one for good: a concurrency hunt)
        self.active = enabled and main and ours and self.max_threads > 1 and _busy_seconds() is not None
        self.cores = _counted_cores() if self.active else self.max_threads  # the cores whose load it reads
        self._last = self._sample() if self.active else None
        self._wait = FIRST_CHECK_SECONDS
        self.given_back: int | None = None  # the count begin found, which restore gives back

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        return time.monotonic(), _busy_seconds() or 0.0, time.process_time()

    def update(self) -> None:
        if not self.active:
            return
        now = self._sample()
        wall = now[0] - self._last[0]
        if wall < self._wait:
            return
        self._wait = CHECK_SECONDS
        others = max(0.0, (now[1] - self._last[1]) - (now[2] - self._last[2])) / wall  # cores busy elsewhere
        self._last = now
        free = self.cores - math.ceil(others - 0.25)  # a quarter core of background noise is no one
        threads = min(self.max_threads, max(1, free))
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
            self.used.add(threads)

    def begin(self) -> None:
        """As training starts: a job's allotted cores, where torch would use more; `restore` gives back the count
        found here (a review: a fit in another's callback gave back the count its trainer was made at)."""
        self.given_back = torch.get_num_threads()
        if self.given_back != self.max_threads:
            torch.set_num_threads(self.max_threads)

    def restore(self) -> None:
        if self.given_back is not None and torch.get_num_threads() != self.given_back:
            torch.set_num_threads(self.given_back)


def flush_denormals(on: bool) -> None:
    """torch.set_flush_denormal(on) in the calling thread and in each of torch's OpenMP threads. The flag is each
    thread's own (x86's MXCSR), torch sets the caller's alone, and a thread starts with its maker's: a pool made
    before (by any parallel op) kept the work it splits slow (a ReLU net's epochs 4x slower on 2 threads). The
    OpenMP runtime (GNU's, as torch's Linux wheels load it) runs the call in each thread; elsewhere the caller's
    thread alone is set."""
    torch.set_flush_denormal(on)
    parallel = _gomp_parallel()
    if parallel is not None and torch.get_num_threads() > 1:
        import ctypes

        each = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: torch.set_flush_denormal(on))
        parallel(each, None, torch.get_num_threads(), 0)


def _gomp_parallel():
    """GOMP_parallel of the OpenMP runtime torch loaded (one that /proc/self/maps shows: never a second copy; torch's
    own where scikit-learn or scipy loaded theirs beside it), or None."""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "libgomp" in line or "libomp" in line}
        home = os.path.realpath(os.path.dirname(torch.__file__)) + os.sep  # (the maps' paths are real: lib64 -> lib)
        torchs = {p for p in paths if os.path.realpath(p).startswith(home)}
        path = next(iter(torchs if len(torchs) == 1 else paths if len(paths) == 1 else ()), None)
        return None if path is None else getattr(ctypes.CDLL(path), "GOMP_parallel", None)
    except OSError:
        return None
