"""Crash safety: a training process killed (SIGKILL) mid-epoch resumes to exactly the weights of an
uninterrupted run, and a kill while a checkpoint is being written never replaces the last good one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch
import yaml

import aekit
from aekit.data import load_dataset
from aekit.training import checkpoint as ckpt
from aekit.training.callbacks import Callback, LambdaCallback
from aekit.training.loop import TrainConfig, Trainer
from aekit.training.stops import StopSignals

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

EPOCHS = 5
KILL_EPOCH = 3  # killed after 3 completed (checkpointed) epochs, 10 batches into the 4th
TRAIN = dict(epochs=EPOCHS, batch_size=32, lr=1e-3, deterministic=True, progress=False)
MODEL = dict(input_shape=(1, 8, 8), hidden=(32,), code_size=6)

TRAIN_SCRIPT = textwrap.dedent(
    f"""
    import sys, time, torch
    import aekit
    from aekit.data import load_dataset
    from aekit.training.callbacks import LambdaCallback
    torch.set_num_threads(1)

    def hang_mid_epoch(trainer, batch, logs):
        if trainer.epoch == {KILL_EPOCH} and batch == 10:
            print("MID_EPOCH", flush=True)  # the parent kills us here
            time.sleep(120)

    x = load_dataset("digits", "train").x
    torch.manual_seed(0)
    model = aekit.create_model("dense", **{MODEL!r})
    more = eval(sys.argv[2]) if len(sys.argv) > 2 else {{}}  # (a test's other settings)
    aekit.fit(model, x, run_dir=sys.argv[1], callbacks=[LambdaCallback(on_batch_end=hang_mid_epoch)], **{TRAIN!r}, **more)
    print("FINISHED", flush=True)
    """
)

WRITE_SCRIPT = textwrap.dedent(
    """
    import os, sys, time, torch
    from aekit.training import checkpoint as ckpt
    path = sys.argv[1]
    ckpt.write(path, {"w": torch.full((1_000_000,), 1.0)}, {"step": 1})
    real_fsync = os.fsync

    def fsync_then_hang(fd):
        real_fsync(fd)  # the new checkpoint's bytes are all in the temporary file now
        print("IN_WRITE", flush=True)  # the parent kills us here, before the rename
        time.sleep(120)

    os.fsync = fsync_then_hang
    ckpt.write(path, {"w": torch.full((1_000_000,), 2.0)}, {"step": 2})
    print("FINISHED", flush=True)
    """
)


def run_until(script: str, arg: Path, signal_line: str, *more: str) -> subprocess.Popen:
    """Start `script` in a fresh Python, wait for it to print `signal_line`, then SIGKILL it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(arg), *more], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )
    watchdog = threading.Timer(120, proc.kill)  # never hang the test suite
    watchdog.start()
    try:
        line = proc.stdout.readline().strip()
        if line != signal_line:
            proc.kill()
            pytest.fail(f"child printed {line!r} instead of {signal_line!r}: {proc.stderr.read()[-2000:]}")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        watchdog.cancel()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return proc


@pytest.mark.parametrize("minutes", [None, 1e-9])
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path, minutes):
    """Killed 10 steps into epoch 4: the part done is lost, or, where checkpoint_minutes have passed (here: at every
    step), kept to its last step; either way the resume ends as a run never killed."""
    run_dir = tmp_path / "run"
    run_until(TRAIN_SCRIPT, run_dir, "MID_EPOCH", repr({"checkpoint_minutes": minutes}))

    _, meta = ckpt.read(run_dir / ckpt.CHECKPOINT_FILE)
    assert meta["epoch"] == KILL_EPOCH  # the epochs done...
    assert meta.get("in_epoch", {}).get("batches") == (None if minutes is None else 10)  # ...and its steps, if kept
    assert not (run_dir / ckpt.MODEL_FILE).exists()

    x = load_dataset("digits", "train").x
    torch.manual_seed(123)  # another init: the resumed weights must come from the checkpoint
    resumed = aekit.create_model("dense", **MODEL)
    history = aekit.fit(resumed, x, run_dir=run_dir, resume=True, **TRAIN)  # the rest trained here

    torch.manual_seed(0)
    uninterrupted = aekit.create_model("dense", **MODEL)
    reference = aekit.fit(uninterrupted, x, **TRAIN)

    assert history["epoch"] == list(range(1, EPOCHS + 1))
    torch.testing.assert_close(history["train_loss"], reference["train_loss"], atol=1e-6, rtol=0)
    for key, value in uninterrupted.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, atol=1e-6, rtol=0, msg=key)
    final = aekit.load_model(run_dir)  # on the CPU, wherever it was trained
    for key, value in uninterrupted.state_dict().items():
        torch.testing.assert_close(final.state_dict()[key], value.cpu(), atol=1e-6, rtol=0, msg=key)


def test_sigkill_while_writing_keeps_the_last_good_checkpoint(tmp_path):
    path = tmp_path / ckpt.CHECKPOINT_FILE
    run_until(WRITE_SCRIPT, path, "IN_WRITE")
    assert list(tmp_path.glob(f".{path.name}.*.tmp")), "the kill should land inside the write"
    tensors, meta = ckpt.read(path)  # intact, and still the first version
    assert meta["step"] == 1
    assert torch.equal(tensors["w"], torch.full((1_000_000,), 1.0))


def test_failure_mid_write_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / ckpt.CHECKPOINT_FILE
    ckpt.write(path, {"w": torch.ones(1000)}, {"step": 1})

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        ckpt.write(path, {"w": torch.zeros(1000)}, {"step": 2})
    monkeypatch.undo()
    tensors, meta = ckpt.read(path)
    assert meta["step"] == 1 and torch.equal(tensors["w"], torch.ones(1000))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the temporary file was removed


