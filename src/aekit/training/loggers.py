"""Loggers: training watched where people already look — a CSV file, TensorBoard, MLflow.

`train.log: [csv, tensorboard, mlflow]` (or `fit(..., log=["csv"])`) adds these callbacks to the
one trainer. Every value is logged at the trainer's global step (per-epoch values at the epoch's
last step), so all three share one x-axis. They write from rank 0 only under torchrun, and a
resumed run continues its logs without repeating a step:

    csv          run_dir/log.csv, one row per epoch; rows past the checkpoint are dropped on resume
    tensorboard  run_dir/tensorboard/ through torch.utils.tensorboard; on resume the writer's own
                 `purge_step` hides events past the checkpoint
    mlflow       a local file store beside the run folder (runs/mlruns; ./mlruns without one) unless
                 MLFLOW_TRACKING_URI says otherwise (a store mlflow cannot use is refused in one line); the
                 run id is callback state in the checkpoint, so a resume reopens the same run and
                 skips the steps it already holds, unless it holds steps past the checkpoint (MLflow
                 cannot take values back) or is not in the store (a run folder moved): then a new run
                 of the same name, with the kept epochs' values; a stopped run is marked KILLED or FAILED
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..config import safe_yaml, to_dict
from ..data.batches import map_batches, pick
from ..data.core import is_picture
from ..errors import ConfigError, warn
from ..writing import atomic_write_text
from .callbacks import Callback
from .checkpoint import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    checkpoint_header,
)

if TYPE_CHECKING:
    from .loop import Trainer

LOGGERS = ("csv", "tensorboard", "mlflow")
EXTRAS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}  # logger -> the module it needs
IMAGE_SAMPLES = 8  # test samples in each reconstruction grid
PROJECTOR_SAMPLES = 500  # codes shown in TensorBoard's embedding projector
IMAGE_GRIDS = 10  # about this many reconstruction grids per run


def check_loggers(names: Sequence[str]) -> None:
    """Refuse, before any work, a logger that does not exist or whose package is not installed."""
    for name in names:
        if name not in LOGGERS:
            raise ConfigError(f"train.log: {name!r} is not a logger; choose from: {', '.join(LOGGERS)}")
        if name in EXTRAS:
            try:
                __import__(EXTRAS[name])
            except ImportError:
                raise ConfigError(
                    f"train.log: {name!r} needs the {EXTRAS[name]} package; pip install 'aekit[{name}]'"
                ) from None
    if "mlflow" in names:
        check_server(os.environ.get("MLFLOW_TRACKING_URI", ""))


def whole_uri(uri: str) -> str:
    """A tracking URI that names the same store from any folder: a relative path (mlruns) or sqlite file made absolute
    (a review: a resume elsewhere logged to a new store); databricks and other schemes as they are."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(uri.removeprefix("sqlite:///")).resolve())
    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme and len(scheme) > 1 or uri.partition(":")[0] in ("databricks", "databricks-uc", "uc"):  # (C: a drive)
        return uri
    return Path(uri).resolve().as_uri()


