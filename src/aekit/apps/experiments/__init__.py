"""The classic experiments as named, configured runs: `aekit experiment list|run NAME [key=value ...]`.

An experiment is a function decorated with `@register_experiment(name, settings=..., defaults=...,
tiny=...)` (its one-line summary in catalog.py). Its settings are an `ExperimentConfig`, built by the same `config.build`
as a run's: the run's sections `model`, `data` and `train` (the same keys as `aekit train`), plus
`experiment`, the experiment's own frozen dataclass. `defaults` are full-size values for those
sections; `tiny` overrides them so that a run takes seconds (`--tiny`). The function gets the
validated config and a fresh run folder, trains through the run layer (`run.train_model`), writes
its pictures, and returns its results; `run_experiment` then writes experiment.yaml, results.json
(tables as rows, `table(...)`) and report.html (aekit.apps.report renders the rows). Every module
in this package is imported so that its experiments register themselves.

A user's own data (`data.name=FILE`) is refused in one line before the first model is trained, so a
refused experiment leaves no folder: each experiment says what it assumes of the data right after
loading it (`check_data`: labels, images, PCA's component counts against the features, enough
samples; `test_part`: a separate test part), and builds every model it will train (`Run.check`).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import pkgutil
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from ...analysis import plots
from ...analysis.latent import check_map_methods
from ...catalog import EXPERIMENTS
from ...config import (
    SEED_MAX,
    apply_overrides,
    build,
    check,
    keys_of,
    load_file,
    positive,
    safe_yaml,
    to_dict,
)
from ...data import Dataset
from ...errors import AekitError, ConfigError, DataError, NoTestSplitError, warn
from ...registry import import_models, model_entry
from ...training.checkpoint import (
    LOCK_FILE,
    hold,
    load_model,
    remove_made,
    save_model,
)
from ...training.loop import TrainConfig, leaves_generator
from ...writing import atomic_write_text, is_temporary
from ..run import (
    DataConfig,
    build_model,
    check_run,
    folder_imports,
    make_run_dir,
    parse_run_config,
    read_split,
    train_model,
    whole_data_name,
)

SECTIONS = ("model", "data", "train", "experiment", "imports")
DIGITS = ("mnist", "mnist-mini", "digits")  # data sets whose samples the captions call digits (Run.noun)


@dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """An experiment's settings: a run's sections plus the experiment's own."""

    model: dict[str, Any]  # `name` plus that model's keys, as in a run config
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    experiment: Any = None  # the experiment's own settings (its `settings` dataclass)
    imports: tuple[str, ...] = ()  # .py files (or modules) registering models of your own, as a run's

    def with_model(self, **changes: Any) -> ExperimentConfig:
        """This config with some model keys changed (a variant the experiment compares)."""
        return dataclasses.replace(self, model={**self.model, **changes})

    def with_train(self, **changes: Any) -> ExperimentConfig:
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **changes))


@dataclass(frozen=True)
class Experiment:
    name: str
    fn: Callable[[ExperimentConfig, Path], dict[str, Any]]
    summary: str
    settings: type  # the dataclass of the `experiment` section
    defaults: dict[str, Any]  # full-size values of the sections
    tiny: dict[str, Any] = field(default_factory=dict)  # overrides that make it run in seconds
    resumable: bool = False  # keeps its finished runs in a Ledger: `aekit experiment resume RUN_DIR` continues
    data_keys: tuple[str, ...] | None = None  # the data.* keys it reads (None: all); others given are refused
    # the models it trains, with why (None: any); a model.name among none of them is refused before any work
    models: tuple[tuple[str, ...], str] | None = None
    # the model.* keys it reads, with why (None: all); others given are refused, as are the `unused` keys
    model_keys: tuple[tuple[str, ...], str] | None = None
    unused: dict[str, str] = field(default_factory=dict)  # a dotted key it never reads -> what decides it instead


_EXPERIMENTS: dict[str, Experiment] = {}
# what every experiment starts from: no progress from Python (the aekit command shows it: run_experiment(progress=))
BASE: dict[str, Any] = {"train": {"progress": False}}


