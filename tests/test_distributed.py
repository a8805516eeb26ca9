"""Data-parallel training: 2 CPU processes (gloo) under torchrun end with the same weights as each
other and as one process on the same global batch; only rank 0 writes; resume works; the CLI's
`--distributed` starts the processes itself."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import torch
import yaml

import aekit
from aekit.data import load_dataset
from aekit.training import checkpoint as ckpt
from aekit.training.distributed import shard

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built")

MODEL = dict(input_shape=(1, 8, 8), hidden=(32,), code_size=6)
TRAIN = dict(batch_size=32, lr=3e-3, progress=False, seed=2, device="cpu")  # gloo, on a GPU machine too
N = 256  # divisible by 2 processes: no padding, so the batches are exactly those of one process

WORKER = textwrap.dedent(
    f"""
    import sys, torch
    import aekit
    from aekit.data import load_dataset
    from aekit.training.distributed import finish
    torch.set_num_threads(1)
    out = sys.argv[1]
    x = load_dataset("digits", "train").x[:{N}]
    torch.manual_seed(0)
    model = aekit.create_model("dense", **{MODEL!r})
    aekit.fit(model, x, epochs=2, run_dir=out + "/run", **{TRAIN!r})
    aekit.fit(model, x, epochs=3, run_dir=out + "/run", resume=True, **{TRAIN!r})  # resume: 1 more epoch
    rank = torch.distributed.get_rank()
    torch.save({{k: v.clone() for k, v in model.state_dict().items()}}, f"{{out}}/rank{{rank}}.pt")
    finish()  # past torch's teardown, which can abort a finished gloo process (distributed.finish)
    """
)


@pytest.fixture
def one_torchrun_at_a_time(monkeypatch, tmp_path):
    """Two process groups started at once on one machine (pytest-xdist workers) can abort each
    other's gloo setup; a lock file makes the torchrun tests take turns. Their temporary folder is the
    test's own (torchrun's agent, started by a test, leaves a torchelastic_* folder in it)."""
    with open(os.path.join(tempfile.gettempdir(), "aekit-torchrun-tests.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        (tmp_path / "tmp").mkdir(exist_ok=True)
        monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # (the processes a test starts)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # (torchrun run in this one)
        yield


def run_quietly(cmd: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def test_shard_splits_each_global_batch_without_padding():
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    parts = [shard(order, r, 3) for r in range(3)]
    assert [len(p) for p in parts] == [4, 3, 3]  # no sample is repeated to even them out
    # local batch b of every rank, together, is global batch b of the order (batch 2 per rank)
    for b in range(2):
        together = torch.cat([p[2 * b : 2 * b + 2] for p in parts])
        assert sorted(together.tolist()) == sorted(order[6 * b : 6 * b + 6].tolist())
    assert torch.equal(shard(order, 0, 1), order)


UNEVEN_WORKER = textwrap.dedent(
    f"""
    import sys, torch
    import aekit
    from aekit.data import load_dataset
    from aekit.training.distributed import finish
    torch.set_num_threads(1)
    x = load_dataset("digits", "train").x[: int(sys.argv[2])]
    torch.manual_seed(0)
    model = aekit.create_model("dense", **{MODEL!r})
    aekit.fit(model, x, epochs=1, **{TRAIN!r})
    if torch.distributed.get_rank() == 0:
        torch.save(model.state_dict(), sys.argv[1] + "/ddp.pt")
    finish()
    """
)


@pytest.mark.parametrize("n", [229, 225])  # last batch of 5 (3 + 2 per rank) and of 1 (rank 1 holds none)
def test_uneven_last_batch_takes_the_step_of_one_process(tmp_path, n, one_torchrun_at_a_time):
    script = tmp_path / "worker.py"
    script.write_text(UNEVEN_WORKER)
    run_quietly([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                 str(script), str(tmp_path), str(n)])
    ddp = torch.load(tmp_path / "ddp.pt")
    torch.manual_seed(0)
    single = aekit.create_model("dense", **MODEL)
    aekit.fit(single, load_dataset("digits", "train").x[:n], epochs=1, **TRAIN)
    assert max((ddp[k] - v).abs().max().item() for k, v in single.state_dict().items()) < 1e-6


def test_two_processes_match_one_process_and_each_other(tmp_path, one_torchrun_at_a_time):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    run_quietly([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                 str(script), str(tmp_path)])
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)  # DDP keeps the replicas identical

    torch.manual_seed(0)
    single = aekit.create_model("dense", **MODEL)
    history = aekit.fit(single, load_dataset("digits", "train").x[:N], epochs=3, **TRAIN)
    for k, v in single.state_dict().items():
        assert torch.allclose(rank0[k], v, rtol=1e-4, atol=1e-5), k  # same steps; sums in another order
    # rank 0 alone wrote the run folder; the resumed history continues the first run's
    saved = aekit.load_model(tmp_path / "run")
    assert all(torch.equal(saved.state_dict()[k], rank0[k]) for k in rank0)
    _, meta = ckpt.read(tmp_path / "run" / ckpt.CHECKPOINT_FILE)
    assert meta["history"]["epoch"] == [1, 2, 3]
    assert meta["history"]["train_loss"] == pytest.approx(history["train_loss"], rel=1e-4)
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_cli_distributed_flag_trains_and_writes_one_run_folder(tmp_path, one_torchrun_at_a_time):
    config = {
        "model": {"name": "dense", "hidden": [16], "code_size": 4},
        "data": {"name": "digits", "val_fraction": 0.1, "limit": 300},
        "train": {"epochs": 2, "batch_size": 32, "progress": False, "device": "cpu"},
        "output": {"dir": str(tmp_path), "name": "ddp"},
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = run_quietly([sys.executable, "-m", "aekit", "train", str(path), "--distributed", "--nproc", "2", "--quiet"])
    assert proc.stdout.count("squared error per sample (autoencoder)") == 1  # rank 0 alone reports
    run = tmp_path / "ddp"
    assert {"config.yaml", "checkpoint.safetensors", "model.safetensors", "metrics.json"} <= {
        p.name for p in run.iterdir()
    }
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ddp", "tmp"]
    # what the launch leaves in the temporary folder (the fixture's): none of its own (torchrun's agent left an empty
    # torchelastic_* folder at each launch)
    assert not [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith(("torchelastic_", "aekit-"))]
    # resumed the same way: every process joins the group before rank 0 alone takes the folder
    run_quietly([sys.executable, "-m", "aekit", "resume", str(run), "--epochs", "3", "--distributed", "--nproc", "2",
                 "--quiet"])
    assert ckpt.epochs_done(run) == 3


def test_too_few_samples_and_a_lone_batch_norm_sample_are_refused_with_a_size_that_splits(monkeypatch):
    """A multi-process trial: 1 sample over 2 processes failed as "another process ... stopped"; 899 samples in
    batches of 64 with batch norm over 2 processes were told to try 65, which does not split over 2."""
    from aekit.training import distributed

    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    monkeypatch.setattr(distributed, "init", lambda: True)
    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2, batch_norm=True)
    with pytest.raises(aekit.DataError, match=r"^train data: 1 sample cannot be shared by 2 processes; give at least 2"):
        aekit.fit(model, torch.rand(1, 6), batch_size=64, progress=False)
    with pytest.raises(aekit.DataError, match=r"899 samples in batches of 64 over 2 processes leave a batch of 1 sample, "
                                              r"which batch norm cannot train on; choose another train.batch_size \(e.g. 66\)"):
        aekit.fit(model, torch.rand(899, 6), batch_size=64, progress=False)


def test_batch_size_must_split_over_the_processes(monkeypatch, real_batch):
    from aekit.training import distributed

    monkeypatch.setattr(distributed, "world_size", lambda: 3)
    monkeypatch.setattr(distributed, "init", lambda: True)
    with pytest.raises(aekit.ConfigError, match="batch_size: 32 does not split over 3 processes"):
        aekit.fit(aekit.create_model("dense", input_shape=(1, 28, 28), hidden=[8], code_size=2),
                  real_batch[:64], batch_size=32, progress=False)


DROPOUT_WORKER = textwrap.dedent(
    f"""
    import sys, torch
    import aekit
    from aekit.data import load_dataset
    from aekit.training.distributed import finish
    torch.set_num_threads(1)
    out = sys.argv[1]
    x = load_dataset("digits", "train").x[:{N}]
    options = dict(batch_size=32, progress=False, seed=3, device="cpu", deterministic=True)
    for name, first in (("straight", 3), ("resumed", 1)):
        torch.manual_seed(0)
        model = aekit.create_model("dense", input_shape=(1, 8, 8), hidden=(32,), code_size=6, dropout=0.3)
        aekit.fit(model, x, epochs=first, run_dir=f"{{out}}/{{name}}", **options)
        if first < 3:
            aekit.fit(model, x, epochs=3, run_dir=f"{{out}}/{{name}}", resume=True, **options)
        torch.save(model.state_dict(), f"{{out}}/{{name}}{{torch.distributed.get_rank()}}.pt")
    finish()
    """
)


def test_a_resume_of_two_processes_ends_with_the_weights_of_a_run_not_interrupted(tmp_path, one_torchrun_at_a_time):
    """A multi-process trial: with dropout, a resumed 2-process run ended up to 0.355 away from one not interrupted
    (the other ranks' noise was seeded afresh at a resume alone); the README promises the same weights."""
    script = tmp_path / "worker.py"
    script.write_text(DROPOUT_WORKER)
    run_quietly([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                 str(script), str(tmp_path)])
    straight, resumed = (torch.load(tmp_path / f"{name}0.pt") for name in ("straight", "resumed"))
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


AAE_WORKER = textwrap.dedent(
    """
    import sys, torch
    import aekit
    from aekit.data import load_dataset
    from aekit.training.distributed import finish
    torch.set_num_threads(1)
    out = sys.argv[1]
    x = load_dataset("digits", "train").x[:128]
    model = aekit.create_model("aae", input_shape=(1, 8, 8), hidden=(16,), code_size=2, discriminator_hidden=(8,))
    options = dict(batch_size=32, progress=False, amp="bf16", device="cpu")
    aekit.fit(model, x, epochs=1, run_dir=out + "/run", **options)
    aekit.fit(model, x, epochs=2, run_dir=out + "/run", resume=True, **options)
    torch.save(model.state_dict(), f"{out}/rank{torch.distributed.get_rank()}.pt")
    finish()
    """
)


def test_two_optimisers_train_data_parallel_and_resume(tmp_path, one_torchrun_at_a_time):
    """The AAE's alternating steps under DDP (each step averages its own gradients), with AMP and resume."""
    script = tmp_path / "worker.py"
    script.write_text(AAE_WORKER)
    run_quietly([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                 str(script), str(tmp_path)])
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    _, meta = ckpt.read(tmp_path / "run" / ckpt.CHECKPOINT_FILE)
    assert meta["history"]["epoch"] == [1, 2] and "train_discriminator_loss" in meta["history"]


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]