HOLD_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from aekit.training import checkpoint as ckpt
    with ckpt.hold(sys.argv[1]):
        print("HELD", flush=True)
        time.sleep(120)
    """
)


def test_a_picture_interrupted_while_written_keeps_the_earlier_one(tmp_path, monkeypatch):
    """A kill trial: a kill while `aekit evaluate` drew reconstructions.png left it cut (unreadable), the earlier good
    picture lost: pictures are written as the other files are, whole or not at all."""
    import PIL.ImageFile
    from matplotlib.figure import Figure
    from PIL import Image

    from aekit.analysis.plots import save_figure

    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "reconstructions.png")
    before = path.read_bytes()
    written = PIL.ImageFile._save

    def killed(im, fp, *args, **kwargs):  # the header is out, then the kill comes
        fp.write(b"\x89PNG\r\n\x1a\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(PIL.ImageFile, "_save", killed)
    fig.add_subplot().plot([0, 1], [0, 1])
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, path)
    assert path.read_bytes() == before and Image.open(path).size == (240, 240)
    assert [p.name for p in tmp_path.iterdir()] == ["reconstructions.png"]  # no temporary left
    monkeypatch.setattr(PIL.ImageFile, "_save", written)


def test_a_run_folder_in_use_is_refused_and_freed_when_its_process_is_killed(tmp_path, capsys):
    from aekit.apps.cli import main

    assert main(["train", "data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=2",
                 "train.epochs=1", "train.progress=false", f"output.dir={tmp_path}", "output.name=r"]) == 0
    run_dir = tmp_path / "r"
    metrics = (run_dir / "metrics.json").read_text()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", HOLD_SCRIPT, str(run_dir)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "HELD"
        capsys.readouterr()
        for command in (["resume", str(run_dir), "--epochs", "2"], ["evaluate", str(run_dir)]):
            assert main(command) == 2
            assert "is in use by another aekit process" in capsys.readouterr().err
        assert (run_dir / "metrics.json").read_text() == metrics and ckpt.epochs_done(run_dir) == 1  # untouched
    finally:
        proc.kill()  # a killed holder frees the folder
        proc.wait()
        proc.stdout.close()
    assert main(["resume", str(run_dir), "--epochs", "2"]) == 0
    assert ckpt.epochs_done(run_dir) == 2


def test_a_stopped_resume_is_said_when_its_older_model_is_loaded(tmp_path, capsys):
    from aekit.apps.cli import main
    from aekit.training.callbacks import LambdaCallback

    x, run = load_dataset("digits").x[:64], tmp_path / "run"
    aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run, epochs=2, progress=False)

    def stop(trainer, logs):
        if trainer.epoch == 4:  # epoch 3's checkpoint is written; a Ctrl-C in the 4th
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run, epochs=6, resume=True, progress=False,
                  callbacks=[LambdaCallback(on_epoch_end=stop)])
    with pytest.warns(UserWarning, match=r"model.safetensors is the model after 2 epochs, but .*checkpoint.safetensors "
                                         r"has trained to epoch 3, in a training stopped before its end: `aekit resume"):
        aekit.load_model(run)
    assert main(["export", str(run), "--format", "torchscript"]) == 0  # the command says it in one line
    assert "aekit: note: " in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        aekit.load_model(run / "checkpoint.safetensors")  # the checkpoint itself: nothing to say


def _trained(tmp_path, capsys, *extra) -> Path:
    """A small run on mnist-mini (a 784-64-2 encoder: some 200 kB of weights)."""
    from aekit.apps.cli import main

    assert main(["train", "model.name=dense", "model.hidden=[64]", "model.code_size=2", "data.name=mnist-mini",
                 "data.limit=300", "train.epochs=1", f"output.dir={tmp_path}", "output.name=run", "--quiet", *extra]) == 0
    capsys.readouterr()
    return tmp_path / "run"


def test_a_full_disk_in_a_torchscript_export_is_one_line_naming_the_file(tmp_path, capsys):
    """torch's own writer aborted the process (a C++ terminate and twenty frames) when a write failed."""
    import resource

    run = _trained(tmp_path, capsys)
    formats = {"torchscript": "encoder.pt", **({"onnx": "encoder.onnx"} if _has("onnx", "onnxscript") else {})}
    for format, name in formats.items():  # ONNX's said the exporter could not export the model
        done = subprocess.run([sys.executable, "-m", "aekit.apps.cli", "export", str(run), "--format", format],
                              capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000)))
        assert done.returncode == 2, done.stderr[-500:]
        assert done.stderr.strip() == (f"aekit: error: {run / name}: File too large; raise the file size limit "
                                       "(ulimit -f) or choose another path")
        assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def _has(*modules: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in modules)


def test_a_full_disk_names_the_file_asked_for_and_evaluate_still_prints_its_figures(tmp_path, capsys, monkeypatch,
                                                                                    feature_clf):
    import errno

    from aekit.apps.cli import main

    run = _trained(tmp_path, capsys)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write's: no file name

    monkeypatch.setattr(os, "fsync", full)  # (the classifier is cached: its training would not depend on the cache)
    assert main(["evaluate", str(run), "--quiet", "--classifier", "mnist-mini",
                 "--classifier-cache", str(feature_clf.path.parent)]) == 2
    out, err = capsys.readouterr()
    assert "squared error per sample (autoencoder)" in out  # computed before the write failed: not lost
    assert err.startswith(f"aekit: error: {run / 'metrics.json'}: No space left on device; free some space")
    scores, calls = tmp_path / "s.csv", []

    def full_at_the_scores(fd):  # (an environment trial: --scores on a full disk lost the figures and metrics.json)
        calls.append(fd)
        if len(calls) > 4:  # metrics.json's and the picture's writes went through (a file's fsync and its folder's)
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_at_the_scores)
    before = (run / "metrics.json").stat().st_mtime_ns
    assert main(["evaluate", str(run), "--quiet", "--classifier", "mnist-mini", "--scores", str(scores),
                 "--classifier-cache", str(feature_clf.path.parent)]) == 2
    out, err = capsys.readouterr()
    assert "squared error per sample (autoencoder)" in out and (run / "metrics.json").stat().st_mtime_ns > before
    assert err.startswith(f"aekit: error: {scores}: No space left on device") and not scores.exists()


def test_a_run_stopped_just_after_its_config_yaml_leaves_no_folder(tmp_path, capsys, monkeypatch):
    """A kill trial: a SIGTERM just after config.yaml was written (before the cleanup's try) left the folder with its
    config.yaml and lock, and the bare line "aekit: interrupted"."""
    from aekit.apps import run as run_module
    from aekit.apps.cli import main

    saved = run_module.save_config

    def stopped(*args, **kwargs):
        saved(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "save_config", stopped)
    assert main(["train", "data.name=digits", "train.epochs=1", f"output.dir={tmp_path}", "output.name=x", "--quiet"]) == 130
    assert capsys.readouterr().err == f"aekit: interrupted before the first checkpoint of {tmp_path / 'x'}: nothing to " \
                                      "resume, train again\n"
    assert not (tmp_path / "x").exists()


