"""One self-contained HTML page about run folders: `aekit report RUN_DIR [RUN_DIR ...] --output FILE`.

It reads `aekit train` folders (config.yaml, metrics.json, history.json, model.safetensors, PNGs)
and experiment folders (experiment.yaml, results.json with its tables as rows, history-<model>.json, pictures),
and shows per run: the headline, the result tables, learning curves, an interactive latent map
(train runs), every PNG with a caption, and the config. With several runs a summary table compares
them and one plot holds all their learning curves.

The page is a Jinja2 template (templates/report.html.j2) filled with structured data: tables are
rows, not HTML strings. Pictures are base64 data URIs; the CSS and the script are inline, so the
page needs nothing else: mail it, open it offline.

The two interactive plots are ~250 lines of plain JavaScript drawing inline SVG
(templates/report.js), not a plotting library: what a reader wants here (the input image of the
hovered point, the decoder's output where one clicks) is custom in any library, and one embedded
offline would add 1-4 MB to every page (Plotly ~4.6 MB, Bokeh ~1 MB, Vega-Lite ~0.8 MB), a vendored
file to keep current and its licence; a one-run page stays around 1 MB, most of it the map's images.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import Markup

from .. import __version__
from ..analysis.likelihood import gaussian_nll
from ..config import safe_yaml
from ..data.core import is_picture
from ..errors import AekitError, CheckpointError, ConfigError, shell, warn
from ..training.checkpoint import (
    CHECKPOINT_FILE,
    FAILED_FILE,
    METRICS_FILE,
    MODEL_FILE,
    check_free,
    checkpoint_header,
    checkpoint_place,
    epochs_done,
    kept_epoch,
    training_ended,
)
from ..writing import atomic_write_text, check_writable

CONFIG_FILES = ("config.yaml", "experiment.yaml")
LOGGER_FOLDERS = ("tensorboard", "mlruns")  # what train.log writes: not the run's own pictures
MAP_SAMPLES = 500  # points on a latent map
MAP_GRID = 21  # decoded images per side of the lattice behind a latent map


@dataclass
class RunFolder:
    """What a run folder holds, read once."""

    path: Path
    kind: str  # "train" (aekit train) or "experiment" (aekit experiment run)
    config_text: str
    config: dict[str, Any]
    metrics: dict[str, Any] | None = None  # metrics.json
    results: dict[str, Any] | None = None  # results.json
    histories: dict[str, dict[str, list]] = field(default_factory=dict)  # model label -> history
    pictures: list[Path] = field(default_factory=list)  # every PNG, the experiment's order first
    anchor: str = ""  # the id of its section in the page
    number: int = 0  # its place in the page
    label: str = ""  # its name in the page: the folder's, with the folder above where two runs share it
    stopped: str = ""  # a train run's training stopped before its end, failed or running (_stopped): looked at once

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def figures(self) -> dict[str, Any]:
        """results.json "figures": picture path -> caption, in the experiment's order."""
        return _section(self.results or {}, "figures")


def _read_json(path: Path) -> Any:
    """The file's JSON, or None where there is no such file."""
    if path.is_symlink():  # (a link's target is no file of the run's: a files trial's leaked a secret's)
        warn(f"{path} is a link; the report leaves out what links reach")
        return None
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not valid JSON ({str(err).splitlines()[0]})") from None
    except RecursionError:  # (a files trial: 100,000 nested brackets were "unexpected")
        raise ConfigError(f"{path} is not JSON aekit wrote (nested too deep to read)") from None


