"""Loggers (train.log): the CSV file, TensorBoard's event files and projector, and the MLflow store
are read back; a resume after an interruption repeats no step; under torchrun rank 0 alone logs."""

from __future__ import annotations

import csv
import json
import sys
import warnings

import pytest
import torch
import yaml
from test_distributed import one_torchrun_at_a_time, run_quietly  # noqa: F401 (a fixture: torchrun tests take turns)

import aekit
from aekit import ConfigError
from aekit.training.callbacks import Callback

MODEL = dict(hidden=(32,), code_size=3)
TRAIN = dict(batch_size=50, progress=False, log_every=2)
PLAIN = {k: v for k, v in TRAIN.items() if k != "log_every"}  # a run without loggers (their spacing refused)


def event_reader(folder):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    reader = accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    reader.Reload()
    return reader


def csv_rows(run_dir):
    with (run_dir / "log.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def data(mnist_mini):
    train, val = mnist_mini.take(300, seed=0).split(0.2, seed=0)
    return train, val


def new_model(data):
    torch.manual_seed(0)
    return aekit.create_model("dense", input_shape=data[0].sample_shape, **MODEL)


class StopAt(Callback):
    """Interrupts training as epoch `epoch` + 1 begins (like a kill between two checkpoints)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_begin(self, trainer) -> None:
        if trainer.epoch == self.epoch:
            raise KeyboardInterrupt


def test_a_stop_signal_inside_an_epoch_keeps_every_logged_step_and_the_resume_logs_on_in_the_same_runs(data, tmp_path,
                                                                                                     monkeypatch):
    """A review: MLflow's per-step values of the stopped epoch, waiting for its end, were never sent (the resume goes
    on after the step its checkpoint keeps)."""
    import os
    import signal

    from aekit.training.callbacks import LambdaCallback

    pytest.importorskip("tensorboard")
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = tmp_path / "runs" / "run"
    options = dict(run_dir=run, log=["csv", "tensorboard", "mlflow"], deterministic=True, epochs=4, **TRAIN)
    stop = LambdaCallback(on_batch_end=lambda t, b, logs: t.global_step == 13 and os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):  # in the third epoch's third step (5 an epoch)
        aekit.fit(new_model(data), *data, callbacks=[stop], **options)
    aekit.fit(new_model(data), *data, resume=True, **options)
    full = aekit.fit(new_model(data), *data, epochs=4, **PLAIN)
    assert [float(r["train_loss"]) for r in csv_rows(run)] == pytest.approx(full["train_loss"], rel=1e-6)
    assert [e.step for e in event_reader(run / "tensorboard").Scalars("step/loss")] == list(range(2, 21, 2))
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "runs" / "mlruns").as_uri())
    [found] = client.search_runs([e.experiment_id for e in client.search_experiments() if e.name == "aekit"])
    assert found.info.status == "FINISHED"  # one run: nothing past the checkpoint was logged
    assert sorted(m.step for m in client.get_metric_history(found.info.run_id, "step/loss")) == list(range(2, 21, 2))


def test_a_checkpoint_inside_an_epoch_sends_mlflow_the_steps_it_keeps(data, tmp_path, monkeypatch):
    """A review: MLflow's per-step values wait for the epoch's end; killed after a checkpoint_minutes checkpoint inside
    the epoch, they were lost for good (the resume goes on after that checkpoint's step)."""
    from aekit.training.callbacks import LambdaCallback

    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run, stored = tmp_path / "runs" / "run", []

    def look(trainer, batch, logs):  # (before the loggers: this step's values are not yet theirs)
        if trainer.global_step == 13:  # the third epoch's third step (5 an epoch), a checkpoint after each step
            client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "runs" / "mlruns").as_uri())
            [found] = client.search_runs([e.experiment_id for e in client.search_experiments() if e.name == "aekit"])
            stored.extend(sorted(m.step for m in client.get_metric_history(found.info.run_id, "step/loss")))

    aekit.fit(new_model(data), *data, run_dir=run, log=["mlflow"], epochs=3, checkpoint_minutes=1e-9,
              callbacks=[LambdaCallback(on_batch_end=look)], **TRAIN)
    assert stored == [2, 4, 6, 8, 10, 12]  # (a kill here loses none of the steps its checkpoint keeps)


