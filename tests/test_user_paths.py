"""What users hit with their own data and files: dtypes, scaling of a test split, image folders,
batch norm with a last batch of one, run folders that still work from elsewhere, file modes."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import aekit
from aekit.apps.cli import main
from aekit.apps.export import export_model
from aekit.data import load_dataset
from aekit.training.loop import evaluate


def test_float64_and_float16_arrays_train_as_float32():
    model = aekit.create_model("dense", input_shape=(20,), hidden=[8], code_size=2)
    x = np.random.default_rng(0).random((32, 20))  # numpy's default float64
    history = aekit.fit(model, x, epochs=2, batch_size=8, progress=False)
    assert np.isfinite(history["train_loss"]).all()
    assert np.isfinite(evaluate(model, torch.from_numpy(x).half())["loss"])


def test_an_npz_test_split_is_scaled_like_its_training_split(tmp_path):
    rng = np.random.default_rng(0)
    x_train = rng.random((50, 6)) * 10  # values in [0, 10): min-max scaled
    x_test = rng.random((20, 6)) * 3
    path = tmp_path / "tt.npz"
    np.savez(path, x_train=x_train, x_test=x_test)
    train, test = load_dataset(str(path), "train"), load_dataset(str(path), "test")
    lo, hi = x_train.min(), x_train.max()
    np.testing.assert_allclose(train.x.numpy(), (x_train - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(test.x.numpy(), (x_test - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    assert float(test.x.max()) < 0.35  # not stretched to [0, 1] by its own range


def _png(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4), value, dtype=np.uint8)).save(path)


def test_image_folders_skip_hidden_folders_and_refuse_empty_classes(tmp_path):
    for cls in ("a", "b"):
        _png(tmp_path / "imgs" / cls / "1.png", 10)
    _png(tmp_path / "imgs" / ".ipynb_checkpoints" / "1.png", 200)  # a notebook's leftovers
    _png(tmp_path / "imgs" / "a" / ".hidden" / "2.png", 200)
    data = load_dataset(str(tmp_path / "imgs"))
    assert data.classes == ["a", "b"] and len(data) == 2 and data.y.tolist() == [0, 1]
    (tmp_path / "imgs" / "c").mkdir()
    with pytest.raises(aekit.DataError, match=r"class folder\(s\) c hold no images"):
        load_dataset(str(tmp_path / "imgs"))


def test_batch_norm_with_a_last_batch_of_one_sample_is_refused_before_training():
    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2, batch_norm=True)
    with pytest.raises(aekit.DataError, match=r"129 samples in batches of 128 leave a batch of 1 sample.*train.batch_size"):
        aekit.fit(model, torch.rand(129, 6), epochs=1, batch_size=128, progress=False)
    aekit.fit(model, torch.rand(130, 6), epochs=1, batch_size=128, progress=False)  # a last batch of 2 trains


def test_torchscript_export_that_cannot_trace_points_to_onnx(tmp_path, monkeypatch):
    def untraceable(*args, **kwargs):  # what torch 2.13 raises for max_unpool2d in a traced full model
        raise TypeError("cond must be a bool, but got a Tensor.\nmore lines")

    monkeypatch.setattr(torch.jit, "trace", untraceable)
    model = aekit.create_model("conv", input_shape=(1, 8, 8), channels=[2], code_size=3, decoder="unpool")
    with pytest.raises(aekit.ConfigError, match=r"^export: torchscript cannot trace this model's full \(cond must be a bool, but got a Tensor\.\); use --format onnx$"):
        export_model(model, tmp_path / "m.pt", format="torchscript", part="full")
    assert not list(tmp_path.iterdir())  # no file, no temporary left behind


def test_a_run_on_a_relative_file_path_works_from_another_folder(tmp_path, monkeypatch, capsys):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir(), elsewhere.mkdir()
    np.save(work / "x.npy", np.random.default_rng(0).random((40, 6)).astype(np.float32))
    config = {"model": {"name": "dense", "hidden": [4], "code_size": 2}, "data": {"name": "x.npy", "val_fraction": 0.0},
              "train": {"epochs": 1, "batch_size": 16, "progress": False}, "output": {"dir": "runs", "name": "r"}}
    (work / "c.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(work)
    assert main(["train", "c.yaml"]) == 0  # no test split and nothing held out: evaluated on the training data
    printed = capsys.readouterr().out
    assert "train set, 40 samples (no test split and data.val_fraction is 0" in printed
    saved = yaml.safe_load((work / "runs" / "r" / "config.yaml").read_text())
    assert saved["data"]["name"] == str((work / "x.npy").resolve())
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", str(work / "runs" / "r")]) == 0
    assert json.loads((work / "runs" / "r" / "metrics.json").read_text())["split"] == "train"


def test_demo_refuses_zero_epochs(capsys):
    """Named by the flag given, as --out's errors are (a CLI hunt: the key it sets, train.epochs)."""
    assert main(["demo", "--epochs", "0"]) == 2
    assert capsys.readouterr().err == "aekit: error: --epochs: must be > 0, got 0\n"


def test_written_files_follow_the_umask_like_open_does(tmp_path):
    from aekit.writing import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_csv_written_by_pandas_keeps_neither_its_index_nor_its_numeric_header(tmp_path):
    values = np.arange(15, dtype=float).reshape(5, 3) / 14
    numeric_header = tmp_path / "a.csv"  # DataFrame(values).to_csv(index=False)
    numeric_header.write_text("0,1,2\n" + "\n".join(",".join(str(v) for v in row) for row in values) + "\n")
    with_index = tmp_path / "b.csv"  # DataFrame(values, columns=[...]).to_csv(): an unnamed index column
    with_index.write_text(",f1,f2,label\n" + "\n".join(f"{i},{r[0]},{r[1]},{i % 2}" for i, r in enumerate(values)) + "\n")
    a = load_dataset(str(numeric_header))
    np.testing.assert_allclose(a.x.numpy(), values, rtol=1e-6)
    b = load_dataset(str(with_index))
    assert b.x.shape == (5, 2) and b.y.tolist() == [0, 1, 0, 1, 0]
    np.testing.assert_allclose(b.x.numpy(), values[:, :2], rtol=1e-6)  # already in [0, 1]: kept as they are


# --- found by a new-user trial (2026-12-03) --------------------------------------------------------


def _small_run(work, name="r", **train):
    np.save(work / "x.npy", np.random.default_rng(0).random((40, 6)).astype(np.float32))
    args = ["train", "data.name=x.npy", "model.name=dense", "model.hidden=[4]", "model.code_size=2",
            "train.batch_size=16", "train.progress=false", f"output.dir={work / 'runs'}", f"output.name={name}"]
    return main(args + [f"train.{k}={v}" for k, v in {"epochs": 2, **train}.items()])