def read_run_folder(path: str | Path) -> RunFolder:
    """Everything the report shows about one run folder."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{path} is not a folder; give run folders made by `aekit train` or `aekit experiment run`")
    config_file = next((path / f for f in CONFIG_FILES if (path / f).is_file()), None)
    if config_file is None:
        from .run import classifier_held

        inside = any((sub / f).is_file() for sub in path.iterdir() if sub.is_dir() for f in CONFIG_FILES)
        held = f"; it holds run folders: give them, as in `aekit report {shell(path)}/*`" if inside else ""
        raise ConfigError(f"{path} is not a run folder: it holds neither {' nor '.join(CONFIG_FILES)}"
                          f"{classifier_held(path) or held}")
    if config_file.is_symlink():  # (a files trial: one linked to a file of secrets put them in the page)
        raise ConfigError(f"{config_file} is a link; a report shows a run folder's own files, not what links reach")
    config_text = config_file.read_text(encoding="utf-8")
    try:
        config = safe_yaml(config_text, str(config_file)) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{config_file} is not valid YAML ({str(err).splitlines()[0]}); it says how {path} was made: put "
                          "it back from a copy") from None
    metrics, results = _read_json(path / METRICS_FILE), _read_json(path / "results.json")
    for name, value in ((METRICS_FILE, metrics), ("results.json", results)):
        if value is not None and not isinstance(value, dict):  # (a files hunt: [1, 2] was "unexpected", the page lost)
            raise ConfigError(f"{path / name} is not a JSON object, as aekit writes it; put it back from a copy, or "
                              "remove it")
    run = RunFolder(path=path, kind="experiment" if config_file.name == "experiment.yaml" else "train",
                    config_text=config_text, config=config if isinstance(config, dict) else {}, metrics=metrics,
                    results=results)
    # history.json (a train run), history-<model>.json (an experiment's models), <model>/history.json
    files = [*path.glob("history*.json"), *path.glob("*/history.json")]
    for file in sorted(files, key=lambda f: (f.stat().st_mtime, f.name)):  # the order the models were trained
        try:
            history = _read_json(file)
        except PermissionError as err:  # (a non-root hunt: another user's history.json lost the whole page)
            warn(f"{file}: cannot be read ({err.strerror}); its learning curves are left out")
            continue
        if not isinstance(history, dict) or not isinstance(history.get("train_loss"), list):
            continue  # not a history `fit` wrote
        label = file.parent.name if file.stem == "history" else file.stem.removeprefix("history-")
        run.histories[label] = history
    # the experiment's own order (results.json "figures") first, then any other PNG by name
    pictures = [p for p in path.rglob("*.png") if not set(p.relative_to(path).parts) & set(LOGGER_FOLDERS)
                and p.is_file() and not p.is_symlink()]  # (a files trial: a leak.png linked to a key embedded it)
    rank = {name: i for i, name in enumerate(run.figures)}
    run.pictures = sorted(pictures, key=lambda p: (rank.get(p.relative_to(path).as_posix(), len(rank)), p.as_posix()))
    run.stopped = _stopped(run)  # (it reads the checkpoint, failed.txt and the lock: once, and the page agrees with itself)
    return run


# --- values and tables ---------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    """Numbers compact (4 significant digits), everything else as text."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:.4g}"
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list)) for v in value):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str = "", notes: Sequence[str] = ()) -> dict[str, Any]:
    """A table as data; the template formats and aligns its cells."""
    return {"kind": "table", "title": title, "headers": list(headers), "rows": [list(r) for r in rows], "notes": list(notes)}


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


# captions of the pictures `aekit train` writes (experiments give theirs in results.json "figures"),
# {split} being the part metrics.json was measured on
KNOWN_CAPTIONS = {"reconstructions.png": "{split} samples (top row) above the model's reconstructions (bottom row)"}
SPLITS = {"test": "test", "val": "validation", "train": "training"}  # metrics.json "split" -> words


def _split(run: RunFolder) -> str:
    """The words for the part a train run's metrics were measured on: test, validation or training."""
    return SPLITS.get(str((run.metrics or {}).get("split", "test")), "test")


def _caption(run: RunFolder, picture: Path) -> str:
    relative = picture.relative_to(run.path).as_posix()
    if isinstance(run.figures.get(relative), str):
        return f"{run.figures[relative]} ({relative})"
    if relative in KNOWN_CAPTIONS:
        return f"{KNOWN_CAPTIONS[relative].format(split=_split(run).capitalize())} ({relative})"
    words = re.sub(r"[-_]+", " ", picture.stem).strip()
    return f"{words[:1].upper()}{words[1:]} ({relative})"


# --- what each run is, in one row ----------------------------------------------------------------