def start_long_run(tmp_path, prefix: list[str], flags: list[str]) -> tuple[subprocess.Popen, list[int]]:
    """`PREFIX -m aekit train ... FLAGS` of many epochs, once its first checkpoint is written: (the
    launcher, its children's pids)."""
    config = {"model": {"name": "dense", "hidden": [16], "code_size": 4}, "data": {"name": "digits"},
              "train": {"epochs": 1000, "batch_size": 32, "progress": False, "device": "cpu"}, "output": {"dir": str(tmp_path), "name": "r"}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*prefix, "-m", "aekit", "train", str(tmp_path / "c.yaml"), "--quiet", *flags], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not (tmp_path / "r" / ckpt.CHECKPOINT_FILE).is_file():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return proc, [int(c) for c in children]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
@pytest.mark.parametrize("prefix, flags", [([sys.executable], ["--distributed", "--nproc", "2"]), (TORCHRUN, [])])
def test_workers_die_with_a_killed_launcher(tmp_path, prefix, flags, one_torchrun_at_a_time):
    proc, workers = start_long_run(tmp_path, prefix, flags)
    assert len(workers) == 2 and all(map(alive, workers))
    proc.kill()
    proc.communicate()
    deadline = time.monotonic() + 10
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(alive, workers))


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_sigterm_stops_a_distributed_run_with_one_line(tmp_path, one_torchrun_at_a_time):
    proc, _ = start_long_run(tmp_path, [sys.executable], ["--distributed", "--nproc", "2"])
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert err.splitlines() == [f"aekit: interrupted; the last checkpoint (epoch {ckpt.epochs_done(tmp_path / 'r')}) "
                                f"is intact: `aekit resume {tmp_path / 'r'} --distributed --nproc 2` continues"], err


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("killed", ["0", "1", "1, then the agent stops 0"])
def test_a_killed_process_is_one_line_naming_the_resume(tmp_path, killed, one_torchrun_at_a_time):
    """A distributed trial: a killed rank 1 gave gloo's raw error (with its "GLHF"), a killed rank 0 no word of the
    checkpoint kept, and the interrupt's hint left out --distributed. Where torchrun's agent stopped rank 0 (SIGTERM)
    before gloo told it of rank 1, rank 0 said "interrupted" beside the launcher's line (a race seen in CI)."""
    proc, workers = start_long_run(tmp_path, [sys.executable], ["--distributed", "--nproc", "2"])
    ranks = {dict(v.split("=", 1) for v in Path(f"/proc/{w}/environ").read_text().split("\0") if "=" in v)["RANK"]: w
             for w in workers}
    os.kill(ranks[killed[0]], signal.SIGKILL)
    if killed.startswith("1, then"):
        os.kill(ranks["0"], signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and len(err.splitlines()) == 1, err
    assert "--distributed --nproc 2` continue" in err and "gloo/transport" not in err, err


def test_a_lost_peer_is_one_line_and_the_hints_fit_the_launch(monkeypatch, tmp_path, capsys):
    """gloo's error for a killed process (rank 0 may also be stopped by torchrun's agent first, so the test of a kill
    above cannot tell which line it gets); the resume hint of a run over several machines; notes outside torchrun."""
    from aekit.apps import cli

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    err = RuntimeError("[../third_party/gloo/gloo/transport/tcp/pair.cc:537] Read error [127.0.0.1]:53944: Connection "
                       "reset by peer. This is typically caused by a remote worker hanging ... GLHF!")
    assert cli._error_line(err) == ("another process of this distributed run stopped (gloo: Connection reset by peer)", 2)
    assert cli.resume_command(tmp_path) == f"aekit resume {tmp_path} --distributed --nproc 2"
    monkeypatch.setenv("WORLD_SIZE", "8")  # two machines of four: torchrun starts it on each
    assert cli.resume_command(tmp_path) == f"torchrun ... -m aekit resume {tmp_path}"
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.setenv("RANK", "3")  # a scheduler's variable outside torchrun: notes are said
    cli._note(UserWarning("said"), UserWarning, "f", 1)
    assert capsys.readouterr().err == "aekit: note: said\n"


def test_a_note_is_said_once_and_a_resume_in_other_processes_says_so(tmp_path, one_torchrun_at_a_time):
    """Notes came once from the launcher and once from each process; a plain resume of a run of two processes
    went on in one without a word."""
    rows = torch.rand(300, 5, generator=torch.Generator().manual_seed(0)).tolist()
    (tmp_path / "t.csv").write_text(",a,b,c,d,e\n" + "".join(f"{i}," + ",".join(f"{v:.4f}" for v in r) + "\n"
                                                             for i, r in enumerate(rows)))
    common = ["train.device=cpu", "--quiet", f"output.dir={tmp_path}", "output.name=r"]
    proc = run_quietly([sys.executable, "-m", "aekit", "train", f"data.name={tmp_path / 't.csv'}", "model.code_size=2",
                        "train.epochs=1", *common, "--distributed", "--nproc", "2"])
    assert proc.stderr.count("unnamed first column") == 1, proc.stderr
    proc = run_quietly([sys.executable, "-m", "aekit", "resume", str(tmp_path / "r"), "--epochs", "2", "--quiet"])
    assert "trained in 2 processes and continues in 1" in proc.stderr and "--distributed --nproc 2 continues" in proc.stderr


def test_an_error_in_the_processes_prints_once_with_its_exit_status(tmp_path, one_torchrun_at_a_time):
    """A setting the launcher cannot check cheaply (the data) fails in every process: rank 0 alone says so."""
    proc = subprocess.run([sys.executable, "-m", "aekit", "train", "data.name=digits", "data.limit=1", "train.device=cpu", "--quiet",
                           f"output.dir={tmp_path}", "--distributed", "--nproc", "2"], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["aekit: error: digits: 1 sample is too few to split with val_fraction 0.1; train without a validation split (data.val_fraction=0) or give more"]


def test_finish_flushes_and_exits_with_the_status(tmp_path):
    """distributed.finish ends the process past the interpreter's teardown: what was printed (unflushed,
    to a pipe) still arrives, and the status is the one given; atexit handlers do not run."""
    code = ("import atexit, sys; from aekit.training.distributed import finish; "
            "atexit.register(print, 'atexit ran'); print('all written', end=''); sys.stderr.write('err'); finish(3)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "all written", "err")


def test_more_processes_than_gpus_is_refused_before_they_start(monkeypatch, capsys, tmp_path):
    """One GPU a process: `--distributed --nproc 2` on a one-GPU machine says so before starting anything
    (torch's 'invalid device ordinal' traceback came from the second process); the CPU is allowed."""
    from aekit.apps.cli import main
    from aekit.training import distributed

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(distributed, "launch", lambda argv, n: pytest.fail("started the processes"))
    assert main(["train", "data.name=digits", f"output.dir={tmp_path}", "--distributed", "--nproc", "2"]) == 2
    assert capsys.readouterr().err.strip() == (
        "aekit: error: train.device: 2 processes on this machine, which has 1 CUDA GPU: start at most 1 (--nproc 1, "
        "or torchrun --nproc-per-node=1) or train on the CPU (train.device=cpu)")
    distributed.check_gpus(2, torch.device("cpu"))
    distributed.check_gpus(1, torch.device("cuda"))
    monkeypatch.setattr(distributed, "active", lambda: True)  # a process torchrun started: each refuses alike
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(aekit.ConfigError, match="2 processes on this machine, which has 1 CUDA GPU"):
        distributed.device(torch.device("cuda"))


def _unused_model() -> str:
    """test_own_model's model file, registered as "unused-ae", with a layer in no loss."""
    from test_own_model import MODEL_FILE

    dec = "                                 nn.Linear(config.width, config.input_dim))\n"
    assert dec in MODEL_FILE
    return MODEL_FILE.replace("{name}", "unused-ae").replace(dec, dec + "        self.extra = nn.Linear(3, 3)  # in no loss\n")


def test_a_parameter_in_no_loss_is_named_at_the_first_distributed_step(tmp_path, one_torchrun_at_a_time):
    """An extension trial: a model of one's own with a parameter its loss never reaches trained in one process,
    and under --distributed failed at its second step with torch's "Expected to have finished reduction", cut
    short, which asks for a DDP option aekit does not give."""
    (tmp_path / "unused.py").write_text(_unused_model())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "aekit", "train", f"imports=[{tmp_path / 'unused.py'}]",
                           "model.name=unused-ae", "data.name=digits", "data.limit=300", "train.epochs=1",
                           "train.batch_size=32", "train.device=cpu", f"output.dir={tmp_path}", "output.name=u",
                           "--distributed", "--nproc", "2", "--quiet"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        "aekit: error: model: unused-ae's parameters extra.weight, extra.bias take no part in its loss, and distributed "
        "training needs every trained parameter in it; remove them or freeze them (requires_grad_(False)), or train in "
        "one process"], proc.stderr
    assert not (tmp_path / "u").exists()  # refused before its first checkpoint: no folder left


def test_a_killed_launchers_relay_folder_is_removed_by_the_next_launch(monkeypatch, tmp_path):
    """The folder where rank 0 leaves its interrupt line for the launcher: a launcher killed with SIGKILL (a test of
    this file's) left it in /tmp, one a run; the next launch removes those of launchers no longer there."""
    import tempfile

    import torch.distributed.run as torchrun

    from aekit.training import distributed

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"aekit-relay-{dead.pid}-abc").mkdir()
    (tmp_path / f"aekit-relay-{os.getpid()}-def").mkdir()  # a launcher still running: its folder stays
    monkeypatch.setattr(torchrun, "run", lambda options: None)
    assert distributed.launch(["train"], 2) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"aekit-relay-{os.getpid()}-def"]


