"""The thread governor: as many torch threads as the other processes leave cores free (issue 12)."""

from __future__ import annotations

import types

import pytest

from aekit.training import threads


@pytest.fixture
def machine(monkeypatch):
    """A fake 2-core machine: `others` cores busy elsewhere, this process using `own` cores."""
    state = types.SimpleNamespace(t=0.0, busy=0.0, cpu=0.0, others=0.0, own=2.0, set_to=[], current=2)
    monkeypatch.setattr(threads, "_busy_seconds", lambda: state.busy)
    monkeypatch.setattr(threads, "_TORCH_DEFAULT", 2)
    monkeypatch.setattr(threads, "allotted_cores", lambda: 2)
    monkeypatch.setattr(threads, "_counted_cores", lambda: 2)
    monkeypatch.setattr(threads.time, "monotonic", lambda: state.t)
    monkeypatch.setattr(threads.time, "process_time", lambda: state.cpu)
    monkeypatch.setattr(threads.torch, "get_num_threads", lambda: state.current)

    def set_threads(n):
        state.set_to.append(n)
        state.current = n

    monkeypatch.setattr(threads.torch, "set_num_threads", set_threads)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)

    def advance(seconds):
        share = min(state.own, 2.0 - min(state.others, 2.0 - 1e-9) * state.own / (state.own + state.others))
        state.t += seconds
        state.cpu += share * seconds
        state.busy += min(2.0, share + state.others) * seconds

    state.advance = advance
    return state


def test_one_thread_while_two_other_processes_are_busy_and_two_again_after(machine):
    gov = threads.ThreadGovernor()
    assert gov.active and gov.max_threads == 2
    machine.others = 2.0
    machine.advance(3.0)
    gov.update()
    assert machine.current == 1
    machine.others, machine.own = 0.0, 1.0
    machine.advance(1.0)
    gov.update()  # read at most every CHECK_SECONDS
    assert machine.set_to == [1]
    machine.advance(2.0)
    gov.update()
    assert machine.current == 2
    gov.restore()
    assert machine.current == 2
    assert gov.used == {1, 2}  # what a run's checkpoint records


def test_the_first_look_comes_half_a_second_in_and_the_next_two_seconds_after(machine):
    """A first epoch on every core of a busy machine ran 2-7x slower while the governor waited 2 s for its first look."""
    gov = threads.ThreadGovernor()
    machine.others = 2.0
    machine.advance(0.3)
    gov.update()
    assert machine.set_to == []
    machine.advance(0.3)
    gov.update()
    assert machine.set_to == [1]
    machine.others, machine.own = 0.0, 1.0
    machine.advance(1.0)
    gov.update()
    assert machine.set_to == [1]  # then every CHECK_SECONDS
    machine.advance(1.5)
    gov.update()
    assert machine.set_to == [1, 2]


def test_an_idle_machine_keeps_every_thread(machine):
    gov = threads.ThreadGovernor()
    machine.advance(5.0)
    gov.update()
    assert machine.set_to == [] and machine.current == 2


@pytest.mark.parametrize("env", ["OMP_NUM_THREADS", "MKL_NUM_THREADS"])
def test_the_users_thread_setting_wins(machine, monkeypatch, env):
    monkeypatch.setenv(env, "2")
    gov = threads.ThreadGovernor()
    machine.others = 2.0
    machine.advance(5.0)
    gov.update()
    assert not gov.active and machine.set_to == []


def test_a_thread_count_set_in_python_wins(machine):
    machine.current = 3  # torch.set_num_threads(3) by the user: not torch's default of 2
    gov = threads.ThreadGovernor()
    machine.others = 2.0
    machine.advance(5.0)
    gov.update()
    assert not gov.active and machine.set_to == []


def test_a_deterministic_run_keeps_its_thread_count(machine):
    import aekit
    from aekit.training.loop import TrainConfig, Trainer

    model = aekit.create_model("dense", input_shape=(4,), hidden=[4], code_size=2)
    plain = Trainer(model, TrainConfig(device="cpu"), callbacks=[], run_dir=None)
    fixed = Trainer(model, TrainConfig(device="cpu", deterministic=True), callbacks=[], run_dir=None)
    assert plain.threads.active and not fixed.threads.active  # batch norm's sums depend on the thread count


def test_a_thread_count_set_after_import_aekit_wins_where_torch_came_first():
    """`import torch; import aekit; torch.set_num_threads(3)`: aekit.training, imported on first use, took the
    user's 3 for torch's default and governed it."""
    import os
    import subprocess
    import sys

    code = ("import torch, aekit; torch.set_num_threads(torch.get_num_threads() + 1); "
            "from aekit.training.threads import ThreadGovernor; print(ThreadGovernor().active)")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_run_records_the_thread_counts_it_trained_at_across_a_resume(real_batch, tmp_path):
    """A different thread count moves a run's weights (README), and no run said which it had trained at."""
    import torch

    import aekit
    from aekit.apps import run
    from aekit.training import checkpoint

    before = torch.get_num_threads()
    try:
        for n, epochs, resume in ((1, 1, False), (2, 2, True)):
            torch.set_num_threads(n)
            model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(16,), code_size=4)
            aekit.fit(model, real_batch[:64], epochs=epochs, batch_size=32, run_dir=tmp_path / "r", resume=resume,
                      progress=False)
    finally:
        torch.set_num_threads(before)
    assert checkpoint.checkpoint_header(tmp_path / "r")["threads"] == [1, 2]
    assert run.training_summary(tmp_path / "r")["threads"] == [1, 2]
    for name in ("checkpoint.safetensors", "best.safetensors"):  # a run kept only to be used (training.md): kept too
        (tmp_path / "r" / name).unlink(missing_ok=True)
    assert run.training_summary(tmp_path / "r")["threads"] == [1, 2]