def check_server(uri: str) -> None:
    """A tracking server (http://, https://) that answers no connection, refused in seconds: MLflow's own retries
    took 8 minutes to fail after the run's start line (a logging trial)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    proxies = urllib.request.getproxies()
    if (parts.scheme in proxies or "all" in proxies) and not urllib.request.proxy_bypass(parts.hostname):
        return  # reached through a proxy, as MLflow's requests reach it (a review: refused where it worked)
    try:
        socket.create_connection((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), timeout=10).close()
    except (OSError, ValueError) as err:
        raise ConfigError(f"train.log: mlflow cannot reach {shown_uri(uri)} ({getattr(err, 'strerror', None) or err}); "
                          "start its tracking server, or give MLFLOW_TRACKING_URI another store") from None


def shown_uri(uri: str, hidden: str = "***@") -> str:
    """`uri` without the user and password in it (http://user:secret@host, http://token@host: a review saw them printed
    and saved), `hidden` in their place."""
    parts = urllib.parse.urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urllib.parse.urlunsplit(parts._replace(netloc=hidden + parts.netloc.rpartition("@")[2]))


def store_key(uri: str) -> tuple[str, ...]:
    """What tells one store from another: `uri` without its user and password, its scheme and host in any case and its
    path with or without a last slash alike (a store named http://Host/ was "not yours" beside http://host)."""
    parts = urllib.parse.urlsplit(shown_uri(whole_uri(uri), hidden=""))
    return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query


def own_store(stored: str | None, run_dir: Path | None) -> str | None:
    """A checkpoint's MLflow store (`stored`) where it is the user's own (MLFLOW_TRACKING_URI, mlflow's active URI, the
    default beside the run folder), else None, said: a run folder from someone else names the server its results,
    weights and the user's MLflow token go to (an untrusted-files hunt: a crafted one was sent them unsaid)."""
    if not stored:
        return None
    own = {MLflowLogger(run_dir).tracking_uri()}
    if (mlflow := sys.modules.get("mlflow")) is not None and hasattr(mlflow, "get_tracking_uri"):
        own.add(whole_uri(mlflow.get_tracking_uri()))
    if store_key(stored) in {store_key(u) for u in own}:
        return stored
    warn(f"train.log: mlflow: {run_dir}'s checkpoint names the store {shown_uri(stored)}, which is not yours "
         f"(MLFLOW_TRACKING_URI, or mlflow's own); not logged there: set MLFLOW_TRACKING_URI={shown_uri(stored)} if you "
         "trust it")
    return None


def make_loggers(names: Sequence[str], run_dir: Path | None, *, every: int = 10) -> list[Callback]:
    """The logger callbacks `names` ask for, checked before any training starts."""
    check_loggers(names)
    loggers: list[Callback] = []
    for name in dict.fromkeys(names):  # each once, in the order given
        if run_dir is None and name != "mlflow":
            raise ConfigError(f"train.log: {name!r} writes into the run folder; give fit() a run_dir")
        logger = {"csv": CSVLogger, "tensorboard": TensorBoardLogger, "mlflow": MLflowLogger}[name]
        loggers.append(logger(run_dir, every=every))
    return loggers


def log_results(run_dir: Path, metrics: dict[str, Any]) -> None:
    """A run's test figures (metrics.json's numbers, as test/NAME, or val/NAME where the run was scored on its
    validation part; the NLL's and sample quality's as test/nll_NAME, test/sample_quality_NAME; the validation part's
    error, metrics.json's val, as val/NAME) and metrics.json itself in the MLflow run its
    training logged to, where its checkpoint names one (a logging trial: the headline numbers were not there to
    compare runs by). A store that cannot take them is said in a note; the figures stay in metrics.json."""
    header = checkpoint_header(run_dir)
    state = next((entry.get("state") or {} for entry in header.get("callback_states") or ()
                  if str(entry.get("callback", "")).endswith(".MLflowLogger")), {})
    if not state.get("run_id") or (state.get("uri") and own_store(state["uri"], run_dir) is None):
        return
    try:
        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        uri = state.get("uri") or MLflowLogger(run_dir).tracking_uri()
        check_server(uri)
        client, now = MlflowClient(tracking_uri=uri), int(time.time() * 1000)
        part = metrics.get("split") if metrics.get("split") in ("train", "val") else "test"  # (a surfaces hunt: a run
        # scored on its validation part logged test/NAME; the NLL's and sample quality's figures, nested, not at all)
        flat = {f"{part}/{outer}_{key}" if outer else f"{part}/{key}": value for outer, inner in [("", metrics)] + [
            (name, metrics[name]) for name in ("nll", "sample_quality") if isinstance(metrics.get(name), dict)]
            for key, value in inner.items()}
        if part == "test" and isinstance(metrics.get("val"), dict):  # the validation part's, a search's figure too
            flat |= {f"val/{key}": value for key, value in metrics["val"].items()}
        client.log_batch(state["run_id"], metrics=[
            Metric(key, float(value), now, int(header.get("global_step") or 0)) for key, value in flat.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)])
        client.log_artifact(state["run_id"], str(run_dir / METRICS_FILE))
    except Exception as err:  # noqa: BLE001  (the figures are in metrics.json: a note, not a failed evaluation)
        warn(f"train.log: mlflow: the test figures could not be logged to run {state['run_id']} ({type(err).__name__}: "
             f"{str(err).splitlines()[0][:160] if str(err) else ''}); they are in {run_dir / METRICS_FILE}")