def test_the_projector_names_each_code_by_its_class(data, tmp_path):
    """Its metadata held 0..4 for BBC's business..tech, which the report names (an inspection trial)."""
    pytest.importorskip("tensorboard")
    train, val = data
    named = aekit.data.Dataset(train.x, train.y, classes=[f"digit {i}" for i in range(10)])
    aekit.fit(new_model(data), named, val, epochs=1, run_dir=tmp_path / "run", log=["tensorboard"], **TRAIN)
    labels = next((tmp_path / "run" / "tensorboard").glob("*/codes/metadata.tsv")).read_text().splitlines()
    assert labels == [f"digit {int(v)}" for v in val.y]  # the validation samples, named by the training classes


def test_csv_and_tensorboard_read_back(data, tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    history = aekit.fit(new_model(data), *data, epochs=2, run_dir=run, log=["csv", "tensorboard"], **TRAIN)

    rows = csv_rows(run)
    assert list(rows[0]) == ["epoch", "step", "train_loss", "train_recon", "val_loss", "val_recon", "lr", "seconds"]
    assert [int(r["epoch"]) for r in rows] == [1, 2] and [int(r["step"]) for r in rows] == [5, 10]  # 240 / 50
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(history["val_loss"])
    assert float(rows[0]["lr"]) == 1e-3 and float(rows[0]["seconds"]) > 0

    reader = event_reader(run / "tensorboard")
    tags = reader.Tags()
    assert {"epoch/train_loss", "epoch/val_loss", "epoch/lr", "epoch/seconds", "step/loss"} <= set(tags["scalars"])
    epoch_loss = reader.Scalars("epoch/train_loss")
    assert [e.step for e in epoch_loss] == [5, 10]
    assert [e.value for e in epoch_loss] == pytest.approx(history["train_loss"], rel=1e-6)
    assert [e.step for e in reader.Scalars("step/loss")] == [2, 4, 6, 8, 10]
    images = reader.Images("reconstructions")  # inputs above reconstructions, 8 samples of 28 x 28
    assert [i.step for i in images] == [5, 10] and (images[-1].width, images[-1].height) == (8 * 28, 2 * 28)

    projector = run / "tensorboard" / "projector_config.pbtxt"
    assert 'tensor_path: "00010/codes/tensors.tsv"' in projector.read_text()
    assert "sprite" in projector.read_text() and "metadata_path" in projector.read_text()
    codes = (run / "tensorboard" / "00010" / "codes" / "tensors.tsv").read_text().splitlines()
    labels = (run / "tensorboard" / "00010" / "codes" / "metadata.tsv").read_text().split()
    assert len(codes) == len(labels) == len(data[1]) and len(codes[0].split("\t")) == MODEL["code_size"]
    assert set(labels) <= {str(i) for i in range(10)} and len(set(labels)) > 3
    assert (run / "tensorboard" / "00010" / "codes" / "sprite.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_after_an_interruption_repeats_no_step(data, tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = tmp_path / "runs" / "run"
    log = ["csv", "tensorboard", "mlflow"]
    options = dict(run_dir=run, log=log, checkpoint_every=2, deterministic=True, **TRAIN)
    with pytest.raises(KeyboardInterrupt):  # epoch 3 was logged, but the last checkpoint is epoch 2's
        aekit.fit(new_model(data), *data, epochs=4, callbacks=[StopAt(3)], **options)
    assert [int(r["epoch"]) for r in csv_rows(run)] == [1, 2, 3]
    # the same callbacks (their states are restored by position), this time without the interruption
    with pytest.warns(UserWarning, match=r"holds values past the checkpoint .* \(step 15 against 10\)"):
        aekit.fit(new_model(data), *data, epochs=4, callbacks=[StopAt(-1)], resume=True, **options)
    full = aekit.fit(new_model(data), *data, epochs=4, run_dir=tmp_path / "straight", **PLAIN)

    rows = csv_rows(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert [float(r["train_loss"]) for r in rows] == pytest.approx(full["train_loss"], rel=1e-5)

    reader = event_reader(run / "tensorboard")  # the events of both processes, as TensorBoard shows them
    assert [e.step for e in reader.Scalars("epoch/train_loss")] == [5, 10, 15, 20]
    assert [e.step for e in reader.Scalars("step/loss")] == list(range(2, 21, 2))
    assert [e.value for e in reader.Scalars("epoch/train_loss")] == pytest.approx(full["train_loss"], rel=1e-5)

    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "runs" / "mlruns").as_uri())
    [experiment] = [e for e in client.search_experiments() if e.name == "aekit"]
    # epoch 3 was logged past the checkpoint, and MLflow cannot take values back (a trial found them kept where the
    # training done again differed): the resume logs to a new run of the same name, and the first is marked KILLED
    runs = {r.info.status: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"KILLED", "FINISHED"} and runs["KILLED"].info.run_name == "run"
    found = runs["FINISHED"]
    assert found.info.run_name == "run"
    assert found.data.params["train.epochs"] == "4" and found.data.params["model.code_size"] == "3"
    epoch_loss = client.get_metric_history(found.info.run_id, "epoch/train_loss")  # the kept epochs, from history
    assert sorted(m.step for m in epoch_loss) == [5, 10, 15, 20]
    assert [m.value for m in sorted(epoch_loss, key=lambda m: m.step)] == pytest.approx(full["train_loss"], rel=1e-5)
    assert sorted(m.step for m in client.get_metric_history(found.info.run_id, "epoch/seconds")) == [5, 10, 15, 20]
    steps = [m.step for m in client.get_metric_history(found.info.run_id, "step/loss")]
    assert sorted(steps) == list(range(12, 21, 2))
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"model.safetensors", "checkpoint.safetensors", "history.json", "reconstructions.png"} <= artifacts