def test_out_of_memory_is_one_line_and_a_run_stopped_before_its_first_checkpoint_leaves_no_folder(tmp_path, capsys,
                                                                                                 monkeypatch):
    from aekit.apps import run as run_module
    from aekit.apps.cli import main

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 299. MiB for an array with shape (100000, 784)")

    monkeypatch.setattr(run_module, "fit", no_memory)
    args = ["train", "data.name=digits", "train.epochs=1", f"output.dir={tmp_path}", "output.name=x", "--quiet"]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("aekit: error: out of memory (MemoryError: Unable to allocate 299. MiB")
    assert not (tmp_path / "x").exists()  # a retry under its name is not refused
    monkeypatch.undo()
    assert main([*args[:-2], "output.name=nan", "train.optimizer=sgd", "train.lr=1e12", "--quiet"]) == 2
    assert "the loss became" in capsys.readouterr().err and not (tmp_path / "nan").exists()  # no logs: nothing kept
    assert main([*args[:-2], "output.name=nan", "--quiet"]) == 0


def test_a_non_resumable_experiment_that_fails_names_its_half_written_folder(tmp_path, capsys, monkeypatch):
    import errno

    from aekit.analysis import plots
    from aekit.apps.cli import main

    def full(fig, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(plots, "save_figure", full)
    assert main(["experiment", "run", "tied-mnist", "--tiny", "--out", str(tmp_path)]) == 2
    folder = next(tmp_path.iterdir())
    assert (f"; {folder} holds what the experiment finished, without results.json: it does not resume, so run it "
            "again (and delete that folder)") in capsys.readouterr().err


def test_files_removed_from_a_run_or_an_unfinished_experiment_are_named(tmp_path, capsys):
    from aekit.apps.cli import main

    run = _trained(tmp_path, capsys)
    (run / ckpt.CHECKPOINT_FILE).unlink()  # a finished run: its model alone left
    assert main(["resume", str(run), "--epochs", "3", "--quiet"]) == 2
    assert "holds no checkpoint.safetensors (only its final model.safetensors, which holds no optimiser state" in \
        capsys.readouterr().err
    (run / ckpt.MODEL_FILE).rename(run / "kept.safetensors")  # a resume trial: "stopped before its first checkpoint"
    assert main(["resume", str(run), "--epochs", "3", "--quiet"]) == 2  # for a run that had trained
    assert "holds no checkpoint.safetensors (it was removed: history.json records 1 epoch; put it back, or train it " \
           "again into another folder, or empty this one)" in capsys.readouterr().err
    (run / "kept.safetensors").rename(run / ckpt.MODEL_FILE)
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("seed: 0", "seed:"))  # cut by an edit
    assert main(["evaluate", str(run), "--quiet"]) == 2
    assert f"aekit: error: {run / 'config.yaml'}: train.seed:" in capsys.readouterr().err
    folder = tmp_path / "exp"  # an experiment stopped before its end: no results.json
    folder.mkdir()
    (folder / "experiment.yaml").write_text("experiment: tied-mnist\nsettings: {}\n")
    with pytest.raises(aekit.CheckpointError, match=r"exp is an experiment folder holding no model-\*.safetensors yet"):
        aekit.load_model(folder)
    aekit.save_model(aekit.load_model(run), folder / "model-untied.safetensors")
    with pytest.warns(UserWarning, match=r"exp is an experiment stopped before its end \(no results.json\): "
                                         r"model-untied.safetensors is a model it had saved"):
        aekit.load_model(folder)
    assert main(["evaluate", str(folder), "--quiet"]) == 2
    assert "it stopped before its end (no results.json yet" in capsys.readouterr().err


def test_a_read_only_run_folder_is_said_with_what_still_works(tmp_path, capsys, monkeypatch):
    import builtins
    import errno

    from aekit.apps.cli import main

    run = _trained(tmp_path, capsys)

    def read_only(file, *args, **kwargs):  # as a read-only mount answers (root writes through chmod)
        if str(file).startswith(str(run)) and args and args[0] != "r":
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(ckpt, "open", read_only, raising=False)
    assert main(["evaluate", str(run), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"aekit: error: {run} cannot be written (Read-only file system), and this command writes into it; copy the "
        "folder to a place you may write (aekit evaluate --data FILE writes nothing)")
    assert main(["evaluate", str(run), "--data", "mnist-mini", "--quiet"]) == 0


def test_paths_of_any_script_are_kept_readable_and_a_file_for_a_folder_is_said(tmp_path, capsys):
    pytest.importorskip("onnxscript")  # it exports to ONNX (the dev extra has it)
    from aekit.apps.cli import main

    folder = tmp_path / "dörte ✓"
    run = _trained(folder, capsys)
    text = (run / "config.yaml").read_text(encoding="utf-8")
    assert "ö" in text and "\\x" not in text and yaml.safe_load(text)["output"]["dir"] == str(folder)  # not \xF6
    assert main(["evaluate", str(run), "--quiet"]) == 0
    (tmp_path / "afile").write_text("x")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "afile")]) == 2
    assert capsys.readouterr().err.strip().endswith("afile is a file; give a run folder made by `aekit train`")
    assert main(["export", str(run), "--output", str(tmp_path / "afile" / "x.onnx")]) == 2
    assert "afile: File exists (a file is where a folder is needed); choose another path" in capsys.readouterr().err


