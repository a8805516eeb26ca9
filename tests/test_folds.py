"""The automatic model's epoch count chosen by cross-validation where the validation part is too small (training/folds.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

import aekit
from aekit.apps import run
from aekit.apps.cli import main
from aekit.apps.report import write_report
from aekit.data import Dataset
from aekit.training import folds
from aekit.training.loop import TrainConfig, evaluate


def _table(path, rows=60, test=40, columns=12, seed=0):
    """Rows on a curved 2-d surface in `columns` dimensions, with noise: a PCA start the network can improve on."""
    rng = np.random.default_rng(seed)
    t = rng.random((rows + test, 2)) * 3
    x = np.column_stack([np.sin(t[:, 0] * (1 + i / 4)) + t[:, 1] * (i % 3) for i in range(columns)])
    x = x + 0.05 * rng.standard_normal(x.shape)
    if test:
        np.savez(path, x_train=x[:rows], x_test=x[rows:])
    else:
        np.save(path, x[:rows])
    return path


def _pca_started(features, hidden):
    return aekit.create_model("dense", input_shape=(features,), hidden=[hidden], code_size=2, linear_path=True,
                              output_activation="linear", recon_loss="mse")


def _train(tmp_path, data, *args, budget="1.5"):
    return main(["train", f"data.name={data}", "model.code_size=2", f"train.time_budget={budget}",
                 f"output.dir={tmp_path / 'runs'}", "output.name=r", *args])


def test_choose_epochs_returns_the_lowest_mean_of_the_folds_validation_losses():
    x = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    data = Dataset(x)
    made = []

    def make():
        made.append(_pca_started(6, 16))
        return made[-1]

    record = folds.choose_epochs(make, data, TrainConfig(time_budget=0.7, seed=3), folds=4)
    if record["chosen"] is None:  # the first fold's loss did not turn: that fold alone was trained
        assert len(made) == 1 and np.argmin(record["val_loss"]) == len(record["val_loss"]) - 1
        return
    assert len(made) == 4 and record["folds"] == 4 and record["samples"] == 40
    assert len(record["val_loss"]) == record["epochs"] + 1  # epoch 0: the weights before the first step
    assert record["chosen"] == int(np.argmin(record["val_loss"]))


@pytest.mark.parametrize("losses, trained", [([0.9, 0.8, 0.7, 0.6, 0.5], 1),  # lowest at the last epoch
                                              ([0.9, 0.8, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99], 5)])  # a turn
def test_a_first_fold_still_falling_at_its_end_stops_cross_validation(monkeypatch, losses, trained):
    """A budget too short to share: the first fold's loss was still falling at its last epoch, so no other fold is
    trained; a loss lowest before its end is a turn, and the other folds train as many epochs."""
    calls = []

    def stub(model, train, val, *, config, callbacks):
        calls.append(config)
        for hook in callbacks:
            hook.on_train_begin(type("T", (), {"model": model, "device": "cpu"})())
        return {"val_loss": losses}

    monkeypatch.setattr(folds, "fit", stub)
    monkeypatch.setattr(folds, "evaluate", lambda model, val, device: {"loss": 1.0})  # the start: above them all
    data = Dataset(np.random.default_rng(0).random((30, 5)).astype(np.float32))
    make = lambda: _pca_started(5, 8)  # noqa: E731
    record = folds.choose_epochs(make, data, TrainConfig(time_budget=7.0))
    assert len(calls) == trained and calls[0].time_budget == pytest.approx(1.0)  # a share: 7 s / (5 folds + 2)
    assert all(c.time_budget is None and c.epochs == len(losses) for c in calls[1:])  # the others: as many epochs
    assert record["epochs"] == len(losses) and record["val_loss"] == pytest.approx([1.0, *losses])
    assert record["chosen"] == (None if trained == 1 else 3)


def _record(chosen, epochs=9, seconds=0.25):
    """What choose_epochs returns: the folds' mean validation loss falling to `chosen`, rising after it."""
    low = epochs if chosen is None else chosen  # (None: the first fold's, still falling at its last epoch)
    loss = [1.0 - 0.05 * min(e, low) + 0.01 * max(0, e - low) for e in range(epochs + 1)]
    return lambda make, data, config: {"folds": 5, "samples": len(data), "epochs": epochs, "chosen": chosen,
                                       "val_loss": loss, "seconds": seconds}