def test_mlflow_says_how_a_run_stopped_and_a_moved_run_folder_resumes_into_a_new_run(data, tmp_path, monkeypatch):
    """A trial: an interrupted run stayed RUNNING in MLflow forever, one interrupted before its first checkpoint (whose
    folder aekit removes) too, and a run folder copied elsewhere could not be resumed (MLflow's "Run not found")."""
    import shutil

    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    options = dict(log=["mlflow"], epochs=3, **TRAIN)
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(new_model(data), *data, callbacks=[StopAt(0)], run_dir=tmp_path / "a" / "early", **options)
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(new_model(data), *data, callbacks=[StopAt(1)], run_dir=tmp_path / "a" / "run", **options)
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "a" / "mlruns").as_uri())
    [experiment] = [e for e in client.search_experiments() if e.name == "aekit"]
    [run] = client.search_runs([experiment.experiment_id])  # the early one is deleted
    assert (run.info.run_name, run.info.status) == ("run", "KILLED")
    (tmp_path / "b").mkdir()
    shutil.copytree(tmp_path / "a" / "run", tmp_path / "b" / "run")  # shared with a colleague: another store
    with pytest.warns(UserWarning, match="is not in .*a run folder copied or moved.*new MLflow run"):
        aekit.fit(new_model(data), *data, callbacks=[StopAt(-1)], run_dir=tmp_path / "b" / "run", resume=True, **options)
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "b" / "mlruns").as_uri())
    [experiment] = [e for e in client.search_experiments() if e.name == "aekit"]
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "epoch/train_loss")) == [5, 10, 15]
    aekit.fit(new_model(data), *data, callbacks=[StopAt(-1)], run_dir=tmp_path / "b" / "run", resume=True,
              **{**options, "epochs": 4})  # trained on: the same MLflow run, whose params cannot change
    [run] = client.search_runs([experiment.experiment_id])
    assert (run.data.params["train.epochs"], run.data.tags["resumed/train.epochs"]) == ("3", "4")
    client.delete_run(run.info.run_id)  # deleted in MLflow's UI: it cannot be reopened
    with pytest.warns(UserWarning, match="or the run deleted"):
        aekit.fit(new_model(data), *data, callbacks=[StopAt(-1)], run_dir=tmp_path / "b" / "run", resume=True,
                  **{**options, "epochs": 5})