def test_a_killed_rank_0_of_a_named_run_promises_a_checkpoint_only_where_there_is_one(monkeypatch, tmp_path):
    """A review: a named run's rank 0 killed before its first checkpoint (an OOM kill in epoch 1) was told
    "`aekit resume DIR ...` continues from its last checkpoint", of a folder that did not exist."""
    import torch.distributed.run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    from aekit import AekitError
    from aekit.training import distributed

    def killed(options):
        raise ChildFailedError("aekit", {0: ProcessFailure(local_rank=0, pid=1, exitcode=-9, error_file="/nonexistent")})

    monkeypatch.setattr(torchrun, "run", killed)
    with pytest.raises(AekitError, match=r"rank 0 stopped \(SIGKILL\); it stopped before its first checkpoint: train it "
                                         r"again$"):
        distributed.launch(["train"], 2, run_dir=str(tmp_path / "fresh"))
    def first_killed(options):  # rank 1 killed as the processes start; the agent then stops rank 0 (a trial)
        raise ChildFailedError("aekit", {r: ProcessFailure(local_rank=r, pid=1, exitcode=code, error_file="/nonexistent")
                                         for r, code in ((0, -15), (1, -9))})

    monkeypatch.setattr(torchrun, "run", first_killed)
    with pytest.raises(AekitError, match=r"failed: rank 1 stopped \(SIGKILL\), and rank 0 \(SIGTERM\); it stopped before"):
        distributed.launch(["train"], 2, run_dir=str(tmp_path / "fresh"))
    def interrupted_by_the_agent(options):  # rank 0 turned the agent's SIGTERM into its interrupt's 143 (a review)
        raise ChildFailedError("aekit", {r: ProcessFailure(local_rank=r, pid=1, exitcode=code, error_file="/nonexistent")
                                         for r, code in ((0, 143), (1, -9))})

    monkeypatch.setattr(torchrun, "run", interrupted_by_the_agent)
    with pytest.raises(AekitError, match=r"failed: rank 1 stopped \(SIGKILL\), and rank 0 \(exit status 143\);"):
        distributed.launch(["train"], 2, run_dir=str(tmp_path / "fresh"))
    monkeypatch.setattr(torchrun, "run", killed)
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "checkpoint.safetensors").write_bytes(b"")
    with pytest.raises(AekitError, match=r"`aekit resume .*kept --distributed --nproc 2` continues from its last"):
        distributed.launch(["train"], 2, run_dir=str(tmp_path / "kept"))