def test_resume_refuses_a_bad_epochs_count_and_leaves_the_run_as_it_was(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _small_run(tmp_path) == 0
    config = (tmp_path / "runs" / "r" / "config.yaml").read_text()
    assert main(["resume", str(tmp_path / "runs" / "r"), "--epochs", "-3"]) == 2
    assert "--epochs: must be >= 1" in capsys.readouterr().err
    assert main(["resume", str(tmp_path / "runs" / "r"), "--epochs", "1"]) == 0  # shorter: evaluated again only
    assert (tmp_path / "runs" / "r" / "config.yaml").read_text() == config  # still reproduces the 2-epoch run
    assert main(["evaluate", str(tmp_path / "runs" / "r")]) == 0


def test_refused_settings_leave_no_run_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _small_run(tmp_path, monitor="foo") == 2
    assert "train.monitor: 'foo' is not logged" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "r").exists()
    (tmp_path / "runs" / "mine").mkdir(parents=True)
    (tmp_path / "runs" / "mine" / "notes.txt").write_text("a user's own file")
    assert _small_run(tmp_path, name="mine", monitor="foo") == 2  # a folder that was there stays, with its files
    assert (tmp_path / "runs" / "mine" / "notes.txt").read_text() == "a user's own file"
    assert _small_run(tmp_path, seed=-1) == 2
    assert "train.seed: must be in [0, 4294967295], got -1" in capsys.readouterr().err


def test_paths_that_cannot_be_used_get_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((4, 6), dtype=np.float32))
    assert main(["train", "x.npy"]) == 2  # a data file where a config file goes
    assert "config file x.npy is not text (YAML or JSON); a data file goes in data.name=x.npy" in capsys.readouterr().err
    assert main(["demo", "--epochs", "1", "--out", "x.npy"]) == 2  # a file where a folder goes
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: --out: x.npy is a file, where the run folder x.npy/") and err.endswith(
        "needs a folder; give another --out\n")  # said before the data are read (a bug hunt: by mkdir, after them)
    for dirs, name, key in (("x.npy/y", "r", "output.dir"), ("runs", "x/y", "output.name")):
        (tmp_path / "runs").mkdir(exist_ok=True)
        (tmp_path / "runs" / "x").touch()
        assert main(["train", "data.name=digits", f"output.dir={dirs}", f"output.name={name}"]) == 2
        assert capsys.readouterr().err.startswith(f"aekit: error: {key}: ") and not (tmp_path / "runs" / "x").is_dir()
    assert _small_run(tmp_path, epochs=1) == 0
    assert main(["export", str(tmp_path / "runs" / "r"), "--format", "torchscript", "--output", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err


def test_experiment_show_prints_the_settings(capsys):
    assert main(["experiment", "show", "mnist-2d", "--tiny", "train.epochs=1"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["train"]["epochs"] == 1 and shown["model"]["name"] == "dense" and "experiment" in shown


def test_an_experiment_on_a_file_without_a_test_part_uses_its_validation_split(tmp_path, capsys):
    path = tmp_path / "vec.npz"
    np.savez(path, x=np.random.default_rng(0).random((300, 6)).astype(np.float32))
    out = tmp_path / "out"
    assert main(["experiment", "run", "mnist-deep-vs-pca", f"data.name={path}", "model.code_size=2", "--tiny",
                 "--out", str(out)]) == 0
    out_text = capsys.readouterr().out
    assert "has no test part: the test figures below are on its validation split" in out_text
    assert "(all of it: data.test_limit=100 limits a test part)" in out_text  # the tiny preset's limit, said unused
    assert main(["experiment", "run", "mnist-deep-vs-pca", f"data.name={path}", "data.val_fraction=0",
                 "model.code_size=2", "--tiny", "--out", str(out / "none")]) == 2
    assert "no test part to report on and no validation split" in capsys.readouterr().err
    assert not (out / "none").exists() or not any((out / "none").iterdir())  # no experiment folder left
    # an experiment that brings its own queries needs no test part, and says nothing of one
    assert main(["experiment", "run", "retrieval-mnist", "--tiny", "data.val_fraction=0", "--out", str(out / "r")]) == 0
    assert "no test part" not in capsys.readouterr().out


def test_numpy_scalars_are_numbers_and_string_arrays_are_refused():
    model = aekit.create_model("dense", input_shape=(np.int64(6),), hidden=[np.int64(4)], code_size=np.int64(2))
    x = np.random.default_rng(0).random((20, 6)).astype(np.float32)
    history = aekit.fit(model, x, epochs=np.int64(2), lr=np.float32(1e-2), batch_size=np.int64(8), progress=False)
    assert len(history["train_loss"]) == 2
    with pytest.raises(aekit.ConfigError, match="must be an integer"):
        aekit.fit(model, x, epochs=True, progress=False)  # a bool is not a count
    with pytest.raises(aekit.DataError, match="a numpy array of <U1 values; give numbers"):
        aekit.fit(model, np.array([["a"] * 6] * 4), epochs=1, progress=False)


def test_a_budgeted_run_checkpoints_its_first_epoch(tmp_path):
    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2)
    x = np.random.default_rng(0).random((64, 6)).astype(np.float32)

    class CtrlC(aekit.training.callbacks.Callback):
        def on_epoch_begin(self, trainer):
            if trainer.epoch == 1:  # Ctrl-C a moment into a 30-s budget, after one epoch
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        aekit.fit(model, x, time_budget=30, batch_size=16, progress=False, run_dir=tmp_path / "r", callbacks=[CtrlC()])
    resumed = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2)
    history = aekit.fit(resumed, x, time_budget=30, batch_size=16, progress=False, run_dir=tmp_path / "r",
                        resume=True, callbacks=[StopAfter(2)])
    assert history["epoch"][:2] == [1, 2]


class StopAfter(aekit.training.callbacks.Callback):
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, trainer, logs):
        trainer.stop_training = trainer.epoch >= self.epochs


# --- left by the review of those fixes (2026-12-03) ------------------------------------------------


def test_a_monitor_that_is_not_logged_is_refused_before_any_step_or_folder(tmp_path):
    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2)
    x = np.random.default_rng(0).random((32, 6)).astype(np.float32)
    steps = []
    count = aekit.training.callbacks.LambdaCallback(on_batch_end=lambda t, b, terms: steps.append(b))
    with pytest.raises(aekit.ConfigError, match="train.monitor: 'train_recon_error' is not logged; choose one of: "
                                                "train_loss, train_recon$"):  # (an epoch's seconds are no "best")
        aekit.fit(model, x, epochs=1, monitor="train_recon_error", run_dir=tmp_path / "new" / "run",
                  callbacks=[count], progress=False)
    assert steps == [] and not (tmp_path / "new").exists()
    with pytest.raises(aekit.ConfigError, match="one of: train_loss, train_recon, val_loss, val_recon$"):
        aekit.fit(model, x, x[:8], epochs=1, monitor="val_los", progress=False)