def test_a_run_that_ends_in_a_folder_while_another_reads_its_data_is_not_written_over(tmp_path, monkeypatch, capsys):
    """A concurrency trial: two runs of one output.name (or one run_dir), the second still reading its data when the
    first ended: the second rewrote the first's config.yaml (CLI) or trained over its model (aekit.fit), so the
    finished run no longer loaded; both folders' checks came before the lock. They are made again once it is held."""
    from aekit.apps import run as runs
    from aekit.apps.cli import main

    reading = runs.load_splits

    def the_other_ends_meanwhile(cfg, *args, **kwargs):
        monkeypatch.setattr(runs, "load_splits", reading)  # the other run reads its data as usual
        assert main(["train", "data.name=digits", "train.epochs=1", f"output.dir={tmp_path}", "output.name=race",
                     "--quiet"]) == 0
        return reading(cfg, *args, **kwargs)

    monkeypatch.setattr(runs, "load_splits", the_other_ends_meanwhile)
    assert main(["train", "data.name=digits", "train.epochs=1", "model.code_size=3", f"output.dir={tmp_path}",
                 "output.name=race", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert aekit.load_model(tmp_path / "race").config.code_size != 3  # the first run, whole (its config.yaml was not)
    assert "another run was written into it while this one read its data" in err


def test_a_fit_that_ends_in_a_folder_while_another_fit_begins_is_not_trained_over(tmp_path, monkeypatch):
    """The same in Python: the second aekit.fit trained over the first's finished run, both saying they succeeded."""
    from aekit.training import loop

    checking = loop.check_run_folder

    def the_other_fits_meanwhile(run_path, resume):
        checking(run_path, resume)
        monkeypatch.setattr(loop, "check_run_folder", checking)
        aekit.fit(aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2), torch.rand(32, 6),
                  epochs=1, run_dir=run_path, progress=False)

    monkeypatch.setattr(loop, "check_run_folder", the_other_fits_meanwhile)
    with pytest.raises(aekit.ConfigError, match="already holds a checkpoint"):
        aekit.fit(aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=3), torch.rand(32, 6),
                  epochs=1, run_dir=tmp_path / "py", progress=False)
    assert aekit.load_model(tmp_path / "py").config.code_size == 2


def test_two_threads_fitting_into_one_folder_are_told_apart(tmp_path):
    """A concurrency trial: two threads of one process fitting into one run_dir both succeeded, and one thread's
    model was lost without a word (the folder's lock counted the process, not the thread). Trainings of a process
    take turns now (registry.FIT_LOCK): the second waits, then finds the first's finished run there."""
    from aekit.training.callbacks import Callback

    started, results = threading.Event(), {}

    class Slow(Callback):
        def on_epoch_end(self, trainer, logs):
            started.set()
            time.sleep(0.5)

    def fit_first():
        aekit.fit(aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2), torch.rand(32, 6),
                  epochs=2, run_dir=tmp_path / "same", progress=False, callbacks=[Slow()])

    first = threading.Thread(target=fit_first)
    first.start()
    assert started.wait(30)
    try:
        aekit.fit(aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=3), torch.rand(32, 6),
                  epochs=1, run_dir=tmp_path / "same", progress=False)
    except aekit.AekitError as err:
        results["err"] = str(err)
    first.join()
    assert "same already holds a checkpoint; resume it or choose another folder" in results["err"]
    assert aekit.load_model(tmp_path / "same").config.code_size == 2


def test_loading_a_model_of_a_run_training_now_says_so(tmp_path):
    """A concurrency trial: load_model during training advised `aekit resume`, which refuses a folder in use."""
    run = tmp_path / "run"
    aekit.fit(aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2), torch.rand(32, 6), epochs=1,
              run_dir=run, progress=False)
    (run / ckpt.MODEL_FILE).unlink()  # as before its end
    with ckpt.hold(run):  # in use, as by the process training it
        done = threading.Event()

        def load():
            with pytest.warns(UserWarning, match="it is training now \\(its folder is in use\\)"):
                aekit.load_model(run)
            done.set()

        other = threading.Thread(target=load)  # (a thread: this one holding it would count as its own)
        other.start()
        other.join()
    assert done.is_set()
    with pytest.warns(UserWarning, match="`aekit resume .*` finishes it"):
        aekit.load_model(run)


def test_without_flock_the_threads_of_a_process_are_still_refused_one_folder(tmp_path, monkeypatch):
    """A portability review: where fcntl is missing (Windows) hold returned at once, so two threads fitting into one
    folder were not refused, and no lock file told a killed run's folder from a user's."""
    import sys
    import threading

    from aekit.errors import CheckpointError
    from aekit.training import checkpoint as ckpt

    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl then fails, as on Windows
    held, done = threading.Event(), threading.Event()

    def first():
        with ckpt.hold(tmp_path):
            held.set()
            done.wait(30)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert held.wait(30) and (tmp_path / ckpt.LOCK_FILE).is_file()
        with pytest.raises(CheckpointError, match="is in use by another thread of this process"), ckpt.hold(tmp_path):
            pass
    finally:
        done.set()
        thread.join()
    with ckpt.hold(tmp_path):  # free again
        pass


def stop_at(step: int, number: int = signal.SIGINT, times: int = 1) -> LambdaCallback:
    """A callback that sends this process `number` (`times` over) in the step that ends at global step `step`."""
    def send(trainer, batch, logs):
        if trainer.global_step == step:
            for _ in range(times):
                os.kill(os.getpid(), number)
    return LambdaCallback(on_batch_end=send)