def register_experiment(name: str, *, settings: type, defaults: dict[str, Any], tiny: dict[str, Any],
                        resumable: bool = False, data_keys: tuple[str, ...] | None = None,
                        models: tuple[tuple[str, ...], str] | None = None,
                        model_keys: tuple[tuple[str, ...], str] | None = None, unused: dict[str, str] | None = None):
    """Register `fn(cfg, run_dir) -> results` as experiment `name`; its summary is the catalog's line.
    `models`: (the model names it trains, what it does with them) where model.name takes no other;
    `model_keys`: (the model.* keys it reads, why) where it reads no other; `unused`: keys it never reads."""

    def deco(fn):
        _EXPERIMENTS[name] = Experiment(name, fn, EXPERIMENTS.get(name, ""), settings, defaults, tiny, resumable, data_keys,
                                        models, model_keys, unused or {})
        return fn

    return deco


class Ledger:
    """The runs an experiment has finished, by key, in RUN_DIR/runs.json, rewritten whole (atomically)
    after each one: a crash, a kill or Ctrl-C loses at most the run in progress, and `aekit experiment
    resume RUN_DIR` takes the finished runs from here instead of training them again."""

    FILE = "runs.json"

    def __init__(self, run_dir: Path) -> None:
        self.run_dir, self.path = run_dir, run_dir / self.FILE
        try:
            self.records: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DataError(f"{self.path} is not a runs file ({err}); move it away to train every run again") from None

    def get(self, key: str) -> Any:
        return self.records.get(key)

    def add(self, key: str, record: Any) -> Any:
        self.records[key] = record
        atomic_write_text(self.path, json.dumps(self.records, indent=1))
        return record

    def once(self, key: str, file: str, make: Callable[[], Any]) -> Any:
        """A model the experiment needs once (a seed's SdA or M1): `make()`'s, timed, saved as RUN_DIR/file
        and recorded as {"seconds": ...} under `key`; or, when that is done already, the saved one."""
        if self.get(key) is not None and (self.run_dir / file).is_file():
            return load_model(self.run_dir / file)
        start = time.perf_counter()
        model = make()
        seconds = time.perf_counter() - start
        save_model(model, self.run_dir / file)
        self.add(key, {"seconds": seconds})
        return model

    def seconds(self, prefix: str) -> list[float]:
        """The recorded seconds of the keys that start with `prefix`, in the order they were made."""
        return [r["seconds"] for k, r in self.records.items() if k.startswith(prefix)]


@dataclass
class Run:
    """One experiment's run folder: trains and saves its models, and keeps its pictures' captions."""

    dir: Path
    cfg: ExperimentConfig
    splits: tuple[Dataset, Dataset | None, Dataset | None]
    figures: dict[str, str] = field(default_factory=dict)  # PNG file name -> caption
    seconds: dict[str, float] = field(default_factory=dict)  # model tag -> training seconds

    def check(self, *variants: ExperimentConfig) -> None:
        """Build every model the experiment will train (the config's, or the `variants` it compares) and
        check the splits (and labels) and the training settings against each, before the first is trained:
        a variant the data cannot take is refused before any model is saved. The random state is left as it was."""
        train = self.splits[0]
        with torch.random.fork_rng(devices=[]):  # build_model seeds torch; the runs' draws stay the same
            for cfg in variants or (self.cfg,):
                check_run(cfg, build_model(cfg, train.sample_shape), self.splits)

    @property
    def noun(self) -> str:
        """What captions call one sample: "digit" on MNIST's digits, "image" on other images, "sample" on flat data."""
        train = self.splits[0]
        return "digit" if train.name in DIGITS else self.unit

    @property
    def unit(self) -> str:
        """What an error is per: "image" or "sample"."""
        return "image" if len(self.splits[0].sample_shape) == 3 else "sample"

    @property
    def part(self) -> str:
        """The part the figures are measured on: "test", or "validation" where the data has none (`with_test`)."""
        return "validation" if self.splits[2] is not None and self.splits[2] is self.splits[1] else "test"

    def train(self, tag: str, cfg: ExperimentConfig | None = None):
        """Train (and save) the config's model, or a variant of it: (model, history)."""
        model, history = train_model(cfg or self.cfg, self.splits, folder=self.dir, tag=tag)
        self.seconds[tag] = float(sum(history["time"]))
        return model, history

    def picture(self, fig, name: str, caption: str) -> None:
        plots.save_figure(fig, self.dir / name)
        self.figures[name] = caption

    def finish(self, results: dict[str, Any], *tables: dict[str, Any]) -> dict[str, Any]:
        """The results with their tables and the pictures' captions (run_experiment saves them)."""
        return {**results, "tables": list(tables), "figures": self.figures}