@pytest.mark.parametrize("command", [["experiment", "run", "mnist-2d", "--tiny"], ["evaluate", "runs/x"], ["models"]])
def test_commands_other_than_train_and_resume_are_refused_under_torchrun(monkeypatch, capsys, command):
    """A multi-process trial: `torchrun ... -m aekit experiment run` wrote one experiment folder a process, and
    `evaluate` under torchrun failed on the folder's lock or ended as 'interrupted'."""
    from aekit.apps import cli

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert cli._main(command) == 2
    assert capsys.readouterr().err == (f"aekit: error: aekit {command[0]} runs in one process; torchrun and --distributed "
                                       "are for aekit train and aekit resume\n")


def test_the_start_line_says_how_many_processes_train(monkeypatch, tmp_path):
    """A multi-process trial: the first line ('training dense ... -> folder') did not say it ran over 2 processes."""
    from aekit.apps import run
    from aekit.training import distributed

    cfg = run.load_run_config(None, ["data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=2"])
    splits = run.load_data(cfg, None)
    model = run.build_model(cfg, splits[0].sample_shape)
    assert "processes" not in run.start_line(cfg, model, (*splits, None), tmp_path)
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    assert "data-parallel over 2 processes" in run.start_line(cfg, model, (*splits, None), tmp_path)