def test_a_stop_signal_mid_epoch_checkpoints_the_epoch_so_far_and_the_resume_matches_an_unstopped_run(tmp_path, fit_notes):
    """A cluster trial: a preempted job (its scheduler's SIGTERM or SIGUSR1; Ctrl-C alike) kept the checkpoint of its
    last whole epoch alone, the epoch in progress lost. The step in progress ends, the epoch so far is checkpointed,
    and the resume goes on from that step to the weights and losses of a run never stopped."""
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    steps = -(-len(x) // TRAIN["batch_size"])
    torch.manual_seed(0)
    stopped = aekit.create_model("dense", **MODEL)
    with pytest.raises(KeyboardInterrupt) as caught:
        aekit.fit(stopped, x, run_dir=run_dir, callbacks=[stop_at(2 * steps + 7)], **TRAIN)
    meta = ckpt.checkpoint_header(run_dir)
    assert (meta["epoch"], meta["global_step"], meta["in_epoch"]["batches"]) == (2, 2 * steps + 7, 7)
    assert fit_notes(caught.value) == [f"{run_dir} keeps the checkpoint of epoch 2 and 7 steps of epoch 3's {steps} (the "
                                      "model holds the weights of the step it stopped at): fit(..., resume=True) goes "
                                      "on from it"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    assert not ckpt.training_ended(run_dir)

    torch.manual_seed(123)  # another init: the resumed weights come from the checkpoint
    resumed = aekit.create_model("dense", **MODEL)
    history = aekit.fit(resumed, x, run_dir=run_dir, resume=True, **TRAIN)
    torch.manual_seed(0)
    straight = aekit.create_model("dense", **MODEL)
    reference = aekit.fit(straight, x, **TRAIN)
    assert history["train_loss"] == reference["train_loss"] and history["step"] == reference["step"]
    assert all(torch.equal(resumed.state_dict()[k], v) for k, v in straight.state_dict().items())
    assert "in_epoch" not in ckpt.checkpoint_header(run_dir) and ckpt.training_ended(run_dir)


def test_a_second_stop_signal_is_answered_at_once_and_a_resume_of_other_batches_starts_the_epoch_again(tmp_path):
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    steps = -(-len(x) // TRAIN["batch_size"])
    model = aekit.create_model("dense", **MODEL)
    with pytest.raises(KeyboardInterrupt):  # asked twice in one step: no checkpoint waits for it
        aekit.fit(model, x, run_dir=run_dir, callbacks=[stop_at(steps + 3, times=2)], **TRAIN)
    assert "in_epoch" not in ckpt.checkpoint_header(run_dir) and ckpt.epochs_done(run_dir) == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(model, x, run_dir=run_dir, resume=True, callbacks=[stop_at(steps + 5)], **TRAIN)
    assert ckpt.checkpoint_header(run_dir)["in_epoch"]["batches"] == 5
    with pytest.warns(UserWarning, match=f"its checkpoint was made 5 steps into epoch 2, of {steps} steps over {len(x):,} "
                      f"samples, and this resume makes {-(-len(x) // 64)} over {len(x):,}: epoch 2 starts again"):
        history = aekit.fit(model, x, run_dir=run_dir, resume=True, **{**TRAIN, "batch_size": 64})
    assert history["epoch"] == list(range(1, EPOCHS + 1))


def test_a_stop_signal_to_the_aekit_command_names_the_step_its_checkpoint_keeps(tmp_path, capsys, monkeypatch):
    from aekit.apps.cli import main
    from aekit.training.loop import Trainer

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "dense", "hidden": [16], "code_size": 4},
                                      "data": {"name": "digits"}, "train": {"epochs": 4, "batch_size": 64}}))
    step = Trainer.optimizer_step

    def step_then_signal(trainer, key, loss, scale=1.0):  # a SIGTERM that comes during the epoch's fourth step
        step(trainer, key, loss, scale)
        if trainer.epoch == 1 and trainer.global_step % -(-trainer.data_print["samples"] // 64) == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(Trainer, "optimizer_step", step_then_signal)
    run = tmp_path / "r"
    assert main(["train", str(config), f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert err.startswith("aekit: interrupted; the last checkpoint (epoch 1 and 4 steps of epoch 2's ") and \
        err.endswith(f") is intact: `aekit resume {run}` continues\n"), err
    monkeypatch.undo()
    kept = ckpt.checkpoint_header(run)["global_step"]
    assert main(["evaluate", str(run), "--quiet"]) == 0  # a trial: its figures said "epoch 1", its steps the epoch's
    assert json.loads((run / "metrics.json").read_text())["training"]["steps"] == kept
    assert main(["report", str(run), "--out", str(tmp_path / "page.html")]) == 0
    assert f"of its checkpoint&#39;s weights (epoch 1 and step {kept})" in (tmp_path / "page.html").read_text()
    capsys.readouterr()

    def again(trainer, key, loss, scale=1.0):  # stopped again, in the third epoch's second step
        step(trainer, key, loss, scale)
        if trainer.epoch == 2 and trainer.global_step % -(-trainer.data_print["samples"] // 64) == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(Trainer, "optimizer_step", again)
    assert main(["resume", str(run)]) == 128 + signal.SIGTERM
    assert "4 epochs in all, 1 trained and 4 steps of the next" in capsys.readouterr().out
    monkeypatch.undo()
    assert main(["report", str(run), "--out", str(tmp_path / "page.html")]) == 0  # (a review: "its checkpoint's")
    assert f"of an earlier checkpoint&#39;s weights (epoch 1 and step {kept})" in (tmp_path / "page.html").read_text()
    assert main(["resume", str(run), "--quiet"]) == 0
    assert json.loads((run / "history.json").read_text())["epoch"] == [1, 2, 3, 4]


def test_a_resumed_part_of_an_epoch_counts_the_seconds_of_the_part_its_checkpoint_kept(tmp_path):
    """A trial: the epoch's seconds (history, log.csv, the epoch line, metrics.json) counted only the part after
    the resume."""
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    slow = LambdaCallback(on_batch_end=lambda t, b, logs: t.global_step == 50 and time.sleep(0.6))
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run_dir, callbacks=[slow, stop_at(52)], **TRAIN)
    assert ckpt.checkpoint_header(run_dir)["in_epoch"]["seconds"] >= 0.6
    history = aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run_dir, resume=True, **TRAIN)
    assert history["time"][1] >= 0.6 > max(history["time"][2:])


def test_a_resume_of_a_run_that_early_stopping_ended_evaluates_it_again(tmp_path, capsys):
    """A trial: it trained on (a requeued job's each resume two more epochs, ending elsewhere than a run not
    requeued). To the same length the stop stands; --epochs N trains longer."""
    from aekit.apps.cli import main

    run = tmp_path / "r"
    assert main(["train", "data.name=digits", "model.hidden=[16]", "model.code_size=4", "train.epochs=20",
                 "train.early_stopping=1", "train.min_delta=1000", f"output.dir={tmp_path}", "output.name=r",
                 "--quiet"]) == 0
    assert json.loads((run / "history.json").read_text())["epoch"] == [1]
    capsys.readouterr()
    for same in ([], ["--epochs", "20"]):  # (a review: its own length given was "resuming ... 20 epochs in all")
        assert main(["resume", str(run), *same]) == 0
        assert f"{run} was stopped after 1 epoch (early stopping: " in capsys.readouterr().out
        assert json.loads((run / "history.json").read_text())["epoch"] == [1]
    config = yaml.safe_load((run / "config.yaml").read_text())  # as a longer resume killed before its checkpoint
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "train": {**config["train"], "epochs": 21}}))  # left it
    assert main(["resume", str(run)]) == 0  # (a review: it said "nothing to continue", and trained on)
    assert "21 epochs in all, 1 trained" in capsys.readouterr().out
    assert json.loads((run / "history.json").read_text())["epoch"] == [1, 2]  # (early stopping ends it again)
    assert main(["resume", str(run), "--epochs", "22", "--quiet"]) == 0  # longer: it trains on
    assert json.loads((run / "history.json").read_text())["epoch"] == [1, 2, 3]