def with_test(splits: tuple[Dataset, Dataset | None, Dataset | None], test_limit: int | None = None
              ) -> tuple[Dataset, Dataset | None, Dataset]:
    """The splits of an experiment that reports on a test part; as in `aekit train`, a missing test
    part falls back to the held-out split, said so (or is refused before any training), and so is a
    data.test_limit that then has nothing to limit."""
    train, val, test = splits
    if test is not None:
        return splits
    if val is None:
        raise DataError(f"data {train.name}: no test part to report on and no validation split to use "
                        "instead; give a test part (x_test/y_test in an .npz) or data.val_fraction > 0")
    unused = "" if test_limit is None else f" (all of it: data.test_limit={test_limit} limits a test part)"
    print(f"data {train.name} has no test part: the test figures below are on its validation split{unused}")
    return train, val, val


def test_part(experiment: str, cfg: ExperimentConfig, name: str, *, instead: str = "") -> Dataset:
    """The test split of data set `name` (read as cfg.data says), for an experiment that tests on a separate
    test part; a file without one is refused in one line that says what to give (`instead`: another way, if any)."""
    try:
        return read_split(cfg, "test", name)
    except NoTestSplitError:
        raise NoTestSplitError(f"{experiment} needs a separate test part, and data.name={name} has none; give an .npz "
                               f"with x_test and y_test next to x_train and y_train, a folder of train/ and test/ "
                               f"folders, or one of train.csv and test.csv{instead}") from None


def check_data(experiment: str, name: str, train: Dataset, test: Dataset | None = None, *,
               labels: bool | Literal["test"] = False, images: bool = False, pca: Mapping[str, int | None] | None = None,
               min_train: tuple[int, str] = (1, ""), min_test: tuple[int, str] = (1, "")) -> None:
    """Refuse, in one line and before any training, data `name` (its parts `train` and `test`) that
    `experiment` cannot use.

    labels: every part given needs labels (or "test": the test part). images: the samples are
    images (C, H, W), not flat vectors. pca: setting -> the components of a PCA the experiment fits
    on the training samples, which must be fewer than their features and at most their number (None:
    not used). min_train / min_test: (the fewest samples, what needs them).
    """
    data = f"data.name={name}"
    parts = {"training": train} if test is None else {"training": train, "test": test}
    if test is not None and test.sample_shape != train.sample_shape:
        raise DataError(f"the test samples of {data} have shape {list(test.sample_shape)}, but the training samples "
                        f"have shape {list(train.sample_shape)}; save both parts alike")
    if labels:
        for part, d in parts.items():
            if d.y is None and labels in (True, part):
                raise DataError(f"{experiment} needs labels (y), and the {part} samples of {data} have none; give "
                                "labelled data: y_train (and y_test) in an .npz, a 'label' column in a .csv, or a "
                                "folder with a subfolder per class")
            if (part == "training" and labels is True or labels == part) and len(  # what a classifier learns, or
                    classes := d.y[d.y >= 0].unique()) == 1:  # retrieval's index (a shapes hunt: a MAP of 1 said as a
                one = d.classes[int(classes[0])] if d.classes else int(classes[0])  # result, "n_classes")
                raise DataError(f"{experiment} compares by labels, and the {part} samples of {data} hold one class "
                                f"({one}); give data of two classes or more")
    if images and len(train.sample_shape) != 3:
        raise DataError(f"{experiment} needs images (N, C, H, W), and the samples of {data} are flat, of shape "
                        f"{train.sample_shape}; give (N, H, W), (N, H, W, C) or (N, C, H, W) arrays or a folder of images")
    features = math.prod(train.sample_shape)
    for key, k in (pca or {}).items():
        if not isinstance(k, int):  # not used, or a value the model's own check refuses
            continue
        if k >= features:
            raise ConfigError(f"{key}: {k} must be below the {features} features of the samples of {data} (the "
                              f"experiment compares PCA-{k}, which would be exact); give {key}={features - 1} or less")
        if k > len(train):
            raise ConfigError(f"{key}: {k} must be at most the {len(train)} training samples of {data} (PCA-{k} is "
                              f"fitted on them); give {key}={len(train)} or less, or more samples")
    for part, d, (fewest, why) in (("training", train, min_train), ("test", test, min_test)):
        if d is not None and len(d) < fewest:
            raise DataError(f"{experiment} needs at least {fewest} {part} samples{f' ({why})' if why else ''}, and "
                            f"{data} gives {len(d)}; give more samples")