def test_a_signal_ignored_by_the_launcher_is_not_handled_by_torchruns_agent(monkeypatch):
    """A review: under nohup (SIGHUP ignored) a --distributed run stopped when its terminal closed: the agent handles
    SIGTERM, SIGINT, SIGHUP and SIGQUIT whatever the launcher ignored."""
    import signal as signals

    import torch.distributed.run as torchrun

    from aekit.training import distributed

    seen = []
    monkeypatch.setattr(torchrun, "run", lambda options: seen.append(options.signals_to_handle))
    before = signals.signal(signals.SIGHUP, signals.SIG_IGN)
    try:
        distributed.launch(["train"], 2)
    finally:
        signals.signal(signals.SIGHUP, before)
    assert "SIGHUP" not in seen[0].split(",") and "SIGTERM" in seen[0].split(",")
    distributed.launch(["train"], 2)
    assert "SIGHUP" in seen[1].split(",")


def test_an_indexed_gpu_under_several_processes_and_a_gpu_not_there_are_refused(monkeypatch, capsys, tmp_path):
    """A review of the GPU paths: train.device=cuda:0 with --distributed put every rank on GPU 0 (check_gpus and
    device() looked at unindexed devices alone), and cuda:7 on a one-GPU machine met torch's 'invalid device
    ordinal' as an unforeseen error."""
    from aekit.apps.cli import main
    from aekit.training import distributed
    from aekit.training.loop import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(distributed, "launch", lambda argv, n: pytest.fail("started the processes"))
    assert main(["train", "data.name=digits", "train.device=cuda:0", f"output.dir={tmp_path}", "--distributed",
                 "--nproc", "2"]) == 2
    assert "train.device: cuda:0 names one GPU, but each of the 2 processes" in capsys.readouterr().err
    monkeypatch.setattr(distributed, "active", lambda: True)  # a process torchrun started
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(aekit.ConfigError, match="names one GPU"):
        distributed.device(torch.device("cuda:0"))
    assert distributed.device(torch.device("cuda")) == torch.device("cuda:1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")  # one process a machine (a review: its cuda:1 became cuda:0)
    monkeypatch.setenv("LOCAL_RANK", "0")
    current = []  # (and its collectives go there: init had set cuda:LOCAL_RANK)
    monkeypatch.setattr(torch.cuda, "set_device", current.append)
    assert distributed.device(torch.device("cuda:1")) == torch.device("cuda:1") and current == [torch.device("cuda:1")]
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(aekit.ConfigError, match=r"'cuda:2' was asked for but this machine has 2 CUDA GPUs: cuda:0 to "
                                                r"cuda:1, or cuda for the first"):
        resolve_device("cuda:2")