def test_bad_log_settings_are_one_line_errors(data, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="train.log.*'wandb'.*csv, tensorboard, mlflow"):
        aekit.fit(new_model(data), data[0], epochs=1, log=["wandb"], **TRAIN)
    with pytest.raises(ConfigError, match="train.log: 'csv' writes into the run folder"):
        aekit.fit(new_model(data), data[0], epochs=1, log=["csv"], **{**TRAIN, "log_every": 10})  # (csv: per epoch)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"pip install 'aekit\[tensorboard\]'"):
        aekit.fit(new_model(data), data[0], epochs=1, log=["tensorboard"], run_dir=tmp_path / "r", **TRAIN)


def test_torchrun_rank_zero_alone_logs(tmp_path, one_torchrun_at_a_time):  # noqa: F811
    pytest.importorskip("tensorboard")

    config = {
        "model": {"name": "dense", "hidden": [16], "code_size": 4},
        "data": {"name": "digits", "val_fraction": 0.1, "limit": 300},
        "train": {"epochs": 2, "batch_size": 32, "progress": False, "log": ["csv", "tensorboard"], "device": "cpu"},
        "output": {"dir": str(tmp_path), "name": "ddp"},
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(config))
    run_quietly([sys.executable, "-m", "aekit", "train", str(path), "--distributed", "--nproc", "2", "--quiet"])
    run = tmp_path / "ddp"
    assert [int(r["epoch"]) for r in csv_rows(run)] == [1, 2]
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert [e.step for e in event_reader(run / "tensorboard").Scalars("epoch/train_loss")] == [9, 18]


def test_mlflow_without_a_run_folder_logs_to_mlruns_here_and_a_store_it_cannot_use_is_one_line(data, tmp_path,
                                                                                                 monkeypatch):
    """A trial: fit(..., log=["mlflow"]) without run_dir failed on MLflow 3's default sqlite store (mlflow-skinny
    cannot use it) with MLflow's own exception; MLFLOW_TRACKING_URI=sqlite:///x.db was 'unexpected'."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    aekit.fit(new_model(data), *data, epochs=1, log=["mlflow"], **TRAIN)
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    [experiment] = [e for e in client.search_experiments() if e.name == "aekit"]
    assert [r.info.status for r in client.search_runs([experiment.experiment_id])] == ["FINISHED"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'x.db'}")
    try:
        import sqlalchemy  # noqa: F401  (the full mlflow's: it can use sqlite)
    except ImportError:
        with pytest.raises(ConfigError, match=r"^train.log: mlflow cannot log to sqlite:///.*x.db \(.*\); give "
                                              r"MLFLOW_TRACKING_URI a file store"):
            aekit.fit(new_model(data), *data, epochs=1, log=["mlflow"], **TRAIN)


def test_the_epoch_restore_best_kept_is_in_tensorboard_and_mlflow(data, tmp_path, monkeypatch):
    """A watching trial: stdout, metrics.json and the report named the epoch restore_best kept; the loggers, whose
    last pictures, codes and weights are of it, did not."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = tmp_path / "runs" / "run"
    aekit.fit(new_model(data), *data, epochs=3, run_dir=run, log=["tensorboard", "mlflow"], restore_best=True, **TRAIN)
    reader = event_reader(run / "tensorboard")
    reader.Reload()
    assert "restore_best" in str(reader.Tags().get("tensors", [])), reader.Tags()
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "runs" / "mlruns").as_uri())
    [experiment] = [e for e in client.search_experiments() if e.name == "aekit"]
    [found] = client.search_runs([experiment.experiment_id])
    assert found.data.tags["restore_best.kept_epoch"] in {"0", "1", "2", "3"}