def file_tag(name: str) -> str:
    """A data set's name or path as part of a file name: "mnist" stays, "/data/x.npz" becomes "data_x.npz"."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "data"


def _ensure_loaded() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def list_experiments() -> list[str]:
    _ensure_loaded()
    return sorted(_EXPERIMENTS)


def experiment(name: str) -> Experiment:
    _ensure_loaded()
    if name not in _EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; choose one of: {', '.join(sorted(_EXPERIMENTS))}")
    return _EXPERIMENTS[name]


def check_seeds_and_threads(settings: Any) -> None:
    """For a settings dataclass's `__post_init__`: its `seeds`, where it has them, are whole numbers in [0,
    SEED_MAX] (numpy draws the labels by them, TrainConfig takes them), its `threads` >= 0 (0: torch's setting)."""
    seeds = getattr(settings, "seeds", ())
    check(all(0 <= seed <= SEED_MAX for seed in seeds), "seeds", f"must be in [0, {SEED_MAX}], got {list(seeds)}")
    check(len(set(seeds)) == len(seeds), "seeds", f"must differ (a spread over one seed twice is no spread), got "
          f"{list(seeds)}")  # (a bug hunt: "56.33 ± 0.00" over seeds [0, 0], the second read back, not trained)
    check(settings.threads >= 0, "threads", f"must be >= 0 (0: leave torch's), got {settings.threads}")


def check_fractions(key: str, value: float | tuple[float, ...]) -> None:
    """One fraction in [0, 1), or one a layer."""
    check(all(0 <= v < 1 for v in (value if isinstance(value, tuple) else (value,))), key, f"must be in [0, 1), got {value!r}")


def check_positive(settings: Any, *keys: str) -> None:
    """For a settings dataclass's `__post_init__`: the fields `keys` (by default every number) are > 0 or null."""
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.name in keys or (not keys and isinstance(value, (int, float)) and not isinstance(value, bool)):
            positive(f.name, value, allow_none=True)


class Positive:
    """A base for settings dataclasses whose every number is > 0 or null (`check_positive`)."""

    def __post_init__(self) -> None:
        check_positive(self)


def merge(base: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """`base` updated by each layer in turn, mapping by mapping (lists are replaced); copies throughout."""
    out = json.loads(json.dumps(base))
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = json.loads(json.dumps(value))
    return out


def settings(name: str, overrides: Sequence[str] = (), *, tiny: bool = False, file: str | Path | None = None
             ) -> ExperimentConfig:
    """The experiment's defaults, then its tiny preset, then a config `file` (sections as `show` prints
    them, or a run folder's experiment.yaml), then dotted `section.key=value` overrides."""
    exp = experiment(name)
    layer, whole = _file_layer(name, file) if file is not None else ({}, False)  # whole: a run's, every setting it ran
    if tiny and whole:  # (as README says; a bug hunt: unsaid, and a full-size run began)
        warn(f"--tiny: {file} is a run's experiment.yaml, whose settings are taken whole; --tiny changes none of them")
    base = merge(BASE, exp.defaults, exp.tiny if tiny and not whole else {})  # with, which --tiny beside it does not change
    # every key given: a file's where it is not the default (show and experiment.yaml write every key out, with
    # --tiny or without: a config trial's `show NAME > f.yaml; run NAME f.yaml --tiny` was refused keys it never gave)
    shown = [to_dict(_config(exp, merge(BASE, exp.defaults, preset))) for preset in ({}, exp.tiny)] if layer else []
    keys = [*(k for k in _dotted(layer) if _at(layer, k) is not None and all(_at(layer, k) != _at(s, k) for s in shown)),
            *_dotted(apply_overrides({}, list(overrides)))]  # a whole section's keys too: 'train={epochs: 3}'
    keys = list(dict.fromkeys(keys))
    for key in keys:  # a key it never reads: never ignored silently
        if exp.data_keys is not None and key.startswith("data.") and key[5:] not in exp.data_keys:
            raise ConfigError(f"{key}: {name} does not read it; it reads {', '.join('data.' + k for k in exp.data_keys)}")
        if exp.model_keys is not None and key.startswith("model.") and key[6:] not in exp.model_keys[0]:
            raise ConfigError(f"{key}: {name} does not read it ({exp.model_keys[1]}); it reads "
                              f"{', '.join('model.' + k for k in exp.model_keys[0])}")
        if key in exp.unused:
            raise ConfigError(f"{key}: {name} does not read it; {exp.unused[key]}")
        if key in ("train.checkpoint_every", "train.checkpoint_minutes"):  # (a review: taken, unsaid, and no checkpoint)
            kept = "; its finished models are kept as they end (aekit experiment resume)" if exp.resumable else ""
            raise ConfigError(f"{key}: an experiment writes no training checkpoints (its models train side by side in "
                              f"one folder{kept}); remove it, or train one model with aekit train")
    raw = apply_overrides(merge(base, layer), list(overrides))  # (a copy: base keeps the defaults)
    given = {k[6:] for k in keys if k.startswith("model.")}
    raw["model"] = _for_model(raw.get("model"), base.get("model", {}), given, raw.get("imports"))
    if exp.models is not None and "name" in given and raw["model"].get("name") not in exp.models[0]:
        raise ConfigError(f"model.name: {name} {exp.models[1]}; got {raw['model'].get('name')!r}")
    for key, (length, limit) in ((k, pair) for k in keys for pair in LENGTHS if k.rpartition(".")[2] == pair[0]):
        budget = _at(raw, f"{key[: -len(length)]}{limit}")  # given or not: as aekit train refuses it
        if budget is not None:
            raise ConfigError(f"{key}: {name} trains for {key[: -len(length)]}{limit}={budget} seconds, which decides "
                              f"how long it trains; add {key[: -len(length)]}{limit}=null to train by epochs")
    parts = raw.get("experiment") if isinstance(raw.get("experiment"), dict) else {}
    for key in (k for k in keys if k.startswith("train.")):  # a part's own train section decides it there (a student
        own = {part: values["train"][key[6:]] for part, values in parts.items() if isinstance(values, dict) and isinstance(
            values.get("train"), dict) and key[6:] in values["train"] and f"experiment.{part}.{key}" not in keys}
        if own:  # trial: train.epochs=15, and its supervised runs trained 1 epoch, unsaid)
            many = len(own) > 1
            warn(f"{key}: the {', '.join(own)} part{'s' * many} of {name} train{'s' * (not many)} with "
                 f"{'their' if many else 'its'} own {', '.join(f'experiment.{p}.{key}={v}' for p, v in own.items())} "
                 f"(set {'them' if many else 'it'} too for the same everywhere)")
    for key in raw:
        if key not in SECTIONS:  # a flat key: say which section has it
            homes = {"experiment": exp.settings, "train": TrainConfig, "data": DataConfig}
            where = next((s for s, cls in homes.items() if key in {f.name for f in dataclasses.fields(cls)}), None)
            hint = f" (did you mean {where}.{key}?)" if where else ""
            raise ConfigError(f"config: unknown key '{key}'; allowed keys: {', '.join(SECTIONS)}{hint}")
    cfg = _config(exp, raw)
    for key in keys if hasattr(cfg.experiment, "unread") else ():  # read by a part the settings leave out (a bug hunt)
        if (why := cfg.experiment.unread(key)) is not None:
            raise ConfigError(f"{key}: {name} does not read it here: {why}")
    return cfg


def _file_layer(name: str, file: str | Path) -> tuple[dict[str, Any], bool]:
    """A config file's sections for experiment `name`: model, data, train, experiment (as `show` prints
    them), or a run folder's experiment.yaml ({experiment: NAME, settings: {...}}), which must be `name`'s;
    and whether it was that (a run's whole settings)."""
    raw = load_file(file)
    if isinstance(raw.get("experiment"), str) and isinstance(raw.get("settings"), dict):  # an experiment.yaml
        if raw["experiment"] != name:
            raise ConfigError(f"{file} holds the settings of experiment {raw['experiment']}, not {name}")
        return raw["settings"], True
    return raw, False


LENGTHS = (("epochs", "time_budget"), ("epochs_per_layer", "seconds_per_layer"))  # a length, and the budget over it


def _at(mapping: Any, key: str) -> Any:
    """The value at dotted `key` of a nested mapping, or None."""
    for part in key.split("."):
        mapping = mapping.get(part) if isinstance(mapping, dict) else None
    return mapping


def _dotted(mapping: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys of a nested mapping's values: {"train": {"epochs": 3}} -> ["train.epochs"]."""
    return [key for k, v in mapping.items()
            for key in (_dotted(v, f"{prefix}{k}.") if isinstance(v, dict) and v else [f"{prefix}{k}"])]


def _for_model(model: Any, default: dict[str, Any], given: set[str], imports: Any) -> Any:
    """The model section for another model than the experiment's: the defaults' keys it does not take
    (dense's hidden, for a vae without it) are dropped, not refused; keys given are kept (and checked)."""
    if not isinstance(model, dict) or model.get("name") == default.get("name"):
        return model
    try:
        import_models(imports if isinstance(imports, list) else [])
        allowed = keys_of(model_entry(model.get("name")).cls.Config)
    except ConfigError:  # an unknown model: parse_run_config says so
        return model
    return {k: v for k, v in model.items() if k == "name" or k in given or k in allowed or k not in default}


def _config(exp: Experiment, raw: dict[str, Any]) -> ExperimentConfig:
    run = parse_run_config({k: v for k, v in raw.items() if k != "experiment"})
    settings = build(exp.settings, raw.get("experiment"), where="experiment")
    if run.train.log:  # fit's loggers write one run folder; an experiment trains several models into its own
        raise ConfigError("train.log: an experiment keeps no training logs (its models train side by side in one "
                          "folder, each with its history); remove train.log, or train one model with aekit train")
    check_map_methods(getattr(settings, "map_methods", ()), where="experiment.map_methods",
                      code_size=run.model.get("code_size"))
    return ExperimentConfig(model=run.model, data=run.data, train=run.train, imports=run.imports, experiment=settings)


def table(title: str, columns: Mapping[str, str] | Sequence[str], rows: Sequence[Mapping | Sequence],
          notes: Sequence[str] = ()) -> dict[str, Any]:
    """A result table as data (results.json "tables"), which the report renders. Rows are lists of
    cells, or dicts whose `columns` keys (a mapping key -> header) are shown."""
    keys = list(columns)
    headers = list(columns.values()) if isinstance(columns, Mapping) else keys
    cells = [[row.get(k) for k in keys] if isinstance(row, Mapping) else list(row) for row in rows]
    return {"title": title, "columns": headers, "rows": cells, "notes": [n for n in notes if n]}


@leaves_generator
def run_experiment(
    name: str, overrides: Sequence[str] = (), *, out_dir: str | Path = "runs", tiny: bool = False,
    file: str | Path | None = None, progress: bool | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run experiment `name` (settings: `settings`); returns its run folder and headline results.
    `progress`: each training's epoch lines (and on a terminal a bar), over train.progress (the `aekit
    experiment` command's, unless --quiet); a way of watching, not a setting: experiment.yaml keeps the file's."""
    exp = experiment(name)
    cfg = settings(name, overrides, tiny=tiny, file=file)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, name=whole_data_name(cfg.data.name)))
    run_dir, made = make_run_dir(Path(out_dir).expanduser() / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}", unique=True)
    saved = {k: v for k, v in to_dict(cfg).items() if v or k != "imports"}  # no models of your own: as before imports
    try:  # (experiment.yaml's write in here: a Ctrl-C as it was written left an empty folder, a kill trial)
        atomic_write_text(run_dir / "experiment.yaml", yaml.safe_dump({"experiment": name, "settings": saved},
                                                                    sort_keys=False, allow_unicode=True))
        return _finish(exp, cfg, run_dir, progress)
    except BaseException as err:
        written = [p.name for p in run_dir.iterdir()
                   if not (p.name.startswith(".") and p.name.endswith(".tmp")) and p.name != LOCK_FILE]
        if written in ([], ["experiment.yaml"]):  # it failed before writing anything (but a write cut short)
            if isinstance(err, KeyboardInterrupt):  # said as such: "interrupted before the experiment kept anything"
                err.unfinished_dir = run_dir
            remove_made(made)
        raise


@leaves_generator
def resume_experiment(run_dir: str | Path, *, progress: bool | None = None) -> tuple[Path, dict[str, Any]]:
    """Finish an interrupted experiment in its own folder, with the settings it was started with: the
    runs it finished (runs.json) are kept, the others trained (`progress` as in `run_experiment`)."""
    run_dir = Path(run_dir).expanduser()
    if not (run_dir / "experiment.yaml").is_file():
        raise ConfigError(f"{run_dir} is not an experiment folder: it has no experiment.yaml")
    if (run_dir / "results.json").is_file():
        raise ConfigError(f"{run_dir} is finished: its results are in results.json (`aekit report {run_dir}` "
                          "writes report.html again)")
    saved = safe_yaml((run_dir / "experiment.yaml").read_text(encoding="utf-8"), str(run_dir / "experiment.yaml"))
    folder_imports(run_dir, saved["settings"].get("imports"))
    exp = experiment(saved["experiment"])
    if not exp.resumable:
        raise ConfigError(f"experiment {exp.name} keeps no finished runs to resume from; run it again "
                          f"(resumable: {', '.join(n for n, e in _EXPERIMENTS.items() if e.resumable)})")
    return _finish(exp, _config(exp, saved["settings"]), run_dir, progress)


def _finish(exp: Experiment, cfg: ExperimentConfig, run_dir: Path, progress: bool | None
            ) -> tuple[Path, dict[str, Any]]:
    """Run `exp` in `run_dir`, held for this process (a resume started beside a running experiment trained
    the same runs into one folder): its results, report and run folder."""
    if progress is not None:
        cfg = cfg.with_train(progress=progress)
    with hold(run_dir):
        for stale in [p for p in run_dir.iterdir() if is_temporary(p.name)]:  # a write a kill cut short (a kill trial)
            stale.unlink(missing_ok=True)
        try:
            with plots.unshown():  # (called from Jupyter, an experiment draws its pictures without showing them)
                results = exp.fn(cfg, run_dir)
        except (KeyboardInterrupt, Exception) as err:  # Ctrl-C or a crash: the CLI says how to continue
            # not after aekit's own errors (bad data or settings, a diverged run): a resume would meet them again
            if exp.resumable and (run_dir / Ledger.FILE).is_file() and not isinstance(err, AekitError):
                err.experiment_dir = run_dir
            elif not exp.resumable:  # a half-written folder: named, not left unsaid
                err.unfinished_dir = run_dir
            raise
        atomic_write_text(run_dir / "results.json", json.dumps(results, indent=1, default=float))
        from ..report import write_report

        write_report([run_dir], run_dir / "report.html", title=f"aekit experiment: {run_dir.name}")
    return run_dir, results