PART_WORKER = textwrap.dedent(
    """
    import json, sys, torch
    import aekit
    from aekit.data import load_dataset
    from aekit.training.distributed import finish
    torch.set_num_threads(1)
    x = load_dataset("digits", "train").x
    torch.manual_seed(0)
    model = aekit.create_model("dense", input_shape=(1, 8, 8), hidden=(16,), code_size=2)
    history = aekit.fit(model, x, epochs=3, batch_size=32, progress=False, run_dir=sys.argv[1], resume=True)
    if not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0:
        json.dump(history, open(sys.argv[2], "w"))
    finish()
    """
)


def test_the_part_of_an_epoch_a_stop_kept_counts_once_in_a_resume_of_two_processes(tmp_path, one_torchrun_at_a_time):
    """A review: each process added the kept part's loss sums, so the epoch's train_loss counted it twice."""
    from aekit.training.callbacks import LambdaCallback

    x = load_dataset("digits", "train").x
    stop = LambdaCallback(on_batch_end=lambda t, b, logs: t.global_step == 60 and os.kill(os.getpid(), signal.SIGINT))
    for name in ("one", "two"):
        torch.manual_seed(0)
        model = aekit.create_model("dense", input_shape=(1, 8, 8), hidden=(16,), code_size=2)
        with pytest.raises(KeyboardInterrupt):
            aekit.fit(model, x, epochs=3, batch_size=32, progress=False, run_dir=tmp_path / name, callbacks=[stop])
    script = tmp_path / "worker.py"
    script.write_text(PART_WORKER)
    run_quietly([sys.executable, str(script), str(tmp_path / "one"), str(tmp_path / "one.json")], timeout=120)
    run_quietly([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(script),
                 str(tmp_path / "two"), str(tmp_path / "two.json")])
    one, two = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("one", "two"))
    assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4)  # (the same samples, reduced apart)