def kept_epoch(trainer: Trainer) -> int | None:
    """The epoch whose weights restore_best kept at the end (0: the start), or None."""
    return trainer.best_epoch if trainer.config.restore_best and trainer.best_state is not None else None


def held_out(trainer: Trainer, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`n` validation samples (training samples without validation data) spread over them, on the CPU (a folder
    of class folders is read class by class)."""
    x, y = trainer.val_data if trainer.val_data is not None else trainer.train_data
    rows = torch.from_numpy(pick(len(x), n))
    return x[rows].cpu().float(), (y[rows].cpu() if y is not None else None)


def _name(label: int, classes: Sequence[str] | None) -> str:
    """A label as the projector shows it: its class name where the data have them."""
    return classes[label] if classes and 0 <= label < len(classes) else str(label)


def is_image(x: torch.Tensor) -> bool:  # not a signal's channels (N, 1, C, T): their pictures are curves
    return x.ndim == 4 and x.shape[1] in (1, 3) and is_picture(x.shape[1:])


def reconstruction_grid(model, x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) inputs -> one (C, 2H, N*W) picture: the inputs above their reconstructions."""
    x_hat = map_batches(model, x, lambda xb: model(xb).x_hat, batch_size=256).reshape(x.shape)
    rows = [torch.cat(list(images), dim=-1) for images in (x, x_hat)]  # each (C, H, N*W)
    return torch.cat(rows, dim=-2).clamp(0, 1)


class Logger(Callback):
    """Rank 0 only. Subclasses override `start`, `step` (every `every` steps), `epoch`, `finish`."""

    def __init__(self, run_dir: Path | None, *, every: int = 10) -> None:
        self.run_dir = run_dir
        self.every = every
        self.active = False

    def on_train_begin(self, trainer: Trainer) -> None:
        self.active = trainer.is_main
        self.grids_done = int(trainer.progress() * IMAGE_GRIDS)
        if self.active:
            self.start(trainer)

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        if self.active and trainer.global_step % self.every == 0:
            self.step(trainer, {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in logs.items()})  # one read-back every `every` steps

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if self.active:  # the epoch's loss terms (train and validation), its learning rate and its seconds
            values = {k: v for k, v in logs.items() if k != "time"}
            self.epoch(trainer, {**values, "lr": trainer.optimizer.param_groups[0]["lr"], "seconds": logs["time"]})

    def on_train_end(self, trainer: Trainer) -> None:
        if self.active:
            self.finish(trainer)

    def on_train_stop(self, trainer: Trainer, error: BaseException) -> None:
        if self.active:
            self.stop(trainer, error)

    def on_checkpoint(self, trainer: Trainer) -> None:
        if self.active:
            self.flush()

    def flush(self) -> None:
        """Send or write what is held (a checkpoint inside an epoch: a kill after it loses none of it)."""

    def stop(self, trainer: Trainer, error: BaseException) -> None:
        """Training stopped before its end: what the logger's store needs to say so."""

    def wants_images(self, trainer: Trainer) -> bool:
        """True about IMAGE_GRIDS times a run (of epochs or of a time budget) and at its end; once an epoch."""
        progress = trainer.progress()
        due = int(progress * IMAGE_GRIDS) > self.grids_done or progress >= 1.0
        self.grids_done = int(progress * IMAGE_GRIDS)
        return due

    def start(self, trainer: Trainer) -> None: ...

    def step(self, trainer: Trainer, values: dict[str, float]) -> None: ...

    def epoch(self, trainer: Trainer, values: dict[str, float]) -> None: ...

    def finish(self, trainer: Trainer) -> None: ...


class CSVLogger(Logger):
    """run_dir/log.csv: epoch, step, every loss term (train_*, val_*), lr, seconds; one row per epoch."""

    FILE = "log.csv"

    def start(self, trainer: Trainer) -> None:
        self.path = self.run_dir / self.FILE
        kept: list[dict[str, str]] = []
        if trainer.epoch and self.path.is_file():  # resuming: rows up to the checkpoint's epoch stay
            with self.path.open(newline="") as f:
                kept = [row for row in csv.DictReader(f) if int(row["epoch"]) <= trainer.epoch]
        self.columns: list[str] | None = list(kept[0]) if kept else None
        self._rewrite(kept)

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        """The file as `rows` under `self.columns` (empty where a row has none), replaced whole: a crash leaves the old."""
        text = io.StringIO()
        if rows:
            writer = csv.DictWriter(text, self.columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        atomic_write_text(self.path, text.getvalue())

    def epoch(self, trainer: Trainer, values: dict[str, float]) -> None:
        row = {"epoch": trainer.epoch, "step": trainer.global_step, **values}
        if self.columns is not None and not set(row) <= set(self.columns):  # a column new since (validation data
            with self.path.open(newline="") as f:  # added at a resume: a bug hunt saw its values dropped)
                kept = list(csv.DictReader(f))
            self.columns += [key for key in row if key not in self.columns]
            self._rewrite(kept)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, self.columns or list(row), extrasaction="ignore")
            if self.columns is None:
                self.columns = list(row)
                writer.writeheader()
            writer.writerow(row)


class TensorBoardLogger(Logger):
    """run_dir/tensorboard/: scalars per step and per epoch, reconstruction grids, and at the end
    the codes of held-out samples with their images and labels in the embedding projector."""

    DIR = "tensorboard"

    def start(self, trainer: Trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # a resumed run hides what an interrupted one logged after its last checkpoint
        purge = trainer.global_step + 1 if trainer.global_step else None
        self.writer = SummaryWriter(log_dir=str(self.run_dir / self.DIR), purge_step=purge)

    def step(self, trainer: Trainer, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(f"step/{key}", value, trainer.global_step)

    def flush(self) -> None:
        self.writer.flush()

    def epoch(self, trainer: Trainer, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(f"epoch/{key}", value, trainer.global_step)
        x, _ = held_out(trainer, IMAGE_SAMPLES)
        if is_image(x) and self.wants_images(trainer):
            self.writer.add_image("reconstructions", reconstruction_grid(trainer.model, x), trainer.global_step)
        self.writer.flush()

    def finish(self, trainer: Trainer) -> None:
        if (kept := kept_epoch(trainer)) is not None:  # the weights the codes below are of (a watching trial)
            self.writer.add_text("restore_best", f"the weights of epoch {kept} were kept (0: the start)", trainer.global_step)
        x, y = held_out(trainer, PROJECTOR_SAMPLES)
        codes = map_batches(trainer.model, x, trainer.model.encode, batch_size=256).reshape(len(x), -1)
        self.writer.add_embedding(
            codes,
            metadata=[_name(int(v), getattr(trainer, "classes", None)) for v in y] if y is not None and y.ndim == 1 else None,
            label_img=x if is_image(x) else None,
            global_step=trainer.global_step,
            tag="codes",
        )
        self.writer.close()


class MLflowLogger(Logger):
    """An MLflow run: the config as params, every value as a metric, final weights, checkpoint,
    config, history and a reconstruction picture as artifacts."""

    EXPERIMENT = "aekit"  # unless MLFLOW_EXPERIMENT_NAME (or _ID) names another, or a run of mlflow's is active

    def __init__(self, run_dir: Path | None, *, every: int = 10) -> None:
        super().__init__(run_dir, every=every)
        self.run_id: str | None = None
        self.pending: list = []  # per-step metrics, sent with the epoch's (one request per epoch)
        self.logged_until = 0  # steps up to here are in the store already (a resumed run skips them)

    def state_dict(self) -> dict[str, Any]:  # (no credentials in a run folder: MLflow's variables give them again)
        return {"run_id": self.run_id, **({"uri": shown_uri(self.uri, hidden="")} if self.uri else {})}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run_id, self.uri = state.get("run_id"), own_store(state.get("uri"), self.run_dir)

    uri: str | None = None  # the store of the user's active run this one is nested in (not the run folder's)

    def parent(self) -> Any:
        """The run `mlflow.start_run()` made active around this training (fit inside a sweep's trial), or None: this
        run is logged nested in it, to its store and experiment (a logging trial: it went to another experiment)."""
        import sys

        mlflow = sys.modules.get("mlflow")  # (only a user's own import can have started one)
        return mlflow.active_run() if mlflow is not None and hasattr(mlflow, "active_run") else None

    def tracking_uri(self) -> str:
        # MLflow 3 keeps its file store (in maintenance mode) behind this switch, a user's file store too (a review:
        # refused); the choice: nothing to install or run beside the light mlflow-skinny, and `mlflow ui` reads
        # it as is. Without a run folder, ./mlruns (MLflow 3's own default, sqlite, needs the full mlflow: a trial)
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return os.environ["MLFLOW_TRACKING_URI"]  # the user's choice
        return ((self.run_dir.parent if self.run_dir is not None else Path.cwd()) / "mlruns").resolve().as_uri()

    def start(self, trainer: Trainer) -> None:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        parent = self.parent() if self.run_id is None else None
        if parent is not None:
            import mlflow

            self.uri = whole_uri(mlflow.get_tracking_uri())
        uri = self.uri or self.tracking_uri()
        try:
            self.client = MlflowClient(tracking_uri=uri)
        except MlflowException as err:  # a store this mlflow cannot use (sqlite without the full mlflow, say)
            raise ConfigError(f"train.log: mlflow cannot log to {shown_uri(uri)} "
                              f"({str(err).splitlines()[0][:160]}); give MLFLOW_TRACKING_URI a file store (file:///...) or "
                              "a tracking server (http://...), or install the full mlflow") from None
        if self.run_id is not None:  # resumed: the same run, and what it holds is not logged twice
            try:
                found = self.client.get_run(self.run_id)
                keys = found.data.metrics if found.info.lifecycle_stage != "deleted" else None
            except MlflowException as err:  # a run folder copied or moved away from its store
                if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
                keys = None
            if keys is None:
                warn(f"train.log: mlflow: the run {self.run_id} this run logged to is not in {shown_uri(self.client.tracking_uri)} "
                     f"(a run folder copied or moved, or the run deleted); the resumed training is logged to a new "
                     f"MLflow run")
            steps = [m.step for key in keys or () for m in self.client.get_metric_history(self.run_id, key)]
            if keys is not None and max(steps, default=0) <= trainer.global_step:
                self.client.update_run(self.run_id, status="RUNNING")
                self.logged_until = max(steps, default=0)
                for param in self.params(trainer):  # MLflow's params cannot change: a resume's new value is a tag
                    if found.data.params.get(param.key, param.value) != param.value:
                        self.client.set_tag(self.run_id, f"resumed/{param.key}", param.value)
                return
            if keys is not None:  # MLflow cannot take back values: those of training after the checkpoint stay there
                self.client.set_terminated(self.run_id, "KILLED")
                warn(f"train.log: mlflow: the run {self.run_id} holds values past the checkpoint this run resumes "
                     f"from (step {max(steps):,} against {trainer.global_step:,}), of training that is done again; the "
                     f"resumed training is logged to a new MLflow run of the same name, and the first is marked KILLED")
            self.run_id = None
        if self.uri:  # (MLFLOW_TRACKING_URI's was probed by check_loggers, as make_loggers began)
            check_server(uri)
        wanted = os.environ.get("MLFLOW_EXPERIMENT_NAME") or self.EXPERIMENT  # (a lab's experiment: a logging trial)
        given = os.environ.get("MLFLOW_EXPERIMENT_ID") if parent is None else None
        try:  # the first request: a tracking server not there fails here (a review: "unexpected", after retries)
            experiment_id = parent.info.experiment_id if parent is not None else given or (
                getattr(self.client.get_experiment_by_name(wanted), "experiment_id", None) or
                self.client.create_experiment(wanted))
            found = self.client.get_experiment(experiment_id)  # (a review: an id not there, or a deleted experiment,
            if found.lifecycle_stage == "deleted":  # was "unexpected", at create_run)
                raise ConfigError(f"train.log: mlflow: experiment {found.name!r} ({experiment_id}) is deleted in "
                                  f"{shown_uri(uri)}; restore it (`mlflow experiments restore`), or name another")
        except MlflowException as err:
            which = f"MLFLOW_EXPERIMENT_ID={given}: " if given else ""
            raise ConfigError(f"train.log: mlflow cannot log to {shown_uri(uri)} ({which}{str(err).splitlines()[0][:160]}); "
                              "start its tracking server, or give MLFLOW_TRACKING_URI another store" + (
                                  ", or MLFLOW_EXPERIMENT_ID an experiment there" if given else "")) from None
        name = self.run_dir.name if self.run_dir is not None else None
        tags = {"mlflow.parentRunId": parent.info.run_id} if parent is not None else None
        self.run_id = self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
        self.client.log_batch(self.run_id, params=self.params(trainer))
        self.logged_until = 0
        if trainer.global_step:  # a resumed run in a new MLflow run: the epochs it kept, from its history (no lr)
            from mlflow.entities import Metric

            history, now = trainer.history, int(time.time() * 1000)
            metrics = [Metric(f"epoch/{'seconds' if key == 'time' else key}", float(value), now, step)
                       for key, values in history.items() if key not in ("epoch", "step")
                       for value, step in zip(values, history.get("step", ())) if step is not None and value is not None]
            for start in range(0, len(metrics), 1000):
                self.client.log_batch(self.run_id, metrics=metrics[start : start + 1000])

    def stop(self, trainer: Trainer, error: BaseException) -> None:
        """Stopped: KILLED (an interrupt) or FAILED, the values after the checkpoint not sent; a run interrupted
        before its first checkpoint, whose folder `aekit train` removes, is deleted (MLflow's deleted runs can be
        restored until `mlflow gc`)."""
        interrupted = isinstance(error, KeyboardInterrupt)
        if interrupted and self.run_dir is not None and not (self.run_dir / CHECKPOINT_FILE).is_file():
            self.client.delete_run(self.run_id)
        else:
            kept = (checkpoint_header(self.run_dir) or {}).get("global_step", 0) if self.run_dir is not None else 0
            self.pending = [m for m in self.pending if m.step <= kept]  # those a stop's checkpoint inside the epoch
            self.flush()  # keeps: the resume goes on after them (a review: never sent)
            self.client.set_terminated(self.run_id, "KILLED" if interrupted else "FAILED")

    def params(self, trainer: Trainer) -> list:
        """config.yaml flattened to dotted keys (model.hidden, train.lr, ...), or the model and train configs."""
        from mlflow.entities import Param

        config_file = self.run_dir / CONFIG_FILE if self.run_dir is not None else None
        if config_file is not None and config_file.is_file():
            config = safe_yaml(config_file.read_text(encoding="utf-8"), str(config_file))
        else:
            config = {"model": {"name": trainer.model.name, **to_dict(trainer.model.config)},
                      "train": to_dict(trainer.config)}
        flat: dict[str, Any] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for key, inner in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), inner)
            else:
                flat[prefix] = value

        walk("", config)
        return [Param(k, json.dumps(v) if isinstance(v, (list, tuple)) else str(v)) for k, v in flat.items()]

    def add(self, prefix: str, trainer: Trainer, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        if trainer.global_step > self.logged_until:
            now = int(time.time() * 1000)
            self.pending += [Metric(f"{prefix}/{k}", v, now, trainer.global_step) for k, v in values.items()]

    def step(self, trainer: Trainer, values: dict[str, float]) -> None:
        self.add("step", trainer, values)

    def epoch(self, trainer: Trainer, values: dict[str, float]) -> None:
        self.add("epoch", trainer, values)
        self.flush()

    def flush(self) -> None:
        for start in range(0, len(self.pending), 1000):  # MLflow's limit per request
            self.client.log_batch(self.run_id, metrics=self.pending[start : start + 1000])
        self.pending = []

    def finish(self, trainer: Trainer) -> None:
        if (kept := kept_epoch(trainer)) is not None:  # the weights the artifacts are of (a watching trial)
            self.client.set_tag(self.run_id, "restore_best.kept_epoch", str(kept))
        if self.run_dir is not None:
            for name in (MODEL_FILE, CHECKPOINT_FILE, CONFIG_FILE, HISTORY_FILE):
                if (self.run_dir / name).is_file():
                    self.client.log_artifact(self.run_id, str(self.run_dir / name))
        x, _ = held_out(trainer, IMAGE_SAMPLES)
        if is_image(x):
            grid = reconstruction_grid(trainer.model, x)  # (C, H, W) in [0, 1]
            picture = (grid.permute(1, 2, 0) * 255).round().to(torch.uint8).squeeze(-1).numpy()
            self.client.log_image(self.run_id, picture, "reconstructions.png")
        self.client.set_terminated(self.run_id, "FINISHED")