def test_looking_at_the_loss_terms_leaves_a_seeded_run_as_it_was():
    x = np.random.default_rng(0).random((32, 6)).astype(np.float32)
    weights = {}
    for monitor in ("train_loss", "train_draw"):
        torch.manual_seed(0)
        model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2)
        plain = model.loss
        model.loss = lambda xb, out, *, y=None, plain=plain: {**plain(xb, out, y=y), "draw": torch.rand(())}
        aekit.fit(model, x, epochs=2, batch_size=8, monitor=monitor, progress=False)
        weights[monitor] = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert torch.equal(weights["train_loss"], weights["train_draw"])  # the check's draws do not change the run


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    from aekit.apps import run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run.time, "strftime", lambda fmt: "20261203-120000")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((40, 6)).astype(np.float32))
    overrides = ["data.name=x.npy", "model.name=dense", "model.hidden=[4]", "model.code_size=2", "train.epochs=1",
                 "train.batch_size=16", "train.progress=false"]
    first = run.train(run.load_run_config(None, overrides))
    second = run.train(run.load_run_config(None, overrides))
    assert (first.name, second.name) == ("dense-x-20261203-120000", "dense-x-20261203-120000-2")
    assert (first / "model.safetensors").is_file() and (second / "model.safetensors").is_file()


def test_a_refused_run_leaves_no_empty_output_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((40, 6)).astype(np.float32))
    args = ["train", "data.name=x.npy", "model.name=dense", "model.hidden=[4]", "model.code_size=2",
            "train.epochs=1", "train.progress=false", f"output.dir={tmp_path / 'new' / 'runs'}"]
    assert main(args + ["train.monitor=foo"]) == 2
    assert "not logged" in capsys.readouterr().err and not (tmp_path / "new").exists()
    (tmp_path / "new" / "runs").mkdir(parents=True)
    assert main(args + ["train.monitor=foo"]) == 2
    assert (tmp_path / "new" / "runs").is_dir()  # there before the run: kept
    deep = [a for a in args if not a.startswith("output.dir=")] + [f"output.dir={tmp_path / 'n1' / 'n2'}",
                                                                    "output.name=" + "a" * 300]
    assert main(deep) == 2  # a paths trial: a name too long left n1/n2 behind, made by mkdir(parents=True)
    assert "File name too long" in capsys.readouterr().err and not (tmp_path / "n1").exists()


@pytest.mark.parametrize("code, hint", [(28, "free some space"), (13, "check its permissions, or choose another path"),
                                        (30, "choose a path you may write to"), (5, "")])
def test_a_file_system_error_gets_a_hint_that_fits_it(monkeypatch, capsys, code, hint):
    from types import SimpleNamespace

    from aekit.apps import cli

    def fails(args):
        raise OSError(code, os.strerror(code), "runs/r/checkpoint.safetensors")

    monkeypatch.setattr(cli, "parse_args", lambda argv: SimpleNamespace(func=fails))
    assert main(["train"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"aekit: error: runs/r/checkpoint.safetensors: {os.strerror(code)}")
    assert hint in err and ("; " in err) == bool(hint)  # an I/O error gets no advice that would not help


def test_make_run_dir_never_shares_a_default_name_and_keeps_a_chosen_one(tmp_path):
    from aekit.apps.run import make_run_dir
    from aekit.training.checkpoint import remove_made

    first, made = make_run_dir(tmp_path / "out" / "exp-20261203-120000", unique=True)
    assert made == [first, tmp_path / "out"]
    second, made_second = make_run_dir(first, unique=True)
    assert second.name == "exp-20261203-120000-2" and made_second == [second]
    mine, made_mine = make_run_dir(first, unique=False)  # output.name: the user's folder, reused
    assert mine == first and made_mine == []
    (tmp_path / "out" / "file").write_text("")
    with pytest.raises(FileExistsError):
        make_run_dir(tmp_path / "out" / "file", unique=False)
    remove_made(made)  # out/ holds another run's folder: only the first run's own folder goes
    assert not first.exists() and second.is_dir()


# --- a second new-user trial (2026-12-03) ----------------------------------------------------------


def _train(tmp_path, *args):
    return main(["train", "train.epochs=1", "train.batch_size=16", "train.progress=false",
                 f"output.dir={tmp_path / 'runs'}", *args])


def test_a_test_part_shaped_unlike_the_training_part_is_refused_before_training(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x_train=rng.random((40, 8, 8)), x_test=rng.random((10, 64)))  # 64 values each
    assert _train(tmp_path, f"data.name={tmp_path / 'd.npz'}", "model.code_size=4") == 2
    err = capsys.readouterr().err
    assert "test data (d): samples of shape [64], but the training samples have shape [1, 8, 8]" in err
    assert not (tmp_path / "runs").exists()


def test_the_default_model_fits_tables_of_few_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "t.npy", rng.random((60, 10)).astype(np.float32))
    assert _train(tmp_path, f"data.name={tmp_path / 't.npy'}") == 0  # 10 columns: a code of 5, not 32
    assert "(PCA-5)" in capsys.readouterr().out
    np.save(tmp_path / "one.npy", rng.random((60, 1)).astype(np.float32))
    assert _train(tmp_path, f"data.name={tmp_path / 'one.npy'}") == 2
    assert "the samples have 1 feature(s): nothing to compress" in capsys.readouterr().err


def test_small_errors_keep_their_digits_and_conv_codes_meet_pca(tmp_path, capsys):
    from aekit.apps.run import format_metrics

    shown = format_metrics({"split": "test", "n": 5, "squared_error_per_sample": 8.48e-8,
                            "pca_code_size": 3, "pca_squared_error_per_sample": 8.65e-8})
    assert "8.480e-08" in shown and "8.650e-08" in shown
    alike = format_metrics({"split": "test", "n": 50, "squared_error_per_sample": 0.000394,  # (a trial: 0.000394
                            "pca_code_size": 3, "pca_squared_error_per_sample": 0.0003943})  # beside 0.0003943)
    assert "(autoencoder): 0.0003940" in alike and "(PCA-3):    0.0003943" in alike
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "img.npz", x_train=rng.random((40, 8, 8)), x_test=rng.random((10, 8, 8)))
    args = [f"data.name={tmp_path / 'img.npz'}", "model.name=conv", "model.channels=[2]"]
    assert _train(tmp_path, *args) == 0  # a 2 x 4 x 4 feature-map code: PCA-32 beside it
    assert "(PCA-32)" in capsys.readouterr().out