def _what(run: RunFolder) -> tuple[str, str, str, str]:
    """(type, model or experiment, data, epochs) of a run, for the summary table."""
    if run.kind == "experiment":  # experiment.yaml: {experiment: NAME, settings: {model, data, train, experiment}}
        _, _, data, _ = _what(RunFolder(run.path, "train", "", _section(run.config, "settings")))
        ran = (run.results or {}).get("dataset")  # the data it ran on, where not data.name's (a bug hunt: imdb-bn-dropout
        named = _section(_section(run.config, "settings"), "data").get("name")  # on BBC News read "imdb", a fallback
        if isinstance(ran, str) and ran != named:  # its headline said)
            data = f"{ran} (in place of {data})"
        # its models' epochs differ (a student trial: train.epochs, 1, shown for pretraining's 150 and 50): its tables
        return "experiment", str(run.config.get("experiment", "—")), data, "—"
    model, data, train = (_section(run.config, key) for key in ("model", "data", "train"))
    shape = "-".join(str(w) for w in [*(model.get("hidden") or []), model.get("code_size")] if w is not None)
    loss = model.get("recon_loss") if isinstance(model.get("recon_loss"), str) else None  # bce's loss is not mse's
    what = f"{model.get('name', '?')}" + (f" ({', '.join(filter(None, (shape, loss)))})" if shape or loss else "")
    if isinstance(run.config.get("init_from"), str):  # a warm start: whose model it began as
        what += f", from {Path(run.config['init_from']).name}'s weights"
    val = data.get("val_fraction")  # data.limit limits the training part, of which the validation tenth is drawn
    notes = [f"limit {data['limit']:,}{', validation included' if isinstance(val, float) and val > 0 else ''}"
             if isinstance(data.get("limit"), int) else "",  # (a comparison trial: other test samples, other units)
             f"test limit {data['test_limit']:,}" if isinstance(data.get("test_limit"), int) else "",
             f"scale {data['scale']}" if data.get("scale") not in (None, "auto", "global") else
             {"per column": "scaled per column", "standard": "standardised"}.get((run.metrics or {}).get("scaling"), "")]
    limit = f" ({'; '.join(filter(None, notes))})" if any(notes) else ""
    trained = _final(run.histories.get(run.name), "epoch")  # the epochs a run has done, else its config's
    kept = kept_epoch(run.path)  # restore_best ended the run with an earlier epoch's weights: said
    kept = f" (weights of {'its start' if kept == 0 else f'epoch {kept}'} kept)" if kept not in (None, trained) else ""
    stopped = run.stopped
    kept = (" (training still running?)" if stopped.startswith("its folder is in use") else
            " (stopped before its end)" if stopped else kept)
    name = data.get("name", "?")
    name = "arrays" if name is None else name  # aekit.fit on arrays records no name
    return "train", what, f"{name}{limit}", _fmt(train.get("epochs") if trained is None else trained) + kept