def test_mlflow_logs_to_a_file_store_the_user_names(data, tmp_path, monkeypatch):
    """A review: MLFLOW_TRACKING_URI=file:///... was refused (MLflow 3 keeps file stores behind a switch aekit set for
    its own choice alone), by a message that advised a file store."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "store").as_uri())
    aekit.fit(new_model(data), *data, epochs=1, log=["mlflow"], **TRAIN)
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "store").as_uri())
    [experiment] = [e for e in client.search_experiments() if e.name == "aekit"]
    assert [r.info.status for r in client.search_runs([experiment.experiment_id])] == ["FINISHED"]


def test_mlflow_without_its_tracking_server_is_one_line(data, monkeypatch, tmp_path, capsys):
    """A review: MLFLOW_TRACKING_URI=http://... with no server there ended 'MlflowException ... (unexpected)'; a logging
    trial: after MLflow's retries, 8 minutes after the run's start line. Refused before any work, in seconds."""
    pytest.importorskip("mlflow")
    from aekit.apps.cli import main

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # (the discard port: nothing listens)
    with pytest.raises(ConfigError, match=r"^train.log: mlflow cannot reach http://127.0.0.1:9 \(.*\); start its "
                                          r"tracking server, or give MLFLOW_TRACKING_URI another store$"):
        aekit.fit(new_model(data), *data, epochs=1, log=["mlflow"], **TRAIN)
    assert main(["train", "data.name=digits", "train.log=[mlflow]", f"output.dir={tmp_path}", "output.name=r"]) == 2
    assert capsys.readouterr().err.startswith("aekit: error: train.log: mlflow cannot reach http://127.0.0.1:9")
    assert not (tmp_path / "r").exists()


def test_mlflow_logs_to_the_experiment_named_and_inside_a_run_made_active(data, tmp_path, monkeypatch):
    """A logging trial: MLFLOW_EXPERIMENT_NAME was not read (runs went to 'aekit'), and fit inside a sweep's
    `mlflow.start_run()` logged to another experiment, its trial's run left without them."""
    mlflow = pytest.importorskip("mlflow")
    store = (tmp_path / "store").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "lab")
    aekit.fit(new_model(data), *data, epochs=1, log=["mlflow"], **TRAIN)
    client = mlflow.tracking.MlflowClient(tracking_uri=store)
    assert {e.name for e in client.search_experiments()} == {"lab"} | ({"Default"} & {e.name for e in client.search_experiments()})
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(store)
    try:
        sweep = mlflow.create_experiment("sweep")
        with mlflow.start_run(experiment_id=sweep, run_name="trial-7") as trial:
            aekit.fit(new_model(data), *data, epochs=1, log=["mlflow"], **TRAIN)
    finally:
        mlflow.set_tracking_uri("")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "424242")  # not there: one line (a review: "unexpected")
    with pytest.raises(ConfigError, match=r"\(MLFLOW_EXPERIMENT_ID=424242: .*, or MLFLOW_EXPERIMENT_ID an experiment there$"):
        aekit.fit(new_model(data), *data, epochs=1, log=["mlflow"], **TRAIN)
    runs = client.search_runs([sweep])
    [nested] = [r for r in runs if r.info.run_id != trial.info.run_id]
    assert nested.data.tags["mlflow.parentRunId"] == trial.info.run_id and "epoch/train_loss" in nested.data.metrics
    assert nested.info.status == "FINISHED"