@pytest.mark.parametrize("deterministic", [False, True])
def test_a_stop_inside_a_budgets_first_epoch_keeps_it_unless_its_step_plan_is_not_final(tmp_path, deterministic):
    """By wall time the epoch so far is kept; a deterministic budget's first checkpoint saves its final step plan
    (a resume takes exactly the steps of a run not stopped), so a stop before that plan keeps nothing, as before."""
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    model = aekit.create_model("dense", **MODEL)
    train = {**{k: v for k, v in TRAIN.items() if k != "epochs"}, "time_budget": 60, "deterministic": deterministic}
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(model, x, run_dir=run_dir, callbacks=[stop_at(4)], **train)
    if deterministic:
        assert not run_dir.exists()  # stopped before its first checkpoint: the folder it made is removed
        return
    meta = ckpt.checkpoint_header(run_dir)
    assert (meta["epoch"], meta["global_step"], meta["in_epoch"]["batches"]) == (0, 4, 4)
    assert 0 < meta["budget"]["spent"] < 60
    history = aekit.fit(model, x, run_dir=run_dir, resume=True, **{**train, "time_budget": 0.5 + meta["budget"]["spent"]})
    assert history["step"][0] > 4 and ckpt.training_ended(run_dir)


def test_a_run_stopped_inside_an_epoch_is_not_ended_at_the_epochs_it_had_finished(tmp_path, capsys, monkeypatch):
    """Ended there (resume --epochs 2 of a run stopped 3 steps into its third), its model would hold steps past
    the epochs it says, and the report would call it stopped: refused, as fewer epochs than done are."""
    import aekit.training.loop as loop
    from aekit.apps import run as runs

    cfg = runs.load_run_config(None, ["data.name=digits", "model.hidden=[16]", "model.code_size=4", "train.epochs=4",
                                      "train.batch_size=64", f"output.dir={tmp_path}", "output.name=r"])
    real = loop.make_loggers  # (a run takes no callbacks: one beside its loggers stops its third epoch's third step)
    monkeypatch.setattr(loop, "make_loggers", lambda *args, **kwargs: [*real(*args, **kwargs), LambdaCallback(
        on_batch_end=lambda t, b, logs: t.epoch == 2 and b == 2 and os.kill(os.getpid(), signal.SIGINT))])
    with pytest.raises(KeyboardInterrupt):
        runs.train(cfg, progress=False)
    monkeypatch.undo()
    run_dir = tmp_path / "r"
    assert ckpt.checkpoint_place(run_dir).startswith("epoch 2 and 3 steps of epoch 3's ")
    with pytest.raises(aekit.ConfigError, match=r"--epochs: .* has trained 2 of its 4 epochs and 3 steps of the next, "
                                                r"more than 2; give the run's total, more than 2"):
        runs.resume(run_dir, epochs=2)
    model = aekit.load_model(run_dir / ckpt.CHECKPOINT_FILE)
    with pytest.raises(aekit.ConfigError, match="has trained 2 epochs already and part of the next, more than epochs=2"):
        aekit.fit(model, load_dataset("digits", "train").x, run_dir=run_dir, resume=True, epochs=2)
    runs.resume(run_dir, progress=False)
    assert ckpt.training_ended(run_dir) and json.loads((run_dir / "history.json").read_text())["epoch"] == [1, 2, 3, 4]
    capsys.readouterr()


class StopTraining(Callback):
    """Sets stop_training at global step `step` (a user's criterion), and counts the epochs begun (a state)."""

    def __init__(self, step: int) -> None:
        self.step, self.begun = step, 0

    def on_epoch_begin(self, trainer) -> None:
        self.begun += 1

    def on_batch_end(self, trainer, batch, logs) -> None:
        if trainer.global_step == self.step:
            trainer.stop_training, trainer.stop_reason = True, f"stopped at step {self.step}"

    def state_dict(self):
        return {"begun": self.begun}

    def load_state_dict(self, state) -> None:
        self.begun = state["begun"]


@pytest.mark.parametrize("stop_step", [55, 30])
def test_a_stop_signal_in_the_step_a_callback_ends_training_resumes_to_that_end(tmp_path, stop_step, capsys):
    """A review: the stop was not kept, and the resume trained on (into two more epochs); and a resumed part of an
    epoch began it again (on_epoch_begin twice: a callback's count, a draw of its random state)."""
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    signal_step = min(stop_step, 50)  # 55: the signal 5 steps before the callback's stop; 30: in its step
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run_dir,
                  callbacks=[StopTraining(stop_step), stop_at(signal_step)], **TRAIN)
    torch.manual_seed(9)
    resumed, again = aekit.create_model("dense", **MODEL), StopTraining(stop_step)
    history = aekit.fit(resumed, x, run_dir=run_dir, resume=True, callbacks=[again], **{**TRAIN, "progress": True})
    assert f"stopped at step {stop_step}" in capsys.readouterr().out
    torch.manual_seed(0)
    straight, alone = aekit.create_model("dense", **MODEL), StopTraining(stop_step)
    reference = aekit.fit(straight, x, callbacks=[alone], **TRAIN)
    assert history["step"] == reference["step"] and history["train_loss"] == reference["train_loss"]
    assert all(torch.equal(resumed.state_dict()[k], v) for k, v in straight.state_dict().items())
    assert again.begun == alone.begun and ckpt.training_ended(run_dir)