def _section(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    """mapping[key] if it is a mapping, else {} (a config file may hold anything)."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def _stopped(run: RunFolder) -> str:
    """What to say of a train run whose training (or a resume's) stopped before its end, or is running, or of a
    resumable experiment stopped before its results (runs.json: its finished runs); "" if none."""
    if run.kind == "experiment":  # (a student trial: "No metrics or results in this folder", not how to go on)
        if run.results:
            return ""
        try:
            check_free(run.path)
        except CheckpointError:
            return "its folder is in use (the experiment still running?)"
        if not (run.path / "runs.json").is_file():  # (a kill trial: "interrupted or still running?" of a free folder)
            name = str(run.config.get("experiment", "NAME"))
            return ("the experiment stopped before its end, and it keeps no finished runs to resume from: run it again "
                    f"(`aekit experiment run {name} {shell(run.path / 'experiment.yaml')}` takes its settings)")
        return (f"the experiment stopped before its end, the runs it finished kept in runs.json: `aekit experiment "
                f"resume {shell(run.path)}` goes on from them (where an error of its settings or data stopped it, "
                "mend that first)")
    failed = run.path / FAILED_FILE
    if run.kind == "train" and failed.is_file() and not failed.is_symlink() and not training_ended(run.path):
        line = failed.read_text(encoding="utf-8", errors="replace").strip()[:300]  # (a lab's trial: a diverged run
        done = epochs_done(run.path)  # read "no results yet (interrupted or still running?)")
        return f"training failed {f'after epoch {done}' if done else 'before its first checkpoint'}: {line}"
    if run.kind != "train" or not (run.path / CHECKPOINT_FILE).is_file() or training_ended(run.path):
        return ""
    if not checkpoint_header(run.path):  # (a lab's trial: "aekit resume finishes it", which then failed)
        return (f"training stopped before its end, and its {CHECKPOINT_FILE} cannot be read (cut short?): put back an "
                f"intact copy to resume it, or remove {shell(run.path)} and train the run again")  # (a review: "train it
        # again" was refused, the folder holding a run)
    training = _section(run.metrics or {}, "training")  # of the model its figures measured
    measured, of_checkpoint = training.get("epochs"), training.get("weights") == CHECKPOINT_FILE
    if isinstance(measured, int) and measured >= epochs_done(run.path) and not (run.path / MODEL_FILE).is_file() and (
            not of_checkpoint):  # (an evaluated interrupted run is not: a lab's trial)
        return ""  # trained to its end, measured, and its model removed since (a web trial: "stopped before its end")
    try:
        check_free(run.path)
    except CheckpointError:  # held by the process training it (or resuming it)
        done = epochs_done(run.path)
        return f"its folder is in use (training still running?), {done} epoch{'s' * (done != 1)} checkpointed so far"
    return (f"training stopped before its end, its checkpoint at {checkpoint_place(run.path) or 'its start'}: "
            f"`aekit resume {shell(run.path)}` finishes it")


def _headline(run: RunFolder) -> str:
    if run.results and isinstance(run.results.get("summary"), str):
        return run.results["summary"]
    stopped, text = run.stopped, _measured(run)
    if stopped and (run.path / MODEL_FILE).is_file():  # a resume stopped: the figures are of the model before it
        return f"{text + '; ' if text else ''}these are of {MODEL_FILE}, from before a later {stopped}"
    training = _section(run.metrics or {}, "training")
    if stopped and text and training.get("weights") == CHECKPOINT_FILE:  # (aekit evaluate of a run stopped before its end)
        measured, epochs = training.get("steps"), training.get("epochs")
        steps = next(iter(run.histories.values()), {}).get("step") or []  # (the step of each epoch's end)
        inside = isinstance(measured, int) and isinstance(epochs, int) and steps[epochs - 1 : epochs] != [measured]
        which = "its" if measured == checkpoint_header(run.path).get("global_step") else "an earlier"  # (resumed since)
        place = " and ".join([f"epoch {epochs}"] * bool(epochs) + [f"step {measured:,}"] * inside) or "epoch 0"
        return f"{text}, of {which} checkpoint's weights ({place}); {stopped}"
    if stopped:  # (figures without a model.safetensors: of one removed since; the folder's state said, not "no results")
        return f"{text}; {MODEL_FILE}, which they measured, is not there: {stopped}" if text else f"no results yet: {stopped}"
    if text and run.kind == "train" and not (run.path / MODEL_FILE).is_file():
        again = f": `aekit resume {shell(run.path)}` writes it again" if (run.path / CHECKPOINT_FILE).is_file() else ""
        return f"{text}; {MODEL_FILE}, which they measured, was removed since{again}"
    if text or run.results or run.metrics:
        return text
    if (run.path / MODEL_FILE).is_file():  # trained by aekit.fit, which does not evaluate
        if _section(run.config, "data").get("name") is None:  # on arrays: evaluate cannot find them
            return ("trained on arrays (or part of a data set, which is not recorded), not evaluated: give data.name in "
                    "its config.yaml for `aekit evaluate` to find its data")  # (an analysis trial: take(500) read "arrays")
        return f"trained, not evaluated yet: `aekit evaluate {shell(run.path)}` writes its test figures"
    return "no results yet (interrupted or still running?)"


def _measured(run: RunFolder) -> str:
    """A train run's figures in one line (metrics.json), or ""."""
    m = run.metrics or {}
    if _is_number(m.get("squared_error_per_sample")):  # (a files trial: a string there was "unexpected")
        from .run import error_text, pca_note, split_note

        text = f"{m.get('split', 'test')} squared error per sample {error_text(m['squared_error_per_sample'])}"
        if _is_number(m.get("pca_squared_error_per_sample")):  # (as evaluate prints them: a review)
            text += f" (PCA-{m.get('pca_code_size')}: {error_text(m['pca_squared_error_per_sample'])})"
        text += split_note(m)
        if note := pca_note(m):  # where the model is not past PCA, as evaluate says (a review: unsaid here)
            text += f"; {note}"
        if isinstance(m.get("nll"), dict) and _is_number(m["nll"].get("nats")):  # (a trial: "test" of a validation split)
            gaussian = "" if m["nll"].get("binarized", True) else ", a Gaussian decoder's"
            k = f"k = {m['nll']['k']:,}" if isinstance(m["nll"].get("k"), int) else "k not recorded"  # a bound: it falls with k
            text += f"; {m.get('split', 'test')} NLL {m['nll']['nats']:.2f} nats ({k}{gaussian})"
        if isinstance(m.get("sample_quality"), dict) and _is_number(m["sample_quality"].get("frechet_distance")):
            text += f"; Fréchet distance {m['sample_quality']['frechet_distance']:.4g}"
        return text
    return ""


def _final(history: dict[str, list] | None, key: str) -> Any:
    return history[key][-1] if history and history.get(key) else None


# --- what the template shows ---------------------------------------------------------------------


def _results(run: RunFolder) -> list[dict[str, Any]]:
    """The run's results as blocks: its tables (rows in results.json or metrics.json), then the rest."""
    blocks: list[dict[str, Any]] = []
    if run.metrics:
        rows = [(k, v) for k, v in run.metrics.items() if not isinstance(v, (dict, list)) and k not in GENERATIVE_NOTES
                and k != "pca_exact"]  # (said in words by the PCA note where true; a review: a row on every page)
        blocks.append(_table(["metric", "value"], rows, title=f"{_split(run).capitalize()} metrics (metrics.json)"))
        blocks += _generative(run.metrics, _split(run))
    if run.results:
        tables = run.results.get("tables") if isinstance(run.results.get("tables"), list) else []
        for t in tables:
            if isinstance(t, dict) and isinstance(t.get("columns"), list) and isinstance(t.get("rows"), list):
                blocks.append(_table(t["columns"], t["rows"], title=str(t.get("title", "")), notes=t.get("notes") or ()))
        shown = {k: v for k, v in run.results.items() if k not in ("summary", "figures", "tables")}
        scalars = [(k, v) for k, v in shown.items() if not isinstance(v, (dict, list))]
        if scalars:
            blocks.append(_table(["result", "value"], scalars, title="Results (results.json)"))
        nested = {k: v for k, v in shown.items() if isinstance(v, (dict, list))}
        if nested and not tables:
            blocks += [_nested(key, value) for key, value in nested.items()]
        elif nested:
            blocks.append({"kind": "json", "title": "All results as JSON", "text": json.dumps(nested, indent=1, default=str)})
    return blocks


GENERATIVE_NOTES = {"nll_skipped": "No {split} NLL", "sample_quality_skipped": "No sample quality"}


def _generative(metrics: dict[str, Any], split: str = "test") -> list[dict[str, Any]]:
    """The NLL and sample quality `aekit evaluate` wrote (run.generative_metrics) on the `split` part as one
    table, with the settings they depend on (k, the classifier's checksum) beside them; [] when there are none."""
    rows: list[list[Any]] = []
    notes = [f"{what.format(split=split)}: {metrics[key]}" for key, what in GENERATIVE_NOTES.items()
             if isinstance(metrics.get(key), str)]
    nll = metrics.get("nll")
    if isinstance(nll, dict) and _is_number(nll.get("nats")):
        n = f"{_fmt(nll.get('n'))} {split} inputs"
        data = f"seeded binarisation of {n}" if nll.get("binarized") else f"{n} as they are, {gaussian_nll(metrics.get('scaling'))}"
        rows.append([f"{split} NLL (nats per sample)", nll["nats"],
                     f"k = {_fmt(nll.get('k'))} importance samples (Burda et al. 2016), {data}"])
    quality = metrics.get("sample_quality")
    if isinstance(quality, dict) and all(_is_number(quality.get(k)) for k in ("frechet_distance", "precision", "recall")):
        how = f"{_fmt(quality.get('n_samples'))} samples ({quality.get('sampler', '?')}) against as many {split} images"
        rows.append(["Fréchet distance", quality["frechet_distance"], how])
        rows.append(["precision", quality["precision"], f"share of samples inside the {split} images' manifold "
                                                        "(Kynkäänniemi et al. 2019)"])
        rows.append(["recall", quality["recall"], f"share of {split} images inside the samples' manifold"])
        notes.insert(0, f"Sample quality in the features of the classifier trained on {quality.get('classifier', '?')}, "
                        f"SHA-256 {quality.get('classifier_sha256', '?')}: figures compare only under one checksum; "
                        "they are not Inception FIDs.")
        if isinstance(quality.get("note"), str) and quality["note"]:  # as evaluate prints it: clipped samples, other data
            notes.insert(1, f"Note: {quality['note']}")
    title = "Likelihood and sample quality (metrics.json)"
    return [_table(["measure", "value", "how"], rows, title=title, notes=notes)] if rows or notes else []


def _nested(title: str, value: Any) -> dict[str, Any]:
    """A list of flat dicts as a table, a flat dict as key/value rows, anything else as JSON."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        keys = list(dict.fromkeys(k for v in value for k in v))
        if all(not isinstance(v.get(k), (dict, list)) for v in value for k in keys):
            return _table(keys, [[v.get(k) for k in keys] for v in value], title=title)
    if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
        return _table(["key", "value"], list(value.items()), title=title)
    return {"kind": "json", "title": title, "text": json.dumps(value, indent=1, default=str), "open": True}


def _curves(histories: dict[str, dict[str, list]], element_id: str) -> dict[str, Any]:
    """Loss per epoch (the quantity each model minimised): train solid, validation dashed, a colour per model."""
    series = []
    for colour, (label, history) in enumerate(histories.items()):
        epochs = history.get("epoch") or list(range(1, len(history["train_loss"]) + 1))
        for key, part, dashed in (("train_loss", "train", False), ("val_loss", "val", True)):
            values = history.get(key)
            if isinstance(values, list) and values:
                points = [(e, v) for e, v in zip(epochs, values) if _is_number(v) and math.isfinite(v)]
                series.append({"label": f"{label} ({part})", "colour": colour, "dashed": dashed,
                               "x": [e for e, _ in points], "y": [v for _, v in points]})
    values = [v for s in series for v in s["y"]]
    log_y = bool(values) and min(values) > 0 and max(values) / min(values) > 30
    epochs = sorted({e for s in series for e in s["x"]})  # the same as a table (an accessibility trial: the values
    by_epoch = [dict(zip(s["x"], s["y"])) for s in series]  # were on a mouse's hover alone, and none without scripts)
    table = {"title": "", "headers": ["epoch", *(s["label"] for s in series)],
             "rows": [[e, *(values.get(e) for values in by_epoch)] for e in epochs]}
    return {"id": element_id, "series": series, "log_y": log_y, "y_name": "loss" + (" (log scale)" if log_y else ""),
            "table": table}


def _latent_map(run: RunFolder) -> dict[str, Any] | None:
    """A train run's interactive latent map (test samples, else validation ones), or a note why not."""
    if run.kind != "train":
        return None
    if not (run.path / MODEL_FILE).is_file():
        stopped = run.stopped
        if stopped or run.metrics:  # (a run evaluated once, its model file removed since: said, as a truncated one is)
            return {"note": f"No latent map: the run has no {MODEL_FILE}" + (f" yet ({stopped})" if stopped else "")}
        return None
    from ..analysis.latent import latent_explorer
    from ..training import checkpoint as ckpt
    from . import run as runs

    try:
        cfg = runs.read_run(run.path)
        data, split = runs.load_test(cfg, run.path, strict=False), "test"  # a picture: the split it shows is named
        if data is None:  # no test split: held-out samples, else training ones
            train, val = runs.load_data(cfg, run.path)
            data, split = (val, "validation") if val is not None else (train, "training")
        if len(data) < 2:  # (a review: PCA of one code raised ValueError, and the page was not written)
            return {"note": f"No latent map: the {split} part holds {len(data)} sample (a map places two or more)"}
        model = ckpt.load_model(run.path)
        explored = latent_explorer(model, data.take(MAP_SAMPLES, seed=cfg.train.seed), n=MAP_SAMPLES, grid=MAP_GRID)
    except AekitError as err:  # said on the page, and where it is a folder's imports refused, as the command runs
        if isinstance(err, ConfigError) and ": imports: " in str(err):  # (a locked-down trial: the page alone said it)
            warn(f"no latent map of {run.label}: {err}")
        return {"note": f"No latent map: {err}"}
    explored["grid"]["images"] = [_png_uri(p) for p in explored["grid"]["images"]]
    # pictures: images, or curves; unpool: such a decoder decodes the map's points without the pooling indices its
    # reconstructions use
    return {**explored, "images": [_png_uri(p) for p in explored["images"]], "id": f"map{run.number}",
            "n": len(explored["points"]), "split": split, "pictures": is_picture(data.sample_shape),
            "unpool": getattr(model.config, "decoder", None) == "unpool"}


def _run_view(run: RunFolder, *, open_config: bool) -> dict[str, Any]:
    kind, what, data, epochs = _what(run)
    return {
        "name": run.label, "anchor": run.anchor, "kind": kind, "path": str(run.path.resolve()),
        "headline": _headline(run), "what": what, "data": data, "epochs": epochs,
        "results": _results(run),
        "curves": _curves(run.histories, f"curves{run.number}") if run.histories else None,
        "curve_names": ", ".join(run.histories),
        "latent": _latent_map(run),
        "pictures": [{"uri": _png_uri(p.read_bytes()), "caption": _caption(run, p)} for p in run.pictures],
        "config_name": "experiment.yaml" if run.kind == "experiment" else "config.yaml",
        "config_text": run.config_text, "open_config": open_config,
    }


CURVES_TOGETHER = 10  # at most this many models' curves in one chart, a colour each (a lab's trial: 424 series)


def _summary_view(runs: list[RunFolder]) -> dict[str, Any]:
    from .run import error_text

    rows = []  # (errors with the digits of the result's text: a surfaces hunt read 34.9 beside 34.901)
    for run in runs:
        kind, what, data, epochs = _what(run)
        only = next(iter(run.histories.values())) if len(run.histories) == 1 else None
        m = run.metrics or {}  # the figure models are compared by, as a number a column sorts (a lab's trial)
        errors = [{"value": m[k], "text": error_text(m[k])} if _is_number(m.get(k)) else None
                  for k in ("squared_error_per_sample", "pca_squared_error_per_sample")]
        rows.append({"name": run.label, "anchor": run.anchor, "cells": [
            kind, what, data, epochs, *errors, _final(only, "train_loss"), _final(only, "val_loss"), _headline(run)]})
    histories = {(run.label if label == run.name else f"{run.label}: {label}"): history
                 for run in runs for label, history in run.histories.items()}
    together = sum(bool(r.histories) for r in runs) > 1 and len(histories) <= CURVES_TOGETHER
    combined = _curves(histories, "all-curves") if together else None
    if combined is not None:  # (a comparison trial: an mse run's loss beside a bce one's and a bound, as one "loss")
        combined["y_name"] = "each run's own loss" + combined["y_name"][len("loss"):]
    headers = ["type", "model / experiment", "data", "epochs", "squared error per sample",
               "PCA's, as many components", "last epoch's train loss (its own objective)",
               "last epoch's val loss (its own objective)", "result"]
    many = (f"The learning curves of {len(histories)} models are not drawn together (at most {CURVES_TOGETHER}): each "
            "run's own are in its section.") if len(histories) > CURVES_TOGETHER and len(runs) > 1 else ""
    return {"headers": headers, "rows": rows, "curves": combined, "curves_note": many}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aekit.apps", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["fmt"] = _fmt
    env.filters["without"] = lambda mapping, key: {k: v for k, v in mapping.items() if k != key}
    env.tests["number"] = _is_number
    env.tests["finite"] = math.isfinite
    return env


def _asset(name: str) -> str:
    return resources.files("aekit.apps").joinpath("templates", name).read_text(encoding="utf-8")  # (Windows: cp1252)


GENERATOR = '<meta name="generator" content="aekit">'  # in every page: a report aekit wrote may be rewritten


def render_report(runs: Sequence[RunFolder], *, title: str | None = None, left_out: Sequence[str] = ()) -> str:
    """The whole page as a string; `title` by default names the run, or how many (an accessibility review: every
    page was "aekit report", open side by side)."""
    runs = list(runs)
    seen: set[str] = set()
    for i, run in enumerate(runs):  # unique ids and names even for two folders of the same name
        twins = sum(other.name == run.name for other in runs) > 1
        run.label = f"{run.path.resolve().parent.name}/{run.name}" if twins else run.name
        if twins and sum(f"{o.path.resolve().parent.name}/{o.name}" == run.label for o in runs) > 1:
            run.label = str(run.path.resolve())
        base = "run-" + re.sub(r"[^A-Za-z0-9_-]+", "-", run.name)
        run.anchor = next(a for a in (base, *(f"{base}-{k}" for k in range(2, len(runs) + 2))) if a not in seen)
        run.number = i + 1  # its plots' ids (map3, curves3): never a run's, which begin with run-
        seen.add(run.anchor)
    if title is None:
        title = f"aekit report: {runs[0].label}" if len(runs) == 1 else f"aekit report: {len(runs)} runs"
    return _environment().get_template("report.html.j2").render(
        title=title,
        generator=GENERATOR,
        written=time.strftime("%Y-%m-%d %H:%M"),
        version=__version__,
        summary={**_summary_view(runs), "left_out": list(left_out)},
        runs=[_run_view(r, open_config=len(runs) == 1) for r in runs],
        style=Markup(_asset("report.css")),
        script=Markup(_asset("report.js")),
    )


def write_report(run_dirs: str | Path | Sequence[str | Path], output: str | Path, *, title: str | None = None) -> Path:
    """Write one self-contained HTML page about `run_dirs` to `output` (atomically); returns its path."""
    dirs = [run_dirs] if isinstance(run_dirs, (str, Path)) else list(run_dirs)
    if not dirs:
        raise ConfigError("report: give at least one run folder")
    output = Path(output).expanduser()
    if output.is_dir():  # (a CLI trial: "must end in .html")
        raise ConfigError(f"report: {output} is a folder; give the page's file, such as {output / 'report.html'}")
    if output.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"report: the output file must end in .html, got {output}")
    twice = [d for i, d in enumerate(dirs) if Path(d).resolve() in {Path(e).resolve() for e in dirs[:i]}]
    if twice:
        raise ConfigError(f"report: {twice[0]} is given twice; give each run folder once")
    check_writable(output)  # a read-only or full disk: said before the runs' latent maps (a bug hunt)
    for d in dirs:  # a missing path, a typo no glob makes, is refused, not left out (a review)
        if not Path(d).expanduser().exists():
            read_run_folder(d)
    runs, left = [], []
    for d in dirs:  # of several paths (a glob over runs/), one that cannot be read is left out, named here and on the
        try:  # page (a lab's trial: an mlruns/ folder, an earlier report.html or one truncated history.json wrote none)
            runs.append(read_run_folder(d))
        except ConfigError as err:
            if len(dirs) == 1:
                raise
            left.append(str(err))
    if not runs:
        raise ConfigError(f"report: none of the {len(dirs)} paths is a run folder it can read; the first: {left[0]}")
    for reason in left[:5]:
        warn(f"left out of the report: {reason}")
    if len(left) > 5:
        warn(f"left out of the report: {len(left) - 5} more paths")
    atomic_write_text(output, render_report(runs, title=title, left_out=left))
    return output