def test_run_folder_paths_that_are_files_or_missing_say_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _small_run(tmp_path) == 0
    run = tmp_path / "runs" / "r"
    assert main(["evaluate", str(run / "config.yaml")]) == 2
    assert f"is a file; give the run folder that holds it ({run})" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nope")]) == 2
    assert "nope does not exist" in capsys.readouterr().err
    (tmp_path / "f.py").write_text("")
    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2)
    with pytest.raises(aekit.ConfigError, match="run_dir: .*f.py is a file; give a folder"):
        aekit.fit(model, np.zeros((8, 6), np.float32), epochs=1, run_dir=tmp_path / "f.py", progress=False)


def test_output_name_is_a_folder_name_not_a_path(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("../../escape", "/tmp/abs", "C:\\x", "."):
        assert _small_run(tmp_path, name=name) == 2
        assert f"output.name: {name!r} must stay inside output.dir" in capsys.readouterr().err
    assert not (tmp_path.parent / "escape").exists() and not list((tmp_path / "runs").glob("*"))
    assert _small_run(tmp_path, name="project/run1") == 0  # a folder of runs inside output.dir
    assert main(["evaluate", str(tmp_path / "runs" / "project" / "run1")]) == 0


def test_ctrl_c_names_the_epoch_of_the_checkpoint_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from aekit.apps.cli import _interrupted

    assert _small_run(tmp_path) == 0
    err = KeyboardInterrupt()
    err.run_dir = tmp_path / "runs" / "r"
    assert "its training finished" in _interrupted(err)  # a finished run: evaluate, not resume
    (err.run_dir / "model.safetensors").unlink()  # stopped before its end: the checkpoint, with its epoch
    assert "the last checkpoint (epoch 2) is intact" in _interrupted(err)


def test_ctrl_c_while_evaluating_names_the_folder_and_a_damaged_history_does_not_stop_resume(tmp_path, monkeypatch, capsys):
    from aekit.apps import run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run, "evaluate_run", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert _small_run(tmp_path) == 130
    run_dir = tmp_path / "runs" / "r"  # trained to its end, stopped while evaluating: evaluate goes on
    assert f"its training finished ({run_dir / 'model.safetensors'}): `aekit evaluate {run_dir}` evaluates it" in \
        capsys.readouterr().err
    monkeypatch.undo()
    (tmp_path / "runs" / "r" / "history.json").write_text("{bad")  # the checkpoint holds the history
    assert main(["resume", str(tmp_path / "runs" / "r"), "--epochs", "3", "--quiet"]) == 0
    assert json.loads((tmp_path / "runs" / "r" / "history.json").read_text())["epoch"] == [1, 2, 3]


def test_ctrl_c_before_the_first_checkpoint_leaves_no_folder_and_training_again_works(tmp_path, monkeypatch, capsys):
    from aekit.apps import run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run, "fit", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert _small_run(tmp_path) == 130
    assert "before the first checkpoint" in capsys.readouterr().err and not (tmp_path / "runs" / "r").exists()
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert _small_run(tmp_path) == 0


def test_data_scale_reaches_a_users_file_and_per_column_scaling_is_said(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = np.concatenate([1000 + 300 * rng.random((80, 3)), rng.normal(size=(80, 4))], axis=1)
    np.save(tmp_path / "tab.npy", table.astype(np.float32))
    assert _train(tmp_path, f"data.name={tmp_path / 'tab.npy'}", "model.code_size=3", "output.name=auto") == 0
    assert "inputs: each column scaled to [0, 1] by its training range" in capsys.readouterr().out
    assert _train(tmp_path, f"data.name={tmp_path / 'tab.npy'}", "model.code_size=3", "output.name=one",
                  "data.scale=minmax") == 0
    assert "each column" not in capsys.readouterr().out
    assert _train(tmp_path, "data.name=mnist-mini", "data.scale=column", "data.limit=64") == 2
    assert "data.scale: 'column' applies to a file of your own" in capsys.readouterr().err
    assert _train(tmp_path, "data.name=mnist-mini", "data.layout=nhwc", "data.limit=64") == 2
    assert "data.layout: 'nhwc' applies to a file or folder of your own" in capsys.readouterr().err
    assert _train(tmp_path, f"data.name={tmp_path / 'tab.npy'}", "data.test_limit=5", "output.name=limited") == 2
    assert "data.test_limit: " in capsys.readouterr().err and not (tmp_path / "runs" / "limited").exists()


def test_a_run_records_how_auto_read_its_file_and_old_runs_read_it_with_one_range(tmp_path):
    from aekit.apps.run import read_run, test_metrics

    rng = np.random.default_rng(0)
    np.save(tmp_path / "wide.npy", np.c_[1000 + 300 * rng.random((60, 3)), rng.normal(size=(60, 4))].astype(np.float32))
    np.save(tmp_path / "flat.npy", rng.random((60, 7)).astype(np.float32))
    for name, scale in (("wide", "column"), ("flat", "global")):
        assert _train(tmp_path, f"data.name={tmp_path / name}.npy", "model.code_size=3", f"output.name={name}") == 0
        config = yaml.safe_load((tmp_path / "runs" / name / "config.yaml").read_text())
        assert config["data"]["scale"] == scale  # what auto chose: the run is read alike if the rule changes
    del config["data"]["scale"]  # a run made before data.scale existed
    (tmp_path / "runs" / "flat" / "config.yaml").write_text(yaml.safe_dump(config))
    assert read_run(tmp_path / "runs" / "flat").data.scale == "global"
    vq = aekit.create_model("vq-vae", input_shape=(7,), hidden=[8], positions=2, embedding_dim=2, codebook_size=4)
    data = aekit.data.Dataset(torch.rand(20, 7), None, "d")
    assert "pca_code_size" not in test_metrics(vq, data, data)  # discrete codes: no PCA of their size


def test_a_split_holds_out_its_share_when_labels_take_many_values():
    rng = np.random.default_rng(0)
    y = torch.from_numpy(rng.integers(25, 346, 442))  # a regression target of whole numbers, read as ~200 classes
    data = aekit.data.Dataset(torch.rand(442, 10), y, "diabetes")
    train, val = data.split(0.1, seed=0)
    assert len(val) == 44 and len(train) == 398  # per-class rounding alone held out 2
    mnist = aekit.data.load_dataset("mnist-mini")
    assert abs(len(mnist.split(0.1, seed=0)[1]) - 1000) <= 5  # few big classes: stratified as before


def test_pretrain_mnist_prints_a_headline_with_quiet(tmp_path, capsys):
    assert main(["experiment", "run", "pretrain-mnist", "--tiny", "--quiet", "--out", str(tmp_path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("mnist-mini, ") and "labels, test error: " in first


def test_a_notebook_shows_an_aekit_error_as_its_message_and_the_users_line(monkeypatch, capsys):
    """A mistyped key printed 13-49 lines of aekit's own frames in Jupyter; the CLI prints one line."""
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    monkeypatch.delenv("AEKIT_DEBUG", raising=False)
    try:
        aekit.fit(aekit.create_model("dense", input_shape=(4,), code_size=2), torch.rand(8, 4), epoch=3)
    except aekit.ConfigError as caught:
        err, shown = caught, caught._render_traceback_()
    assert shown[0].startswith("ConfigError: train: unknown key 'epoch' (did you mean 'epochs'?); allowed keys: ")
    assert shown[1].endswith("epoch=3))") and "test_user_paths.py" in shown[1]  # the line of the user's code
    assert len(shown) == 3 and "AEKIT_DEBUG=1" in shown[2]
    shell = interactive.InteractiveShell.instance()
    for debug, shows, hides in (("0", "AEKIT_DEBUG=1 shows", "Traceback"), ("1", os.sep + "aekit" + os.sep, "AEKIT_DEBUG=1")):
        monkeypatch.setenv("AEKIT_DEBUG", debug)
        shell.showtraceback((type(err), err, err.__traceback__))
        out = capsys.readouterr().out
        assert shows in out and hides not in out and "Unexpected exception formatting" not in out, out


def test_jupyter_without_ipywidgets_imports_aekit_without_tqdms_warning():
    """A notebook trial: every kernel without ipywidgets (the default install) printed tqdm's TqdmWarning
    "IProgress not found" on importing aekit, with progress=False too."""
    pytest.importorskip("IPython")
    if importlib.util.find_spec("ipywidgets") is not None:
        pytest.skip("ipywidgets is installed: tqdm has nothing to warn about")
    kernel = ("import sys, types, IPython, warnings; warnings.simplefilter('always'); "
              "sys.modules['ipykernel.zmqshell'] = types.ModuleType('zmqshell'); ")  # what tqdm takes for Jupyter
    for then, warned in (("import tqdm.auto", True), ("import aekit.training.loop", False)):  # (the first: the check can fail)
        done = subprocess.run([sys.executable, "-c", kernel + then], capture_output=True, text=True, check=True)
        assert ("IProgress not found" in done.stderr) == warned, done.stderr


def test_dir_lists_the_names_imported_on_first_use():
    names = dir(aekit)
    assert {"fit", "create_model", "load_model", "ConfigError"} <= set(names)
    assert not {"importlib", "version", "PackageNotFoundError"} & set(names)


@pytest.mark.parametrize("model", [["model.name=ladder", "model.n_classes=10"], ["model.name=encoder-classifier"]])
def test_a_model_trained_on_labels_is_refused_by_a_run_before_training(model, tmp_path, capsys, monkeypatch):
    """aekit train of a ladder network trained, then failed evaluating ('LadderOutput' has no x_hat, "unexpected")."""
    from aekit.training import distributed

    def launch(*args, **kwargs):
        raise AssertionError("processes launched before the refusal")

    monkeypatch.setattr(distributed, "launch", launch)
    distributed_flags = ["--distributed", "--nproc", "2"] if "model.name=ladder" in model else []
    assert main(["train", *model, *distributed_flags, "data.name=mnist-mini", f"output.dir={tmp_path}", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "model, trained on labels; a run trains an autoencoder (`aekit models`); train " in err
    assert not list(tmp_path.iterdir())


def test_a_notebook_error_names_the_users_line_through_a_library_and_beside_a_folder_named_like_aekits(monkeypatch):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from aekit.apps.sklearn import AutoencoderTransformer

    monkeypatch.delenv("AEKIT_DEBUG", raising=False)
    with pytest.raises(aekit.ConfigError) as caught:  # the last frame outside aekit is scikit-learn's
        make_pipeline(StandardScaler(), AutoencoderTransformer(epochs=0)).fit(np.random.rand(20, 4))
    assert "test_user_paths.py" in caught.value._render_traceback_()[1]
    user_file = os.path.dirname(aekit.errors.__file__) + "_contrib" + os.sep + "cell.py"
    with pytest.raises(aekit.ConfigError) as caught:
        exec(compile("aekit.create_model('densse', input_shape=(4,))\n", user_file, "exec"), {"aekit": aekit})
    assert user_file in caught.value._render_traceback_()[1]
    monkeypatch.setenv("AEKIT_DEBUG", "0")  # off, as on the command line
    assert caught.value._render_traceback_()[0].startswith("ConfigError: model: unknown model 'densse'")


def test_a_float64_model_encodes_arrays_and_torch_data_objects_are_named_with_what_to_give():
    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=[8], code_size=2).double()
    x = torch.rand(5, 1, 28, 28, dtype=torch.float64)
    np.testing.assert_allclose(model.encode_array(x), model.encode(x).detach().numpy(), rtol=1e-6)  # was a dtype error
    with pytest.raises(aekit.DataError, match=r"got TensorDataset; give the tensors it holds \(a TensorDataset's "
                                              r"\.tensors, as an \(x, y\) pair\), or an aekit Dataset"):
        aekit.fit(model.float(), torch.utils.data.TensorDataset(torch.rand(8, 784)))


def test_the_hint_for_create_model_auto_works_as_written():
    """Following the message's hint for create_model("auto") raised "missing required key 'input_shape'"."""
    from aekit.apps.run import auto_model

    with pytest.raises(aekit.ConfigError) as err:
        aekit.create_model("auto", input_shape=(256,), code_size=16)
    assert "create_model(keys.pop('name'), input_shape=sample_shape, **keys)" in str(err.value)
    sample_shape = (256,)
    keys = auto_model({"name": "auto"}, sample_shape, 100)
    assert aekit.create_model(keys.pop("name"), input_shape=sample_shape, **keys).config.code_size == 32


def test_a_run_no_better_than_pca_says_so():
    """10 default epochs on 5,000 windows (1 s) ended at PCA's error (0.3205 vs 0.3206) without a word; advice to
    train longer misled on texts (a longer run's retrieval was worse), so the note says what happened alone."""
    from aekit.apps.run import format_metrics

    m = {"split": "test", "n": 10, "squared_error_per_sample": 0.3205, "pca_code_size": 2, "pca_squared_error_per_sample": 0.3206}
    said = "note: within 0.1% of PCA's error: this training did not take the model clearly past PCA"
    assert said in format_metrics(m)
    worse = ("note: 18.7 times PCA's error: PCA serves these samples better; this training did not take the model past "
             "it")  # 'within 0.1%' read; and a trial read "38% above ...: not clearly past PCA" as a tie
    assert worse in format_metrics({**m, "squared_error_per_sample": 3.911, "pca_squared_error_per_sample": 0.209})
    above = "note: 0.22% above PCA's error: this training"  # (a trial: "1 times PCA's error" for 99.90 against 99.68)
    assert above in format_metrics({**m, "squared_error_per_sample": 99.902, "pca_squared_error_per_sample": 99.680})
    assert "note: 100% above PCA's error" in format_metrics({**m, "squared_error_per_sample": 1.996, "pca_squared_error_per_sample": 1.0})
    assert "4% above PCA's error: this training did not take the model clearly past PCA" in format_metrics(
        {**m, "squared_error_per_sample": 1.04, "pca_squared_error_per_sample": 1.0})  # below PCA_WORSE: as before
    assert "38% above PCA's error: PCA serves these samples better" in format_metrics(
        {**m, "squared_error_per_sample": 1.38, "pca_squared_error_per_sample": 1.0})
    exact = "note: PCA reconstructs these samples exactly"  # (a trial's 3 texts: "7.37e+25 times PCA's error")
    assert exact in format_metrics({**m, "squared_error_per_sample": 7.4e-5, "pca_squared_error_per_sample": 2e-33})
    small = {**m, "squared_error_per_sample": 3.3e-13, "pca_squared_error_per_sample": 2.7e-13}  # (a bug hunt: values
    assert exact not in format_metrics({**small, "pca_exact": False}) and "22% above" in format_metrics(  # of 1e-6, 42%
        {**small, "pca_exact": False})  # of their variance left out, read as reconstructed "exactly" by an absolute 1e-12)
    assert exact in format_metrics(small)  # a metrics.json of before: as it was read then
    off = {**m, "squared_error_per_sample": 19.185, "pca_squared_error_per_sample": 1.9e-27, "pca_exact": True,
           "spread_per_sample": 200.0}  # (a shapes hunt: trained away from PCA's exact start, said as a tie)
    assert ("exactly (they vary in no more directions than its code holds), and the model leaves 9.6% of their spread "
            "about their mean: PCA serves these samples better; this training did not take the model past it") in \
        format_metrics(off)
    assert "PCA serves" not in format_metrics({**off, "squared_error_per_sample": 1.0})  # 0.5% of it: a tie, as before
    from aekit.apps.run import test_metrics
    from aekit.data import Dataset

    rng = np.random.default_rng(0)
    for scale, low_rank in ((1e-6, False), (1e-6, True), (1e3, True)):
        x = rng.uniform(0, 1, (200, 8)) if not low_rank else rng.uniform(0, 1, (200, 2)) @ rng.normal(size=(2, 8))
        part = Dataset(torch.as_tensor(x * scale, dtype=torch.float32), name="t")
        model = aekit.create_model("dense", input_shape=(8,), hidden=[4], code_size=2)
        metrics = test_metrics(model, part, part)
        assert metrics["pca_exact"] is low_rank and ("spread_per_sample" in metrics) is low_rank, (scale, low_rank)
    assert "clearly past" not in format_metrics({**m, "squared_error_per_sample": 0.3})
    huge = format_metrics({**m, "squared_error_per_sample": float("inf"), "pca_squared_error_per_sample": 5.54e53})
    assert "(PCA-2):    5.540e+53" in huge and "(autoencoder): inf" in huge  # (a trial: 54 digits of fixed point)
    assert "clearly past" not in format_metrics({**m, "split": "new.npy"})  # evaluate --data: other data, said as such
    assert "note: within 0.1% of PCA's error on these samples" in format_metrics({**m, "split": "new.npy"})
    assert ("note: 6.1% above PCA's error: PCA, fitted on the run's training data, serves these samples better" in  # (a
            format_metrics({**m, "split": "new.npy", "squared_error_per_sample": 0.34}))  # quality trial: 3.8%, unsaid)
    val = {"n": 6, "autoencoder": 0.30, "pca": 0.32, "differ": False}  # below PCA on the validation part: said, and
    unlike = format_metrics({**m, "squared_error_per_sample": 0.35, "pca_squared_error_per_sample": 0.33,  # whether
                             "val_against_pca": {"n": 4800, "autoencoder": 0.18, "pca": 0.2, "differ": True}})  # the
    assert ("note: 6.1% above PCA's error; on the validation part (4,800 samples) it is 10% below PCA's, and PCA's "  # test
            "error on the test part is 1.65 times its error there: the test samples differ from the training data, and "
            "the model's gain over PCA does not carry over to them") in unlike  # part differs
    easier = {**m, "squared_error_per_sample": 1.1, "pca_squared_error_per_sample": 1.0,  # (a review: "0.33 times")
              "val_against_pca": {"n": 6000, "autoencoder": 2.9, "pca": 3.0, "differ": True}}
    assert "and PCA's error on the test part is 1/3 of its error there: the test samples differ" in format_metrics(easier)
    alike = format_metrics({**m, "val_against_pca": val, "training": {"kept_epoch": 3, "weights": "model.safetensors"}})
    assert ("note: within 0.1% of PCA's error; on the validation part (6 samples, which chose the epoch kept) it is "
            "6.2% below PCA's: this training did not take the model clearly past PCA on the test part") in alike
    far = format_metrics({**m, "squared_error_per_sample": 0.8, "val_against_pca": val})  # (a quality trial: 2.62 times
    assert ("2.5 times PCA's error; on the validation part (6 samples) it is 6.2% below PCA's: PCA serves the test "  # read
            "samples better; the model's gain on the validation part does not carry over") in far  # as a tie)
    assert format_metrics({**m, "val_against_pca": {**val, "autoencoder": 0.33}}) == format_metrics(m)
    kept = {**m, "split": "val", "training": {"kept_epoch": 4}}  # (a trial: the val figures were not said optimistic)
    assert format_metrics(kept).startswith("val set, 10 samples (no test split: the samples that chose the epoch "
                                           "restore_best kept, so a little optimistic)")
    assert format_metrics({**m, "split": "val", "training": {"kept_epoch": None}}).startswith("val set, 10 samples\n")
    stopped = {**m, "split": "val", "training": {"kept_epoch": 4, "weights": "checkpoint.safetensors"}}  # (a review:
    assert format_metrics(stopped).startswith("val set, 10 samples\n")  # a killed run's checkpoint, chosen by nothing)
    few = format_metrics({**kept, "n": 2})  # (a trial's 12-row table: "val set, 1 sample", read as any other figure)
    assert few.startswith("val set, 2 samples (no test split: the samples that chose the epoch restore_best kept, so a "
                          "little optimistic; too few for these figures to say much)\n")  # (a review: two brackets)
    assert format_metrics({**m, "n": 1}).startswith("test set, 1 sample (too few for these figures to say much)\n")
    assert format_metrics({**m, "n": 9}) != format_metrics({**m, "n": 10}).replace("10 samples", "9 samples")


def test_resuming_a_trial_pruned_before_its_first_checkpoint_says_so(tmp_path, capsys):
    """A trial stopped by raising in on_epoch_end left config.yaml alone; `aekit resume` on it complained
    that data.name was empty, not that nothing was saved to resume."""
    from aekit.apps.cli import main
    from aekit.training.callbacks import LambdaCallback

    def prune(trainer, logs):
        raise RuntimeError("pruned")

    (tmp_path / "trial").mkdir()  # the user's folder (one fit made is removed: test_a_fit_stopped_before_its_first_...)
    with pytest.raises(RuntimeError, match="pruned"):
        aekit.fit(aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2), torch.rand(32, 6), epochs=2,
                  run_dir=tmp_path / "trial", progress=False, callbacks=[LambdaCallback(on_epoch_end=prune)])
    assert main(["resume", str(tmp_path / "trial")]) == 2
    assert "a run stopped before its first checkpoint has nothing to resume" in capsys.readouterr().err


def test_a_tilde_is_the_home_folder_in_every_path_aekit_writes(tmp_path, monkeypatch, capsys):
    """A paths trial: data.name, imports and AEKIT_DATA_DIR expanded ~, while output.dir, --out, --scores, -o,
    save_model and fit(run_dir=...) made a folder named ~ in the current one (a later rm -rf ~... away from home)."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    np.save(home / "x.npy", np.random.default_rng(0).random((40, 6)).astype(np.float32))
    assert main(["train", "data.name=~/x.npy", "model.name=dense", "model.hidden=[4]", "model.code_size=2",
                 "train.epochs=1", "train.progress=false", "output.dir=~/runs", "output.name=r", "--quiet"]) == 0
    assert main(["evaluate", "~/runs/r", "--scores", "~/s.csv", "--quiet"]) == 0
    assert main(["report", "~/runs/r", "-o", "~/r.html", "--quiet"]) == 0
    assert main(["export", str(home / "runs" / "r"), "--format", "torchscript", "-o", "~/e.pt"]) == 0
    model = aekit.load_model("~/runs/r")
    aekit.save_model(model, "~/m.safetensors")
    aekit.fit(model, np.random.default_rng(0).random((40, 6)).astype(np.float32), epochs=1, progress=False,
              run_dir="~/fitted")
    (home / "c.yaml").write_text("data: {name: ~/x.npy}\nmodel: {name: dense, hidden: [4], code_size: 2}\n"
                                 "train: {epochs: 1, progress: false}\noutput: {dir: ~/runs, name: c}\n")
    assert main(["train", "~/c.yaml", "--quiet"]) == 0  # a review: a config file's ~ was not expanded
    from aekit.apps.run import evaluate_run

    evaluate_run(home / "runs" / "c", scores="~/c.csv", nll_samples=0, quality_samples=0)  # in Python too
    assert {p.name for p in home.iterdir()} >= {"runs", "s.csv", "r.html", "e.pt", "m.safetensors", "fitted", "c.csv"}
    assert not any(work.iterdir())  # no ./~ folder


def test_a_backslash_in_an_output_path_is_refused_where_it_separates_no_folders(tmp_path, monkeypatch, capsys):
    """A paths trial: a config written on Windows (output.name: proj\\run1) made one folder named 'proj\\run1'."""
    if os.sep != "/":
        pytest.skip("a backslash separates folders here")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "data.name=digits", "output.name=proj\\run1", "train.epochs=1", "--quiet"]) == 2
    assert capsys.readouterr().err == "aekit: error: output.name: proj\\run1 holds a backslash, which separates no " \
                                      "folders here; write proj/run1\n"
    assert not any(tmp_path.iterdir())


def test_a_runs_data_file_moved_away_is_named_with_the_config_that_names_it(tmp_path, monkeypatch, capsys):
    """A paths trial: evaluate and resume of a run whose data file had moved said "x.npy does not exist; give a .npy,
    .npz, .csv or IDX file ...", with no word of the run's config.yaml or of evaluate --data."""
    monkeypatch.chdir(tmp_path)
    assert _small_run(tmp_path) == 0
    (tmp_path / "x.npy").rename(tmp_path / "moved.npy")
    for command in (["evaluate", "runs/r"], ["resume", "runs/r", "--epochs", "3"]):
        assert main(command) == 2
        assert capsys.readouterr().err.endswith("x.npy, the data runs/r/config.yaml names (data.name), is not there "
                                                "(moved?): put it back, or give its new path there; `aekit evaluate RUN "
                                                "--data FILE` evaluates a file of the same kind\n")


def test_plausible_misuses_of_the_python_api_are_one_line_errors(tmp_path):
    """An API trial: each of these ended in a traceback from deep inside torch or numpy (or was refused only later,
    by load_model or inside fit)."""
    import numpy as np

    from aekit.analysis.retrieval import retrieval_scores
    from aekit.training.callbacks import EarlyStopping, LambdaCallback
    from aekit.training.pretrain import pretrain_layerwise, stack_layers

    shallow = [aekit.create_model("dense", input_shape=(64,), hidden=[], code_size=8),
               aekit.create_model("dense", input_shape=(10,), hidden=[], code_size=4)]
    cases = [
        (lambda: stack_layers([]), "give the pretrained layers"),
        (lambda: stack_layers(shallow), "layer 1 takes 10 inputs, but layer 0 gives codes of 8"),
        (lambda: stack_layers([aekit.create_model("conv", input_shape=(1, 28, 28))]), "layer 0 is a conv model"),
        (lambda: shallow[0].encode(np.zeros((2, 64), np.float32)), "a model takes a torch tensor, got ndarray"),
        (lambda: aekit.create_model("conv", input_shape=(1, 8, 8)).encode(np.zeros((2, 1, 8, 8), np.float32)),
         "a model takes a torch tensor, got ndarray"),
        (lambda: retrieval_scores(np.zeros((20, 4)), np.zeros(10), k=5), "10 labels for 20 database items"),
        (lambda: aekit.save_model(shallow[0], tmp_path / "m.safetensors", state={"foo": torch.zeros(1)}),
         r"save_model: `state` is not dense's: missing \["),
        (lambda: EarlyStopping("3"), "patience must be a whole number of epochs >= 1, got '3'"),
        (lambda: LambdaCallback(on_epoch_end=3), "on_epoch_end must be a function, got int"),
        (lambda: pretrain_layerwise(8, torch.rand(16, 64)), r"a list of layer widths, such as \[8\]"),
        (lambda: pretrain_layerwise([8], torch.rand(16, 64), run_dir="x"), "pretraining keeps no run folder"),
    ]
    for call, said in cases:
        with pytest.raises(aekit.AekitError, match=said):
            call()
    assert not (tmp_path / "m.safetensors").exists()
    torch.fx.symbolic_trace(shallow[0])  # a traced model's inputs are proxies, not refused (a review)
    assert EarlyStopping(np.int64(3)).patience == 3 and EarlyStopping(3.0).patience == 3  # numpy's grid values
    stacked = pretrain_layerwise([16, 4], torch.rand(64, 32), epochs_per_layer=1, fine_tune_epochs=0, quiet=True)
    assert not stacked.model.training  # (it came back in training mode without fine-tuning; fit's is in eval mode)


def test_evaluate_measures_the_validation_part_against_pca_where_the_test_part_is_not_past_it(tmp_path, capsys):
    """A trial's test images, other than its training ones, read "did not take the model clearly past PCA", where on
    the validation part the model was below PCA: evaluate measures that part too, where the test part is not past PCA."""
    from aekit.apps.cli import main
    from aekit.apps.run import evaluate_run, load_splits, read_run, sample_errors

    run = tmp_path / "r"  # one epoch from random weights: above PCA on every part
    assert main(["train", "data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=4",
                 "train.epochs=1", "data.val_fraction=0.2", f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["squared_error_per_sample"] > metrics["pca_squared_error_per_sample"]
    train, val, _ = load_splits(read_run(run), run)
    errors = sample_errors(aekit.load_model(run), train, val)
    assert metrics["val_against_pca"] == pytest.approx({"n": len(val), "autoencoder": errors["autoencoder"].mean(),
                                                        "pca": errors["pca"].mean(), "differ": False})
    assert "val_against_pca" not in evaluate_run(run, write=False, splits=(train, None, load_splits(read_run(run), run)[2]),
                                                 progress=False)  # (without a validation part, nothing to compare)


def test_two_parts_are_said_to_differ_only_past_their_samples_noise():
    """A review: a 6-sample validation part made a random split of one table 'unlike the training data'."""
    from aekit.apps.run import differ

    rng = np.random.default_rng(0)
    same = [differ(rng.exponential(1.0, 90), rng.exponential(1.0, n)) for n in (6, 30, 300) for _ in range(100)]
    assert sum(same) <= 1  # one part's errors drawn as the other's: (almost) never
    assert differ(rng.exponential(3.0, 6000), rng.exponential(1.0, 4800))  # a test part 3x harder
    assert differ(rng.exponential(1.0, 300), rng.exponential(2.0, 300))  # or 2x easier
    assert not differ(rng.exponential(1.3, 6000), rng.exponential(1.0, 4800))  # a factor under 1.5 is not said
    assert not differ(rng.exponential(5.0, 29), rng.exponential(1.0, 500))  # nor one of fewer than 30 samples
    tails = [differ(rng.lognormal(0, 3, 10000), rng.lognormal(0, 3, 30)) for _ in range(200)]  # (a review: 21% said
    assert sum(tails) <= 2  # to differ, by the means' standard errors, of long-tailed parts drawn alike)
    assert not differ(np.r_[rng.exponential(3.0, 99), np.inf], rng.exponential(1.0, 100))  # (no numpy warning)


def test_what_the_api_reference_says_holds_at_its_edges(tmp_path, capsys):
    """An API hunt: a run on Dataset.flat()'s vectors, its data.name put back by hand as evaluate's refusal advised,
    ended in an unexpected size mismatch; split_last(1.5) was "too few samples to split"; a deque of callbacks, a
    Sequence as fit's hint says, was refused."""
    import collections

    from aekit.training.callbacks import LambdaCallback

    digits = load_dataset("mnist-mini").take(200)
    model = aekit.create_model("dense", input_shape=(784,), hidden=[8], code_size=2)
    seen = []
    aekit.fit(model, digits.flat(), epochs=1, run_dir=tmp_path / "flat", progress=False,
              callbacks=collections.deque([LambdaCallback(on_train_end=lambda t: seen.append(True))]))
    assert seen == [True]
    config = yaml.safe_load((tmp_path / "flat" / "config.yaml").read_text())
    assert config["data"]["name"] is None  # flat vectors are one's own tensors: no name recorded
    config["data"]["name"] = "mnist-mini"
    (tmp_path / "flat" / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["evaluate", str(tmp_path / "flat"), "--nll-samples", "0", "--quality-samples", "0"]) == 2
    assert capsys.readouterr().err == ("aekit: error: training data (mnist-mini): samples of shape [1, 28, 28], but the "
                                       "model takes [784]; give samples of its shape (a run trained on reshaped "
                                       "samples, Dataset.flat()'s, is evaluated in Python: aekit.load_model(RUN_DIR) "
                                       "and the samples reshaped alike)\n")
    for fraction in (0, 1.5, -0.5):
        with pytest.raises(aekit.DataError, match=f"val_fraction must be between 0 and 1, got {fraction}"):
            digits.split_last(fraction)


def test_the_run_layer_and_in_process_commands_leave_the_callers_generator(tmp_path):
    """A long-lived process hunt: a search drawing each trial's lr with torch.rand between in-process `aekit train`s
    drew one value again and again (the run layer seeded torch for the initial weights); evaluate, export and
    load_model moved it too."""
    import torch

    from aekit.apps import run
    from aekit.apps.cli import main

    torch.manual_seed(0)
    state = torch.get_rng_state()
    common = ["data.name=digits", "data.limit=200", "train.epochs=1", f"output.dir={tmp_path}", "--quiet"]
    assert main(["train", *common, "output.name=a"]) == 0
    assert main(["evaluate", str(tmp_path / "a"), "--quiet", "--quality-samples", "0", "--nll-samples", "0"]) == 0
    assert main(["export", str(tmp_path / "a"), "--format", "torchscript"]) == 0
    assert main(["resume", str(tmp_path / "a"), "--epochs", "2", "--quiet"]) == 0
    aekit.load_model(tmp_path / "a")
    run.train(run.load_run_config(None, ["data.name=digits", "data.limit=200", "train.epochs=1", f"output.dir={tmp_path}",
                                         "output.name=b"]), progress=False)
    assert torch.equal(state, torch.get_rng_state())


def test_metrics_json_gives_a_search_the_validation_figure(tmp_path, capsys):
    """A search trial: a tuner driving `aekit train` read metrics.json, whose figures were the test part's alone
    (a validation one only where the model was not below PCA), and chose its settings on the test set."""
    assert main(["train", "data.name=digits", "model.code_size=8", "train.epochs=2", f"output.dir={tmp_path}",
                 "output.name=r", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    history = json.loads((tmp_path / "r" / "history.json").read_text())
    assert metrics["split"] == "test" and metrics["val"]["n"] == 142  # digits' validation tenth
    assert metrics["val"]["squared_error_per_sample"] == pytest.approx(history["val_loss"][-1], rel=1e-5)  # (mse)
    assert metrics["val"]["squared_error_per_sample"] != pytest.approx(metrics["squared_error_per_sample"], rel=1e-3)
    # a file without a test part is scored on its validation part: the same figure under val (a review: none there)
    np.save(tmp_path / "rows.npy", np.random.default_rng(0).random((200, 6), dtype=np.float32))
    assert main(["train", f"data.name={tmp_path / 'rows.npy'}", "model.code_size=2", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=own", "--quiet"]) == 0
    own = json.loads((tmp_path / "own" / "metrics.json").read_text())
    assert own["split"] == "val" and own["val"] == {"n": own["n"], "squared_error_per_sample": own["squared_error_per_sample"]}
    capsys.readouterr()
