"""Data-parallel training over several processes (`torchrun --nproc_per_node=N -m aekit train CFG`).

Every process holds the whole model and takes its shard of each epoch's seeded order, the way
torch's DistributedSampler splits it; DistributedDataParallel averages the gradients. `batch_size`
stays the *global* batch: each of the N processes takes batch_size / N samples a step, so a run on
N processes takes the same steps, on the same samples, as a run on one. Only rank 0 writes (run
folder, checkpoints, history, progress); every rank reads a checkpoint to resume.

Outside torchrun (no WORLD_SIZE > 1 in the environment) every function here is a cheap no-op.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import torch
import torch.distributed as dist
from torch import Tensor

from ..errors import AekitError, ConfigError, shell, warn


def launched() -> bool:
    """True in a process started by torchrun (or anything that sets WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def init() -> bool:
    """Join the process group torchrun describes; returns whether training is distributed.

    gloo carries CPU tensors and NCCL CUDA ones, so one group serves CPU and GPU runs alike.
    """
    if active():
        return True
    if not launched() or not dist.is_available():
        return False
    die_with_parent()
    if torch.cuda.is_available():
        if local_rank() < torch.cuda.device_count():
            torch.cuda.set_device(local_rank())  # one GPU per process (`device` refuses CUDA to more processes)
        dist.init_process_group("cpu:gloo,cuda:nccl")
    else:
        dist.init_process_group("gloo")
    return True


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def finish(status: int = 0) -> NoReturn:
    """End a process of a distributed run with `status`: leave the group, flush stdout and stderr, and exit
    without the interpreter's teardown (os._exit, so atexit handlers do not run: close your own files first).

    Left to that teardown, torch can abort a finished gloo process ("terminate called without an active
    exception", exit -6) after all its work is written: a gloo thread lets go of a tensor while Python shuts
    down (pytorch/pytorch#190489), and a process group DistributedDataParallel used outlives
    destroy_process_group. `python -m aekit` ends its workers here; a script under torchrun can end with it.
    """
    shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more can be said there
            stream.flush()
    os._exit(status)


INTERRUPT_VARIABLE = "AEKIT_INTERRUPT_FILE"  # where rank 0 leaves its "interrupted" line for aekit's launcher


def relay_interrupt(line: str) -> bool:
    """Rank 0's line for an interrupt, left for the launcher of `--distributed` to say (True), where there is one.

    torchrun's agent stops rank 0 with SIGTERM both when the user stops the launcher and when another process
    died; rank 0 cannot tell them apart, the launcher can (a test saw both lines: "interrupted" and "rank 1
    stopped")."""
    path = os.environ.get(INTERRUPT_VARIABLE)
    if not path or not launched():
        return False
    with contextlib.suppress(OSError):
        Path(path).write_text(line + "\n", encoding="utf-8")
    return True


def check_batch(batch_size: int, processes: int) -> None:
    """train.batch_size is the global batch: it must split evenly over the processes."""
    if batch_size % processes:
        raise ConfigError(f"train.batch_size: {batch_size} does not split over {processes} processes; batch_size is "
                          f"the global batch, so give a multiple of {processes}")


def device(base: torch.device) -> torch.device:
    """This process's device: its own GPU (cuda:LOCAL_RANK) when training on CUDA."""
    if active() and base.type == "cuda":
        check_gpus(int(os.environ.get("LOCAL_WORLD_SIZE", local_rank() + 1)), base)  # every process refuses alike
        if base.index is None:
            return torch.device("cuda", local_rank())
        torch.cuda.set_device(base)  # one process a machine on the GPU named: collectives there too, not on init's
        return base
    return base


def check_gpus(processes: int, base: torch.device) -> None:
    """Refuse training on CUDA in more processes on this machine than it has GPUs (one GPU a process)."""
    gpus = torch.cuda.device_count()
    if base.type == "cuda" and base.index is not None and processes > 1:  # (every rank took that one GPU: a review)
        raise ConfigError(f"train.device: {base} names one GPU, but each of the {processes} processes trains on a GPU "
                          "of its own; give train.device=cuda (or auto), and CUDA_VISIBLE_DEVICES to choose the GPUs")
    if base.type == "cuda" and processes > gpus:
        raise ConfigError(
            f"train.device: {processes} processes on this machine, which has {gpus} CUDA GPU"
            f"{'s' if gpus != 1 else ''}: start at most {gpus} (--nproc {gpus}, or torchrun --nproc-per-node={gpus}) "
            "or train on the CPU (train.device=cpu)"
        )


def shard(order: Tensor, rank: int, world: int) -> Tensor:
    """This rank's part of an epoch's `order`: positions rank, rank + world, ... So local batch b of
    every rank together are positions [b * batch_size, (b + 1) * batch_size) of the order: one global
    batch. Nothing is padded: in a last batch that does not split evenly some ranks hold fewer samples
    (or none), and `share` weighs each rank's loss by what it holds."""
    return order[rank::world]


def share(samples: int, batch_samples: int, world: int) -> float:
    """The factor on a rank's mean loss over `samples` of a global batch of `batch_samples`, so that the
    gradient DDP averages over `world` ranks is the mean over the whole batch, as one process takes it."""
    return samples * world / batch_samples


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The model under DistributedDataParallel (which broadcasts rank 0's weights to every rank)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def check_used(model: torch.nn.Module) -> None:
    """Refuse a model whose first backward left trained parameters without a gradient: DDP waits for every
    one, and torch's error at the next step ("Expected to have finished reduction ...") asks for an option
    aekit does not give. One process trains such a model as it is."""
    unused = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    if unused:
        raise ConfigError(f"model: {getattr(model, 'name', type(model).__name__)}'s parameters {', '.join(unused[:4])}{' ...' * (len(unused) > 4)} take "
                          "no part in its loss, and distributed training needs every trained parameter in it; remove "
                          "them or freeze them (requires_grad_(False)), or train in one process")


def average_gradients(params: list[torch.nn.Parameter]) -> None:
    """Replace each gradient by its mean over every rank: for steps DDP does not reduce itself (a model
    with several optimisers, where each step's backward leaves other parameters without gradients)."""
    if not active():
        return
    for p in params:
        if p.grad is not None:  # the same parameters have gradients on every rank: same code, same step
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad.div_(world_size())


def all_sum(values: Tensor) -> Tensor:
    """Sum of `values` over every rank (a copy; `values` itself is not changed)."""
    if not active():
        return values
    total = values.clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def barrier() -> None:
    """Wait until every rank gets here (e.g. until rank 0 has written the run folder)."""
    if active():
        dist.barrier()


def die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when its parent (torchrun's agent, `aekit ...
    --distributed`) dies, even by kill -9: an orphan would go on writing the run folder and race a
    later resume. Checkpoints are written atomically, so the kill never leaves a broken one."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)


def processes(nproc: int | None) -> int:
    """How many processes `--distributed` starts: `nproc`, by default the number of GPUs (else 2)."""
    n = nproc if nproc is not None else (torch.cuda.device_count() if torch.cuda.is_available() else 2)
    if n < 1:
        raise AekitError(f"--nproc: must be >= 1, got {n}")
    return n


def launch(argv: list[str], n: int, *, run_dir: str | None = None) -> int:
    """Run `python -m aekit ARGV` in `n` local processes under torchrun's agent, wait, and return the
    exit status: 0, that of the failed process (which printed its error: rank 0 speaks for all), or
    128 + the signal (Ctrl-C, kill) that the agent passed on to the processes. `run_dir`: the run they
    continue, named if rank 0 dies without a word. Each process gets an equal share of the CPU's cores as
    its threads (torchrun's default is one), unless OMP_NUM_THREADS says otherwise."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    for name in list(logging.root.manager.loggerDict):  # the agent's W/E lines only repeat what rank 0 says
        if name.startswith(("torch.distributed.elastic", "torch.distributed.run", "torch.distributed.launcher")):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    # the agent stops the processes on these signals; one ignored here stays so (nohup's SIGHUP: a review saw it stop a
    # run under nohup)
    handled = [name for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1")
               if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN]
    for stale in Path(tempfile.gettempdir()).glob("aekit-relay-*-*"):  # a killed launcher's (kill -9: no finally)
        pid = stale.name.split("-")[2]
        if pid.isdecimal() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    parser = get_args_parser()
    chosen = ["--signals-to-handle", ",".join(handled) or "SIGTERM"] if any(  # (torch 2.9 on: older ones have no such
        "--signals-to-handle" in a.option_strings for a in parser._actions) else []  # option, and handle them all)
    from .threads import allotted_cores

    cores = allotted_cores()  # (a container's, a SLURM job's)
    if n > cores and not torch.cuda.is_available():
        warn(f"--nproc {n}: more processes than this machine's {cores} CPU cores, which they share: slower than "
             f"--nproc {cores}, with the same steps")
    threads = "OMP_NUM_THREADS" not in os.environ
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(max(1, cores // n))
    relay = Path(tempfile.mkdtemp(prefix=f"aekit-relay-{os.getpid()}-")) / "interrupted"  # (removed in the finally)
    os.environ[INTERRUPT_VARIABLE] = str(relay)
    try:
        # the agent's (empty) log folders in the relay folder, which goes at the end: a launch left one in /tmp each time
        run(parser.parse_args(["--standalone", f"--nproc-per-node={n}", *chosen, "--log-dir", str(relay.parent),
                               "-m", "aekit", *argv]))
    except SignalException as err:  # the user's Ctrl-C or kill: rank 0's line says what was kept
        _say(relay)
        return 128 + err.sigval
    except ChildFailedError as err:
        stopped_by_agent = (-signal.SIGTERM, 128 + signal.SIGTERM)  # the agent's stop of the others, as such or said
        others = [r for r, f in err.failures.items() if r != 0 and f.exitcode not in stopped_by_agent]
        if 0 in err.failures and err.failures[0].exitcode > 0 and not (  # rank 0 said its error; but not its
                err.failures[0].exitcode == 128 + signal.SIGTERM and others):  # interrupt where another rank died
            _say(relay)  # (a signal sent to rank 0 itself; an error it said itself)
            return err.failures[0].exitcode  # (a review: a killed rank 1 ended as the user's "interrupted", 143)
        # every rank that stopped, the agent's SIGTERMs last (a trial: a rank 1 killed at the start was reported as
        # "rank 0 stopped (SIGTERM)")
        stopped = sorted(err.failures.items(), key=lambda f: (f[1].exitcode in stopped_by_agent, f[0]))
        how = ", and ".join(f"rank {rank}{' stopped' * (i == 0)} ("
                            f"{f'exit status {f.exitcode}' if f.exitcode > 0 else f.signal_name()})"
                            for i, (rank, f) in enumerate(stopped))
        from .checkpoint import CHECKPOINT_FILE

        kept = (f"`aekit resume {shell(run_dir)} --distributed --nproc {n}` continues from its last checkpoint"
                if run_dir and (Path(run_dir) / CHECKPOINT_FILE).is_file() else
                "it stopped before its first checkpoint: train it again" if run_dir else
                "its run folder (the one its first line named) keeps the last checkpoint, if one was written: "
                f"`aekit resume FOLDER --distributed --nproc {n}` continues it")
        raise AekitError(f"distributed training failed: {how}; {kept}") from None
    finally:
        if threads:
            os.environ.pop("OMP_NUM_THREADS", None)
        os.environ.pop(INTERRUPT_VARIABLE, None)
        shutil.rmtree(relay.parent, ignore_errors=True)
    return 0


def _alive(pid: int) -> bool:
    """Whether process `pid` is there (one of another user's counts as there; on Windows, signal 0 is Ctrl-C's
    event: every one counts as there)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (PermissionError: another user's; Windows' own errors: left alone)
        return True
    return True


def _say(relay: Path) -> None:
    """Rank 0's interrupted line, where it left one (launch)."""
    with contextlib.suppress(OSError):
        print(relay.read_text(encoding="utf-8"), end="", file=sys.stderr)


def broadcast(value: Any) -> Any:
    """Rank 0's value (anything picklable) on every rank, so decisions stay in lockstep."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