def test_a_jobs_allotment_caps_the_threads_and_the_nodes_other_cores_leave_it_alone(machine, monkeypatch):
    """A cluster trial: a job given SLURM_CPUS_PER_TASK=1 trained on every core of the node. A review: capped as the
    governor was made (a check's trainer's, never trained), the count stayed capped after the command and the training's
    own governor took it for the user's choice; and 8 busy cores of a 64-core node took a 4-core job to 1 thread."""
    monkeypatch.setattr(threads, "allotted_cores", lambda: 1)
    gov = threads.ThreadGovernor()
    assert machine.set_to == [] and gov.max_threads == 1 and gov.used == {1}  # nothing changed until training begins
    gov.begin()
    assert machine.set_to == [1]
    gov.restore()
    assert machine.current == 2  # torch's own count given back
    machine.current = 1  # a fit in another's callback: the count found as it began is given back (a review: 2)
    inner = threads.ThreadGovernor()
    inner.begin()
    inner.restore()
    assert machine.current == 1
    monkeypatch.setattr(threads, "_TORCH_DEFAULT", 8)
    monkeypatch.setattr(threads, "allotted_cores", lambda: 4)
    monkeypatch.setattr(threads, "_counted_cores", lambda: 64)  # no binding: the node's 64 cores are read
    machine.current, machine.set_to = 8, []
    gov = threads.ThreadGovernor()
    gov.begin()
    assert gov.active and machine.current == 4
    machine.t, machine.busy, machine.cpu = machine.t + 5, machine.busy + (4 + 8) * 5, machine.cpu + 4 * 5  # 8 busy elsewhere
    gov.update()
    assert machine.current == 4  # 56 cores free: its 4 kept


def test_the_allotted_cores_and_their_load_are_the_jobs_own(monkeypatch):
    """A cluster trial: the load of the node's other cores (other jobs') took a 4-core job down to 1 thread."""
    import io

    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    assert threads.allotted_cores() == 4
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "2")
    assert threads.allotted_cores() == 2
    stat = ("cpu  1300 0 0 1700 0 0 0 0 0 0\ncpu0 100 0 0 900 0 0 0 0\ncpu1 200 0 0 800 0 0 0 0\n"
            "cpu5 1000 0 0 0 0 0 0 0\nintr 1\n")  # cpu5, another job's, fully busy
    monkeypatch.setattr(threads, "open", lambda *a, **k: io.StringIO(stat), raising=False)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    assert threads._busy_seconds() == 3.0 and threads._counted_cores() == 2  # cpu0's 1 s and cpu1's 2 s; not cpu5's 10
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {7, 8}, raising=False)  # numbered otherwise
    assert threads._busy_seconds() == 13.0  # the total, as before (a container's /proc)
    for odd in ("²", "0", "-1", "abc", " 2 "):  # (a review: "²" is a digit to isdigit, and int() failed on it)
        monkeypatch.setenv("SLURM_CPUS_PER_TASK", odd)
        assert threads.allotted_cores() == 2  # the affinity's 2: odd values ignored, " 2 " read


def test_a_worker_threads_training_leaves_the_thread_count_alone(machine):
    """A concurrency hunt: a fit in a worker thread lowered torch's count, which a thread first using torch meanwhile
    kept for good (a thread's count is its own): the governor acts in the main thread alone."""
    import threading

    made = []
    worker = threading.Thread(target=lambda: made.append(threads.ThreadGovernor()))
    worker.start()
    worker.join()
    assert threads.ThreadGovernor().active and not made[0].active


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # (Python 3.12 on: the fork is the test's point)
def test_a_child_forked_while_another_thread_trains_can_train(tmp_path):
    """A review: a process forked while a thread of its parent held the training turn (registry.FIT_LOCK) inherited it held
    by a thread it lacks, and its first fit waited for ever."""
    import multiprocessing
    import threading

    from aekit.training import loop

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    taken, release = threading.Event(), threading.Event()

    def hold():
        with loop.FIT_LOCK:
            taken.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(10)
    try:
        child = multiprocessing.get_context("fork").Process(target=_fit_in_child)
        child.start()
        child.join(60)
        alive = child.is_alive()
        if alive:
            child.kill()
        assert not alive and child.exitcode == 0
    finally:
        release.set()
        holder.join()


def _fit_in_child():
    import torch

    import aekit

    aekit.fit(aekit.create_model("dense", input_shape=(4,), hidden=[3], code_size=2), torch.rand(8, 4), epochs=1,
              progress=False)