def test_a_stop_signal_in_the_step_a_budget_ends_keeps_the_last_epoch_and_ends_the_run(tmp_path, monkeypatch):
    """A review: the resume left out the part of an epoch the budget had trained (its validation, its history
    row) and the run was never called finished. Now the epoch ends, its checkpoint is written, then the stop."""
    from aekit.training.loop import Budget

    monkeypatch.setattr(Budget, "PLAN_SECONDS", 0.0)
    monkeypatch.setattr(Budget, "_plan", lambda self, step: 100)  # a step plan of 100, final at epoch 1's end
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    train = {**{k: v for k, v in TRAIN.items() if k != "epochs"}, "time_budget": 600}
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(aekit.create_model("dense", **MODEL), x[:-300], x[-300:], run_dir=run_dir, callbacks=[stop_at(100)],
                  **train)
    assert ckpt.checkpoint_header(run_dir)["epoch"] == 3 and "in_epoch" not in ckpt.checkpoint_header(run_dir)
    torch.manual_seed(0)
    reference = aekit.fit(aekit.create_model("dense", **MODEL), x[:-300], x[-300:], **train)
    history = aekit.fit(aekit.create_model("dense", **MODEL), x[:-300], x[-300:], run_dir=run_dir, resume=True, **train)
    assert history["step"] == reference["step"] == [36, 72, 100] and history["val_loss"] == reference["val_loss"]
    assert ckpt.training_ended(run_dir)


def test_a_fit_inside_a_callback_stops_at_once_and_the_signals_are_answered_after_an_epoch(tmp_path):
    """A review: a fit a callback ran (a probe) took the outer trainer's putting-off for its signal's handler, and
    ran to its end; and a signal that came as the handlers were put back was put off for good."""
    x = load_dataset("digits", "train").x
    inner_steps = []

    def probe(trainer, batch, logs):
        if trainer.global_step == 5:
            inner = aekit.create_model("dense", **MODEL)
            inner_steps.append(0)
            aekit.fit(inner, x, run_dir=tmp_path / "inner", epochs=3, batch_size=32, progress=False,
                      callbacks=[LambdaCallback(on_batch_end=lambda t, b, logs: inner_steps.append(1)), stop_at(3)])

    with pytest.raises(KeyboardInterrupt):
        aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=tmp_path / "outer",
                  callbacks=[LambdaCallback(on_batch_end=probe)], **TRAIN)
    assert sum(inner_steps) == 3  # the inner fit stopped in the step the signal came in
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and StopSignals.active is None
    stops = StopSignals(say=False)
    with stops.epoch(enabled=True):
        assert signal.getsignal(signal.SIGINT) == stops._put_off
    with pytest.raises(KeyboardInterrupt):  # a signal to a handler left in place (as one between two restores): at once
        stops._put_off(signal.SIGINT, None)


def test_a_resume_of_a_budget_run_that_early_stopping_ended_says_so(tmp_path, capsys):
    """A review: it said the run "has used its time budget" after 0.01 s of its 60."""
    from aekit.apps.cli import main

    run = tmp_path / "r"
    assert main(["train", "data.name=digits", "model.hidden=[16]", "model.code_size=4", "train.time_budget=60",
                 "train.early_stopping=1", "train.min_delta=1000", f"output.dir={tmp_path}", "output.name=r",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["resume", str(run)]) == 0
    assert f"{run} was stopped after 1 epoch (early stopping: " in capsys.readouterr().out


def test_a_stop_after_the_steps_says_it_waits_for_the_epochs_end_which_is_checkpointed(tmp_path, capfd):
    """A review: a stop during validation (or a callback's epoch end) waited without a word; and the epoch it waits
    for is checkpointed even where checkpoint_every would not have."""
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    at_end = LambdaCallback(on_epoch_end=lambda t, logs: t.epoch == 2 and os.kill(os.getpid(), signal.SIGTERM))
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # (a handler of Python's, as the CLI's)
    try:
        with pytest.raises(KeyboardInterrupt):
            aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run_dir, callbacks=[at_end],
                      **{**TRAIN, "checkpoint_every": 3, "progress": True})
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert ckpt.checkpoint_place(run_dir) == "epoch 2"
    assert "aekit: stopping as this epoch ends, once its validation and checkpoint are done (again to stop at once)" \
        in capfd.readouterr().err


def test_a_fit_in_another_thread_leaves_the_main_threads_stops_put_off(tmp_path):
    """A review: a background fit (a tuner's worker) took the main thread's trainer for an outer one and turned its
    putting-off off: a stop there lost the epoch so far."""
    main, seen = StopSignals(say=False), []

    def other():
        with StopSignals(say=False).epoch(enabled=True):
            seen.append(main.on)

    with main.epoch(enabled=True):
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
    assert seen == [True] and StopSignals.active is None


def test_a_fit_two_deep_leaves_the_fit_around_it_answering_signals_at_once(tmp_path):
    """A review: the innermost fit, as it ended, put the outermost trainer's stops off again while the fit between
    them still ran: a signal there was kept for the outermost, and the middle fit ran to its end."""
    x, middle_steps = load_dataset("digits", "train").x, []

    def innermost(trainer, batch, logs):
        if trainer.global_step == 2:
            aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=tmp_path / "inner2", epochs=1, batch_size=32,
                      progress=False)

    def middle(trainer, batch, logs):
        if trainer.global_step == 5:
            aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=tmp_path / "inner1", epochs=3, batch_size=32,
                      progress=False, callbacks=[LambdaCallback(on_batch_end=innermost), LambdaCallback(
                          on_batch_end=lambda t, b, logs: middle_steps.append(t.global_step)), stop_at(10)])

    with pytest.raises(KeyboardInterrupt):
        aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=tmp_path / "outer",
                  callbacks=[LambdaCallback(on_batch_end=middle)], **TRAIN)
    assert middle_steps[-1] == 10


def test_a_part_of_an_epoch_started_again_does_not_count_its_seconds(tmp_path):
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    slow = LambdaCallback(on_batch_end=lambda t, b, logs: t.global_step == 50 and time.sleep(0.6))
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run_dir, callbacks=[slow, stop_at(52)], **TRAIN)
    with pytest.warns(UserWarning, match="starts again"):
        history = aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run_dir, resume=True,
                            **{**TRAIN, "batch_size": 64})
    assert history["time"][1] < 0.6