@pytest.mark.parametrize("name", ["tensorboard", "mlflow"])
def test_a_logger_whose_package_is_missing_is_refused_before_the_data_are_read(name, tmp_path, monkeypatch, capsys):
    """A packaging trial: `aekit train ... train.log=[mlflow]` without mlflow printed its start line (after the data
    and PCA's start) before its refusal; a resume alike."""
    from aekit.apps import run as runs
    from aekit.apps.cli import main

    monkeypatch.setitem(sys.modules, name, None)  # import fails, as where it is not installed
    monkeypatch.setattr(runs, "load_splits", lambda *a, **k: pytest.fail("the data were read"))
    assert main(["train", "data.name=digits", "train.epochs=1", f"train.log=[{name}]",
                 f"output.dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert f"needs the {name} package; pip install 'aekit[{name}]'" in err and "training" not in err
    assert not any(tmp_path.iterdir())


def test_the_estimators_log_to_mlflow(data, tmp_path, monkeypatch):
    """A logging trial: the estimators refused train_params={'log': ['mlflow']} as writing into a run folder, which
    mlflow does not (aekit.fit logs to its store without one)."""
    mlflow = pytest.importorskip("mlflow")
    from aekit.apps.sklearn import AutoencoderTransformer

    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "store").as_uri())
    x = data[0].x.flatten(1).numpy()[:64]
    AutoencoderTransformer(epochs=1, model_params={"hidden": [8], "code_size": 2}, train_params={"log": ["mlflow"]}).fit(x)
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "store").as_uri())
    [experiment] = [e for e in client.search_experiments() if e.name == "aekit"]
    assert [r.info.status for r in client.search_runs([experiment.experiment_id])] == ["FINISHED"]