def test_a_small_table_with_a_test_part_trains_on_all_its_rows_for_the_epochs_chosen(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run, "choose_epochs", _record(4))  # (choose_epochs itself: the tests above)
    data = _table(tmp_path / "t.npz")
    assert _train(tmp_path, data, "train.progress=true") == 0
    out = capsys.readouterr().out
    folder = tmp_path / "runs" / "r"
    record = json.loads((folder / "folds.json").read_text())
    assert "5-fold cross-validation over the 60 training samples (a validation part of 6 is too few" in out
    assert "they join the training samples" in out and "lowest after epoch 4 of 9 (0.8; 1 at the start" in out
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["data"]["val_fraction"] == 0  # rerunning config.yaml trains the same run, on every row
    assert config["train"]["time_budget"] is None and config["train"]["restore_best"] is False
    assert config["train"]["epochs"] == 4 and record["samples"] == 60 and record["chosen"] == 4
    history = json.loads((folder / "history.json").read_text())
    assert len(history["epoch"]) == 4 and "val_loss" not in history  # no validation part
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["training"]["cross_validation"]["chosen"] == 4
    report = write_report([folder], tmp_path / "report.html")
    assert "(chosen by cross-validation)" in report.read_text(encoding="utf-8")
    assert main(["resume", str(folder), "--time-budget", "5"]) == 2  # a trial: the budget the user gave, gone unsaid
    assert "(cross-validation turned its time budget into that many epochs: folds.json)" in capsys.readouterr().err
    assert main(["resume", str(folder), "--epochs", "6"]) == 0
    page = write_report([folder], tmp_path / "report.html").read_text(encoding="utf-8")
    assert "6 (cross-validation chose 4)" in page and "(chosen by cross-validation)" not in page


def test_the_real_folds_on_a_small_table_end_in_a_run_either_way(tmp_path, capsys):
    """Unpatched: the folds choose, or (a budget too short on a busy machine) the run goes on as asked; a run either way."""
    data = _table(tmp_path / "t.npz")
    assert _train(tmp_path, data, "train.progress=true", budget="3") == 0
    out = capsys.readouterr().out
    folder = tmp_path / "runs" / "r"
    config = yaml.safe_load((folder / "config.yaml").read_text())
    if (folder / "folds.json").is_file():
        record = json.loads((folder / "folds.json").read_text())
        assert 0 < record["chosen"] < record["epochs"] == len(record["val_loss"]) - 1
        assert config["train"]["epochs"] == record["chosen"] and "lowest after epoch" in out
    else:
        assert config["train"]["restore_best"] is True and "the model trains for the" in out
    assert (folder / "metrics.json").is_file()


def test_without_a_test_part_the_validation_part_stays_apart_to_measure_the_model(tmp_path, capsys):
    data = _table(tmp_path / "t.npy", rows=80, test=0)
    assert _train(tmp_path, data, "train.progress=true") == 0
    out = capsys.readouterr().out
    folder = tmp_path / "runs" / "r"
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["data"]["val_fraction"] == 0.1 and "join the training samples" not in out
    if (folder / "folds.json").is_file():
        assert "over the 72 training samples" in out and config["train"]["restore_best"] is False
        assert json.loads((folder / "metrics.json").read_text())["split"] == "val"


@pytest.mark.parametrize("given", [["train.time_budget=null", "train.epochs=2"],  # the count asked for
                                   ["model.name=dense", "model.linear_path=true", "model.output_activation=linear",
                                    "model.recon_loss=mse"],  # a model named: trained as configured
                                   ["train.restore_best=false"]])