def test_checkpoint_minutes_checkpoint_inside_an_epoch_and_at_an_epochs_end_that_checkpoint_every_skips(tmp_path):
    """An epoch of hours lost all of it to a kill or an error (the out-of-memory killer, a node lost): a checkpoint
    comes at least every checkpoint_minutes, inside an epoch (kept as a stop's) or at its end."""
    x, run_dir = load_dataset("digits", "train").x, tmp_path / "run"
    steps = -(-len(x) // TRAIN["batch_size"])

    train = {**TRAIN, "checkpoint_every": 100}
    for minutes, step, kept in ((None, 5, None), (60.0, 5, None), (1e-9, 5, (2, 2 * steps + 4, 4)),
                                (1e-9, 1, (2, 2 * steps, None))):  # (the last: epoch 2's end, not its last step)
        def fail(trainer, batch, logs, step=step):
            if trainer.global_step == 2 * steps + step:
                raise RuntimeError("a failure in epoch 3")

        shutil.rmtree(run_dir, ignore_errors=True)
        with pytest.raises(RuntimeError, match="a failure in epoch 3"):
            aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run_dir,
                      callbacks=[LambdaCallback(on_batch_end=fail)], checkpoint_minutes=minutes, **train)
        meta = ckpt.checkpoint_header(run_dir) if run_dir.exists() else None  # (none: no checkpoint was due)
        place = meta and (meta["epoch"], meta["global_step"], meta.get("in_epoch", {}).get("batches"))
        assert place == kept, (minutes, step, meta)
    history = aekit.fit(aekit.create_model("dense", **MODEL), x, run_dir=run_dir, resume=True, **train)
    assert history["epoch"] == list(range(1, EPOCHS + 1)) and ckpt.training_ended(run_dir)
    with pytest.raises(aekit.ConfigError, match="^train.checkpoint_minutes: must be minutes > 0, or null for checkpoints at "
                                                "epochs' ends alone, got 0.0$"):
        aekit.fit(aekit.create_model("dense", **MODEL), x, checkpoint_minutes=0, **TRAIN)
    trainer = Trainer(aekit.create_model("dense", **MODEL), TrainConfig(checkpoint_minutes=1e-9), callbacks=[],
                      run_dir=run_dir)
    trainer.world = 2  # under torchrun: at epochs' ends (rank 0 writes), not inside them (every process would decide)
    assert trainer.checkpoint_overdue() and not trainer.checkpoint_overdue(inside=True)


def test_a_stop_signal_while_a_model_is_built_on_the_meta_device_is_answered_once_it_is_left():
    """A full suite's SIGHUP test: an interrupt inside `torch.device("meta")`'s exit left torch's mode stack broken,
    the model built next made on meta ("Cannot copy out of meta tensor", exit 1, where 129 was due)."""
    from aekit.training.checkpoint import on_meta
    from aekit.training.stops import signals_held

    ran = []
    with pytest.raises(KeyboardInterrupt):
        with signals_held(), torch.device("meta"):
            os.kill(os.getpid(), signal.SIGINT)
            ran.append(torch.empty(1).device.type)  # the block goes on to its end
    assert ran == ["meta"] and torch.empty(1).device.type == "cpu"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    model = on_meta(lambda: aekit.create_model("dense", **MODEL))  # (its own use)
    assert model is not None and next(model.parameters()).device.type == "meta" and torch.empty(1).device.type == "cpu"


def test_a_run_folder_removed_while_it_trains_is_said_in_one_line_and_a_loggers_thread_too(tmp_path, capsys,
                                                                                           monkeypatch):
    """A kill trial: the run folder removed during training (with TensorBoard's writer thread) printed that thread's
    traceback, and then "runs/r: No such file or directory; choose another path" from the tidying after the error."""
    import shutil
    import threading

    from aekit.apps.cli import main
    from aekit.training.loop import Trainer

    save = Trainer.save_checkpoint

    def removed_first(trainer):  # the folder goes as the first checkpoint is due
        shutil.rmtree(trainer.run_dir)
        thread = threading.Thread(target=lambda: open(trainer.run_dir / "events", "w"), name="writer")  # as a logger's
        thread.start()
        thread.join()
        return save(trainer)

    monkeypatch.setattr(Trainer, "save_checkpoint", removed_first)
    hook = threading.excepthook
    assert main(["train", "data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=2",
                 "train.epochs=2", f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 2, err
    assert "aekit: note: a thread (writer) stopped on FileNotFoundError: [Errno 2] No such file or directory: " in err
    assert f"aekit: error: the run folder {tmp_path / 'r'} was removed while it was written (" in err
    assert threading.excepthook is hook and not (tmp_path / "r").exists()  # not made again


def test_two_interrupts_while_a_checkpoint_is_written_leave_history_json_with_it(tmp_path, monkeypatch):
    """An interrupts hunt: a second Ctrl-C, answered at once, came between the checkpoint's write and history.json's,
    which was left an epoch behind the checkpoint."""
    from aekit.training import loop

    written = loop.atomic_write_text

    def interrupted(path, text):
        if Path(path).name == ckpt.HISTORY_FILE and json.loads(text)["epoch"][-1] == 2:
            os.kill(os.getpid(), signal.SIGINT)  # the first asks for a stop at the step's end, the second at once
            os.kill(os.getpid(), signal.SIGINT)
        written(path, text)

    monkeypatch.setattr(loop, "atomic_write_text", interrupted)
    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2)
    try:
        aekit.fit(model, torch.rand(64, 6), epochs=4, run_dir=tmp_path / "run", progress=False)
    except KeyboardInterrupt:
        pass
    history = json.loads((tmp_path / "run" / ckpt.HISTORY_FILE).read_text())
    assert history["epoch"][-1] == ckpt.read(tmp_path / "run" / ckpt.CHECKPOINT_FILE)[1]["epoch"] >= 2


def test_a_library_that_cannot_be_mapped_for_memory_and_a_removed_current_folder_are_one_line(tmp_path):
    """A locked-down trial: under ulimit -v, scikit-learn's late import (PCA's, after training) failed as an
    "unexpected ImportError: ... failed to map segment from shared object"; in a folder removed under the shell,
    torch's import died as "Intel oneMKL FATAL ERROR"."""
    from aekit.apps.cli import _error_line

    line, code = _error_line(ImportError("libscipy_openblas.so: failed to map segment from shared object"))
    assert line.startswith("out of memory (ImportError: libscipy_openblas.so: failed to map segment") and code == 2
    gone = tmp_path / "gone"
    gone.mkdir()
    script = f"import os, runpy, sys; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); sys.argv = ['aekit', 'train']; " \
             "runpy.run_module('aekit', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 2 and proc.stderr == ("aekit: error: the current folder no longer exists (removed since "
                                                    "the shell entered it); cd to a folder that does and run it again\n")