def test_a_runs_test_figures_are_logged_to_its_mlflow_run(tmp_path, monkeypatch, capsys):
    """A logging trial: the headline numbers (the test error, PCA's) were in metrics.json alone, not in the MLflow run
    a lab compares runs by; `aekit evaluate` logs them again."""
    mlflow = pytest.importorskip("mlflow")
    from aekit.apps.cli import main

    store = (tmp_path / "store").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    assert main(["train", "data.name=digits", "train.epochs=1", "train.log=[mlflow]", f"output.dir={tmp_path}",
                 "output.name=r", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    client = mlflow.tracking.MlflowClient(tracking_uri=store)
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    logged = run.data.metrics
    assert logged["test/squared_error_per_sample"] == pytest.approx(metrics["squared_error_per_sample"])
    assert logged["test/pca_squared_error_per_sample"] == pytest.approx(metrics["pca_squared_error_per_sample"])
    assert logged["val/squared_error_per_sample"] == pytest.approx(metrics["val"]["squared_error_per_sample"])  # (a
    # search's figure, in metrics.json alone before: a review)
    assert "metrics.json" in [a.path for a in client.list_artifacts(run.info.run_id)]
    from aekit.training.loggers import (
        log_results,  # (a surfaces hunt: validation figures went under test/, and the
    )
    # NLL's and sample quality's, nested in metrics.json, nowhere)
    log_results(tmp_path / "r", {"split": "val", "squared_error_per_sample": 1.5, "nll": {"nats": 3.0, "samples": 5},
                                 "sample_quality": {"frechet_distance": 2.0}})
    logged = client.get_run(run.info.run_id).data.metrics
    assert (logged["val/squared_error_per_sample"], logged["val/nll_nats"], logged["val/sample_quality_frechet_distance"]) == (
        1.5, 3.0, 2.0) and "test/nll_nats" not in logged
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # its store gone: a note, the figures kept
    assert main(["evaluate", str(tmp_path / "r"), "--nll-samples", "0", "--quality-samples", "0"]) == 0
    out, err = capsys.readouterr()
    assert "squared error per sample" in out and "could not be logged to run" in err


def test_tracking_uris_are_shown_without_credentials_and_kept_whole(monkeypatch, tmp_path):
    """A review: a token as the user (http://tok@host) was printed and a nested run's URI saved with its password;
    a relative store (mlruns) was saved relative, and 'databricks' would have been made a folder; ALL_PROXY alone
    still probed the server directly."""
    from aekit.training.loggers import check_server, shown_uri, whole_uri

    assert shown_uri("http://tok@h:5000/x") == "http://***@h:5000/x" and shown_uri("http://u:p@h", hidden="") == "http://h"
    monkeypatch.chdir(tmp_path)
    assert whole_uri("mlruns") == (tmp_path / "mlruns").as_uri() and whole_uri("databricks") == "databricks"
    assert whole_uri("sqlite:///a.db") == f"sqlite:///{tmp_path / 'a.db'}" and whole_uri("http://h") == "http://h"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    check_server("http://127.0.0.1:9")  # through the proxy, as MLflow's requests go: not probed


def test_the_pictures_and_codes_logged_are_spread_over_the_held_out_samples():
    """Like the report's pictures (a bug hunt's finding elsewhere): the first samples of a folder of class folders,
    read class by class, are its first class; TensorBoard's pictures and projector showed that class alone."""
    from types import SimpleNamespace

    from aekit.data.batches import pick
    from aekit.training.loggers import held_out

    x, y = torch.arange(40.0).reshape(20, 2), torch.arange(20) // 5  # four classes, sorted
    x_shown, y_shown = held_out(SimpleNamespace(val_data=(x, y), train_data=None), 8)
    assert set(y_shown.tolist()) == {0, 1, 2, 3} and torch.equal(x_shown, x[torch.from_numpy(pick(20, 8))])
    x_shown, y_shown = held_out(SimpleNamespace(val_data=None, train_data=(x, None)), 30)  # more than there are
    assert torch.equal(x_shown, x) and y_shown is None


def test_a_run_folder_from_someone_else_names_no_mlflow_store_it_is_sent_to(tmp_path, monkeypatch):
    """An untrusted-files hunt: a run folder's checkpoint named an MLflow server (its callback state's "uri"), and
    evaluate and resume sent it the test figures, the weights and the user's MLFLOW_TRACKING_TOKEN, unsaid."""
    from aekit.training import loggers

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    evil = "http://127.0.0.1:9/steal"
    monkeypatch.setattr(loggers, "check_server", lambda uri: pytest.fail(f"connected to {uri}"))
    monkeypatch.setattr(loggers, "checkpoint_header", lambda run_dir: {"callback_states": [
        {"callback": "aekit.training.loggers.MLflowLogger", "state": {"run_id": "abc", "uri": evil}}]})
    with pytest.warns(UserWarning, match=r"checkpoint names the store http://127.0.0.1:9/steal, which is not yours"):
        loggers.log_results(tmp_path / "run", {"mse": 1.0})
    logger = loggers.MLflowLogger(tmp_path / "run")
    with pytest.warns(UserWarning, match="not logged there: set MLFLOW_TRACKING_URI="):
        logger.load_state_dict({"run_id": "abc", "uri": evil})
    assert logger.run_id == "abc" and logger.uri is None
    mine = logger.tracking_uri()  # the user's own store, or the one MLFLOW_TRACKING_URI names, is kept
    logger.load_state_dict({"run_id": "abc", "uri": mine})
    assert logger.uri == mine
    monkeypatch.setenv("MLFLOW_TRACKING_URI", evil)
    logger.load_state_dict({"run_id": "abc", "uri": evil})
    assert logger.uri == evil
    for alike in ("http://127.0.0.1:9/steal/", "HTTP://127.0.0.1:9/steal", "http://user:pw@127.0.0.1:9/steal"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the same store, written another way: no warning
            logger.load_state_dict({"run_id": "abc", "uri": alike})
        assert logger.uri == alike