def test_cross_validation_is_only_for_the_automatic_models_budget_with_restore_best(tmp_path, capsys, given):
    data = _table(tmp_path / "t.npz")
    budget = "null" if "train.time_budget=null" in given else "1.5"
    assert _train(tmp_path, data, "train.progress=true", *[g for g in given if "time_budget" not in g], budget=budget) == 0
    assert "cross-validation" not in capsys.readouterr().out
    folder = tmp_path / "runs" / "r"
    assert not (folder / "folds.json").exists()
    assert yaml.safe_load((folder / "config.yaml").read_text())["data"]["val_fraction"] == 0.1


def test_a_validation_part_of_a_hundred_samples_chooses_as_before(tmp_path, capsys):
    data = _table(tmp_path / "t.npz", rows=1000, test=10)
    assert _train(tmp_path, data, "train.progress=true", budget="0.5") == 0
    assert "cross-validation" not in capsys.readouterr().out
    assert not (tmp_path / "runs" / "r" / "folds.json").exists()


@pytest.mark.parametrize("chosen, said", [(None, "the first fold's validation loss was still falling after 9 epochs"),
                                           (9, "the folds' mean validation loss was still falling after 9 epochs"),
                                           (0, "no epoch did better than the start, PCA's (1)")])
def test_no_turn_inside_the_folds_epochs_goes_on_as_asked_for_the_time_left(tmp_path, capsys, monkeypatch, chosen, said):
    monkeypatch.setattr(run, "choose_epochs", _record(chosen))
    data = _table(tmp_path / "t.npz")
    assert _train(tmp_path, data, "train.progress=true") == 0
    out = capsys.readouterr().out
    assert said in out and "trains for the 1.25 s left" in out
    folder = tmp_path / "runs" / "r"
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["data"]["val_fraction"] == 0.1 and config["train"]["restore_best"] is True  # the validation part's
    assert config["train"]["time_budget"] == 1.25 and not (folder / "folds.json").exists()


def test_without_a_test_part_the_folds_need_the_code_size_without_the_validation_rows(tmp_path, capsys):
    """A review: 25 rows without a test part and a code of 19 were refused (the folds' 18 rows were counted as 20)."""
    np.save(tmp_path / "w.npy", np.random.default_rng(0).random((25, 40)))
    assert main(["train", f"data.name={tmp_path / 'w.npy'}", "model.code_size=19", "train.time_budget=0.5",
                 f"output.dir={tmp_path / 'runs'}", "output.name=r", "train.progress=false"]) == 0
    assert (tmp_path / "runs" / "r" / "metrics.json").is_file()


def test_a_stop_during_cross_validation_leaves_no_folder_and_says_one_line(tmp_path, capsys, monkeypatch):
    def stopped(make, data, config):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "choose_epochs", stopped)
    data = _table(tmp_path / "t.npz")
    assert _train(tmp_path, data) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "interrupted while cross-validation chose the number of epochs, before the run folder was made: nothing was " \
           "saved; run the command again" in err
    assert not (tmp_path / "runs" / "r").exists()


def test_the_pca_start_is_the_folds_epoch_zero(tmp_path):
    """The weights before the first step count: a model whose training only worsens it keeps its PCA start's loss
    as the folds' minimum (here checked on the record's first value against an evaluation of the start)."""
    x = np.random.default_rng(1).random((30, 6)).astype(np.float32)
    data = Dataset(x)
    make = lambda: _pca_started(6, 8)  # noqa: E731
    record = folds.choose_epochs(make, data, TrainConfig(time_budget=0.35, seed=0), folds=3)
    order = np.random.default_rng(0).permutation(30)
    starts = []
    for held in np.array_split(order, 3):
        model = make()
        model.init_from_data(data.subset(np.sort(np.setdiff1d(order, held))).x, seed=0)
        starts.append(evaluate(model, data.subset(np.sort(held)))["loss"])
    first = starts[0] if record["chosen"] is None else float(np.mean(starts))
    assert record["val_loss"][0] == pytest.approx(first, rel=1e-5)

