"""Runs from config files: train, resume, evaluate; what the `aekit` command calls.

A run folder holds everything needed to understand and reproduce it:

    config.yaml             the full resolved config (re-running it reproduces the run)
    checkpoint.safetensors  weights + optimiser + RNG + history (for resume)
    model.safetensors       final weights + model config (for load_model)
    history.json            every loss term per epoch, train and val
    metrics.json            test metrics next to PCA's with the same code size; after `aekit evaluate`
                            also the test NLL and sample quality where they apply (generative_metrics)
    reconstructions.png     test samples above their reconstructions (pictures or curves; not texts)
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import itertools
import json
import math
import numbers
import os
import re
import shutil
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any, Literal

import numpy as np
import torch
import yaml

from ..analysis.likelihood import gaussian_nll, importance_sampled_nll, why_no_likelihood
from ..analysis.quality import reading, sample_quality, why_no_sample_quality
from ..config import (
    apply_overrides,
    build,
    check,
    coerce,
    keys_of,
    load_file,
    positive,
    to_dict,
)
from ..data import Dataset, load_dataset
from ..data.batches import check_inputs, inputs_of, map_batches, model_device, pick
from ..data.core import (
    SCALING_FILE,
    available_memory,
    data_map,
    is_picture,
    is_signal,
    read_unit_map,
    resolved_scale,
    swapped,
    value_bounds,
)
from ..data.datasets import from_file, list_datasets
from ..data.files import LABEL_COLUMNS, load_path
from ..errors import (
    AekitError,
    ConfigError,
    DataError,
    DataNotFoundError,
    NoTestSplitError,
    shell,
    warn,
)
from ..models.pca import PCA_SAMPLES, PCABaseline
from ..registry import (
    create_model,
    import_models,
    imported,
    known,
    list_models,
    model_entry,
    unknown_model_keys,
    unrecordable,
    untrusted_file,
    untrusted_state,
)
from ..training import checkpoint as ckpt
from ..training import distributed
from ..training.feature_classifier import (
    CLASSIFIER_DATA,
    classifier_files,
    feature_classifier,
    is_cached,
    other_data,
)
from ..training.loggers import check_loggers, log_results
from ..training.loop import (
    LEFT_UNSAVED,
    TrainConfig,
    check_settings,
    data_print,
    evaluate,
    fit,
    leaves_generator,
    one_at_a_time,
    resolve_device,
    training_device,
    without_ignored_training,
)
from ..writing import atomic_write_text, check_writable

CONFIG_FILE = ckpt.CONFIG_FILE
AUTO, AUTO_MODEL = "auto", "dense"  # model.name `auto`: a dense model chosen from the data (auto_model)
# auto's hidden layers take dropout DROPOUT where their weights pass FEW_SAMPLES times the training values
# (samples x features): benchmarks/RESULTS.md 7e
FEW_SAMPLES, DROPOUT = 0.25, 0.1
TYPICAL_SAMPLES = 10_000  # metrics.json's typical_error: the median and 99th percentile of at most this many samples
EVAL_SAMPLES = 50_000  # memory-mapped data is evaluated (and PCA fitted) on a seeded sample this big,
EVAL_BYTES = 1 << 30  # or of this many bytes (float32) when its samples are wide
NLL_SAMPLES = 5000  # importance samples per test input for the test NLL (Burda et al. 2016); 0 skips it
QUALITY_SAMPLES = 10_000  # generated images, against as many test images, for Fréchet distance, precision, recall
FEATURE_CLASSIFIER = None  # the data set sample quality's feature classifier is trained on (analysis/quality.py):
# None, the run's own where it is one of CLASSIFIER_DATA, else mnist (OTHER_CLASSIFIER)
OTHER_CLASSIFIER = "mnist"
QUALITY_NEIGHBOURS = 3  # k of precision/recall's k-nearest-neighbour balls (Kynkäänniemi et al. 2019)
EVAL_SAID_VALUES = 50_000_000  # an evaluation of more values than this (float32: 200 MB) is said before it runs
READ_SAID_BYTES = 20 << 20  # a data file bigger than this is said before it is read (a 150 MB CSV: ~6 s)


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    name: str | None = "mnist-mini"  # a registered data set (`aekit datasets`) or a path to a file/folder
    layout: Literal["auto", "nchw", "nhwc"] = "auto"  # a file's 4-D image arrays; auto: channel-last when unambiguous
    # a file's values to [0, 1]: auto (README), global (auto with one range for tables), minmax (one range),
    # column (a range per column), standard (each column's mean and deviation: not [0, 1], for MSE models), none
    # (as they are); a run's config.yaml records global or column for auto
    scale: Literal["auto", "global", "minmax", "column", "standard", "none"] = "auto"
    image_size: int | None = None  # a folder of images: each scaled to cover N x N and centre-cropped (any sizes)
    val_fraction: float = 0.1  # held out from the training split, stratified, seeded by train.seed
    # random: drawn as val_fraction says; last: the training part's last rows, in order (windows of a series: drawn at
    # random, validation windows overlap training ones, and the epoch kept is chosen on them)
    val_split: Literal["random", "last"] = "random"
    limit: int | None = None  # a seeded random subset of this many samples of the training part, before the validation split
    test_limit: int | None = None  # evaluate on at most this many test samples (refused when there is no test part)

    def __post_init__(self) -> None:
        check(0 <= self.val_fraction < 1, "val_fraction", f"must be in [0, 1), got {self.val_fraction}")
        check(self.val_split == "random" or self.val_fraction > 0, "val_split", "'last' holds out the last "
              "data.val_fraction of the training rows, and val_fraction is 0; give val_fraction > 0")
        positive("limit", self.limit, allow_none=True)  # build() prefixes "data."
        positive("image_size", self.image_size, allow_none=True)
        positive("test_limit", self.test_limit, allow_none=True)


@dataclass(frozen=True, kw_only=True)
class OutputConfig:
    dir: str = "runs"  # parent folder of run folders
    name: str | None = None  # run folder name; default <model>-<data>-<time>


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    model: dict[str, Any]  # `name` plus that model's keys (`aekit models` lists them)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    imports: tuple[str, ...] = ()  # .py files (or modules) registering models of your own, imported first
    # a run folder whose trained model this run starts from (warm start: new data, next month's rows); a data file
    # is read as that run's was (its scaling.json)
    init_from: str | None = None


# `aekit train` without a config file starts from these: the model chosen from the data (`auto`), a
# warm-up and cosine schedule, and the weights with the best validation loss at the end.
NO_CONFIG: dict[str, Any] = {
    "model": {"name": AUTO},
    "train": {"lr_schedule": "cosine", "warmup": 0.05, "restore_best": True},
}


EMPTY_INIT = "init_from: empty; give the run folder to start from, or leave init_from out"


def parse_run_config(raw: dict[str, Any]) -> RunConfig:
    """Validate a whole run config (all but the data-dependent model keys). Without a model section or
    its name, the model is `auto`, chosen from the data."""
    model = raw.get("model") or {}  # none, or an empty section (its keys commented out)
    if not isinstance(model, dict):
        raise ConfigError(f"model: must be a mapping of keys (name: ... and that model's keys; `aekit "
                          f"models`), got {model!r}")
    cfg = build(RunConfig, {**raw, "model": {"name": AUTO, **model}}, where="")
    imports = tuple(str(Path(i).expanduser().resolve()) if i.endswith(".py") else i for i in cfg.imports)
    if cfg.init_from is not None and not cfg.init_from.strip():  # (a script's unset $PREV: trained afresh, unsaid)
        raise ConfigError(EMPTY_INIT)
    init = str(Path(cfg.init_from).expanduser().resolve()) if cfg.init_from else None  # (config.yaml: found from anywhere)
    cfg = dataclasses.replace(cfg, imports=imports, init_from=init,  # full paths: a run folder read from anywhere finds them
                              output=dataclasses.replace(cfg.output, dir=str(Path(cfg.output.dir).expanduser())))  # ~ as data.name
    if init is not None and model.get("name", AUTO) == AUTO and (Path(init) / CONFIG_FILE).is_file():  # its model decides
        with contextlib.suppress(AekitError):  # a warm start's keys (a bug hunt: a vae's model.beta refused as auto's;
            source = read_run(init)  # start_from says what is wrong with the folder)
            cfg = dataclasses.replace(cfg, imports=tuple(dict.fromkeys((*cfg.imports, *source.imports))),
                                      model={**cfg.model, "name": source.model["name"]})
    import_models(cfg.imports)
    name = cfg.model["name"]
    # auto is a name here too (a CLI trial: the list left it out, and autoo had no guess)
    entry = model_entry(AUTO_MODEL if name == AUTO else name, also={AUTO: "chosen from the data"})
    allowed = keys_of(entry.cls.Config)
    unknown = [key for key in cfg.model if key not in allowed | {"name"}]
    if unknown:
        raise unknown_model_keys(name, unknown, allowed, choose="set model.name to the model", hint=(
            f" (a section switched to another model keeps the old one's keys: `model={{name: {name}, ...}}` on the "
            "command line replaces the whole section)"))
    hints = typing.get_type_hints(entry.cls.Config)  # its numbers, flags and words as the model will take them: an
    # experiment reads some itself (a bug hunt: YAML's text "5e-2" drew sparse-mnist's target line as a category)
    scalar = {k: v for k, v in cfg.model.items() if v is not None and k in hints and _scalar(hints[k])}
    return dataclasses.replace(cfg, model={**cfg.model, **{k: coerce(v, hints[k], f"model.{k}") for k, v in scalar.items()}})


def _scalar(tp: Any) -> bool:
    """A number, a flag or a word of a list (int, float | None, Literal[...]); not a list of widths."""
    args = set(typing.get_args(tp)) - {type(None)}
    return tp in (int, float, bool) or typing.get_origin(tp) is Literal or (bool(args) and all(
        a in (int, float, bool) or typing.get_origin(a) is Literal for a in args))  # (float | None, Literal[1, 2] | None)


def load_run_config(path: str | Path | None, overrides: list[str] = ()) -> RunConfig:
    """The config file at `path` (or, with None, NO_CONFIG) with dotted `overrides` applied."""
    if any(re.fullmatch(r"\s*init_from\s*=\s*", o) for o in overrides):  # (read as null: parse_run_config's check
        raise ConfigError(EMPTY_INIT)  # sees none)
    raw = load_file(path) if path is not None else {k: dict(v) for k, v in NO_CONFIG.items()}
    file_epochs, file_budget = (raw["train"].get("epochs"), raw["train"].get("time_budget")) if isinstance(
        raw.get("train"), dict) else (None, None)
    cfg = parse_run_config(apply_overrides(raw, list(overrides)))
    given = epochs_given(overrides)  # (with a budget: the CLI refuses it)
    own = path is not None and Path(path).name == CONFIG_FILE and file_budget is not None and any(
        (Path(path).parent / name).is_file() for name in (ckpt.CHECKPOINT_FILE, ckpt.MODEL_FILE))  # a budget run's own
    # config.yaml keeps epochs beside its budget: no note (but an epochs run's given a budget: said, a review)
    then = _read_json(Path(path).parent / ckpt.INIT_FILE) if path is not None and Path(path).name == CONFIG_FILE else None
    if isinstance(then, dict) and cfg.init_from == then.get("run") and Path(cfg.init_from).is_dir():  # a warm run's
        now = None  # config again: from the same weights? (a warm-start trial: unsaid)
        with contextlib.suppress(Exception):  # (no weights there: start_from says so)
            now = init_source(Path(cfg.init_from)).get("sha256")
        if now is not None and now != then.get("sha256"):
            warn(f"init_from: {cfg.init_from}'s weights have changed since {Path(path).parent} started from them "
                 f"(trained on, or replaced): this run starts from them as they are now")
    if file_epochs is not None and cfg.train.time_budget is not None and not given and not own:
        warn(f"train.time_budget={cfg.train.time_budget:g} decides how long this run trains: {path}'s "
             f"train.epochs ({file_epochs}) is not used (config.yaml keeps it, beside the budget)")
    return cfg


def epochs_given(overrides: list[str] | tuple[str, ...]) -> bool:
    """Whether `overrides` set train.epochs: dotted, or in a whole train section ('train={epochs: 3}': a config trial
    saw it dropped beside a budget, unsaid)."""
    train = apply_overrides({}, list(overrides)).get("train")
    return isinstance(train, dict) and "epochs" in train


def auto_model(model: dict[str, Any], sample_shape: tuple[int, ...], samples: int | None = None) -> dict[str, Any]:
    """The concrete model for `model.name: auto`, chosen from one sample's shape (and the number of
    training samples, when known); other keys kept.

    A dense autoencoder with two ELU hidden layers (the first about half the input size, 256 to 1024
    units wide, narrower, to 32, where its weights would pass 64M; the second half the first), a code of 32 (half the features for fewer than 64; at most
    the training samples, which PCA's start is fitted on) and a
    linear path started at PCA's solution (`linear_path`; both paths read the data standardised by its centre
    and spread), with dropout 0.1 on the hidden layers where their weights pass a quarter of the training values
    (samples x features: few samples, which the network would learn by heart), trained with MSE on linear outputs: it starts at PCA's error and, with
    restore_best, cannot end above it on the validation data. A code_size given as large as the input
    leaves out the linear path (PCA of that size is exact: there is nothing to start at), and so do
    recon_loss bce (it takes sigmoid outputs) and a code or output activation other than linear, given. Images of every size and colour take
    the same model, flattened: in short CPU budgets this beat the convolutional models here, which
    need many epochs before they pass PCA (docs/EXPERIMENTS.md).
    """
    dim = math.prod(sample_shape)
    if dim < 2:
        raise DataError(f"the samples have {dim} feature(s): nothing to compress into a smaller code; give samples "
                        "of several features (for a series, windows of it, one a row)")
    first = min(1024, max(256, 2 ** math.ceil(math.log2(max(dim // 2, 1)))))
    while first > 32 and first * dim > 2**26:  # at most 64M weights a layer (rows of over 65,536 values): a
        # million columns took 2 billion parameters, and 3x256x256 images a model of 16 GB in training
        first //= 2
    code = model.get("code_size", min(32, dim // 2, samples or dim))
    undercomplete = not isinstance(code, numbers.Real) or code < dim  # a bad value is refused by the model's config
    bce = model.get("recon_loss") == "bce"  # asked for: sigmoid outputs, which PCA's linear start cannot give
    linear = all(model.get(key, "linear") == "linear" for key in ("code_activation", "output_activation"))
    hidden = model.get("hidden", [first, first // 2])  # (a bad value is refused by the model's config)
    widths = [dim, *hidden, code] if isinstance(hidden, list) and isinstance(code, int) else []
    weights = 2 * sum(a * b for a, b in zip(widths, widths[1:]) if isinstance(a, int) and isinstance(b, int))
    few = len(widths) > 2 and samples is not None and weights > FEW_SAMPLES * samples * dim  # enough to learn them by heart
    chosen = {"hidden": [first, first // 2], "code_size": code, "activation": "elu", "dropout": DROPOUT if few else 0.0,
              "linear_path": undercomplete and linear and not bce, "output_activation": "sigmoid" if bce else "linear",
              "recon_loss": "mse"}
    return {"name": AUTO_MODEL, **chosen, **{k: v for k, v in model.items() if k != "name"}}


def config_label(path: str | Path | None) -> str | None:
    """How run folders of a config file are named: its stem (conv-upsample), not a run's own config.yaml."""
    if path is None or Path(path).name == CONFIG_FILE:
        return None
    return Path(path).stem


def _saved_map(cfg: RunConfig, run: Path | None) -> dict | None:
    """What the run folder `run` saved of how its data file became inputs (scaling.json), or None: no run, a
    named data set, or a run that saved none."""
    return None if run is None or cfg.data.name in list_datasets() else read_unit_map(run)


def _init_map(cfg: RunConfig) -> dict | None:
    """How init_from's run turned its data file's values into inputs (scaling.json), for a data file read to
    train from it (None: no init_from, a named data set, or a run trained on named data or arrays)."""
    init = getattr(cfg, "init_from", None)  # (an experiment's config has none)
    if init is None or cfg.data.name is None or cfg.data.name in list_datasets():
        return None
    return read_unit_map(Path(init))


def start_from(cfg: RunConfig):
    """(cfg with init_from's model section under the model keys given, its models of your own imported and its data
    layout; the model, holding init_from's trained weights) for a run that starts from another run's model. A key
    given may change how the model trains (recon_loss, dropout), not the shapes of its weights; a data file is read
    as that run's was, so data.scale, data.image_size and data.layout are its too."""
    run = Path(cfg.init_from)
    try:
        own = read_run(run)  # a run folder, or its error
    except ConfigError as err:
        raise ConfigError(f"init_from: {err}") from None
    if not any((run / file).is_file() for file in (ckpt.MODEL_FILE, ckpt.CHECKPOINT_FILE)):
        raise ConfigError(f"init_from: {run} holds no trained model ({ckpt.MODEL_FILE}); give a run that trained")
    mapped = _init_map(cfg) is not None
    words = len((read_unit_map(run) or {}).get("vocabulary") or ())
    if words and cfg.data.name in list_datasets() and cfg.data.name != own.data.name:  # (a bug hunt: 41 of 2,000
        raise ConfigError(f"init_from: {run} reads texts in its own vocabulary ({words:,} words), and "  # columns kept
                          f"{cfg.data.name} comes in another; give its texts as a folder, which is read in {run}'s")
    for key in ("scale", "image_size", "layout"):
        if getattr(cfg.data, key) not in (getattr(DataConfig, key), getattr(own.data, key)) and mapped:
            raise ConfigError(f"data.{key}: with init_from, {cfg.data.name} is read as {run}'s data were (its "
                              f"{SCALING_FILE}); leave data.{key} out")
    section, name = own.model, own.model["name"]
    given = {key: value for key, value in cfg.model.items() if not (key == "name" and value in (AUTO, name))}
    if "name" in given:
        raise ConfigError(f"model.name: {given['name']} given, and init_from {run} holds a {name} model; leave "
                          "model.name out (the model is that run's)")
    config = model_entry(name).cls.Config
    try:
        asked = to_dict(build(config, {**{k: v for k, v in section.items() if k != "name"}, **given}, where="model"))
    except ConfigError as err:
        raise ConfigError(f"{err} (init_from: the model is {run}'s)") from None
    before = to_dict(build(config, {k: v for k, v in section.items() if k != "name"}, where="model"))
    changed = [f"model.{key}={asked[key]} (it has {before[key]})" for key in asked if asked[key] != before[key]]
    cfg = dataclasses.replace(cfg, model={"name": name, **asked}, imports=tuple(dict.fromkeys((*cfg.imports, *own.imports))),
                              data=dataclasses.replace(cfg.data, layout=own.data.layout) if mapped else cfg.data)
    named = own.data.name in list_datasets()  # (a review: a named set's images and a uint8 file's are both /255)
    if cfg.data.name not in (None, *list_datasets()) and not mapped and not named and distributed.is_main():
        warn(f"init_from: {run} holds no {SCALING_FILE} (trained on arrays or a named data set): {cfg.data.name} is "
             f"scaled by its own values (data.scale={cfg.data.scale}), not as {run}'s inputs were")  # (a warm-start trial)
    trained = ckpt.load_model(run)
    if not changed:
        return cfg, trained.train()
    model = build_model(cfg, tuple(asked["input_shape"]))  # (a review: recon_loss=mse, as bce's refusal advised, was
    try:  # refused; so was a fine-tune's dropout)
        model.load_state_dict(trained.state_dict())
    except RuntimeError:
        raise ConfigError(f"{', '.join(changed)}: {'these change' if len(changed) > 1 else 'this changes'} the shapes of "
                          f"{run}'s trained weights, which init_from starts from; leave {'them' if len(changed) > 1 else 'it'}"
                          " out, or train a new model without init_from") from None
    if distributed.is_main():  # (a review: model.activation=tanh trained on from ReLU weights, unsaid)
        warn(f"init_from: {run.name}'s trained weights go on under {', '.join(changed)}")
    return cfg, model


def unlike_source(cfg: RunConfig, model, splits: tuple[Dataset, Dataset | None, Dataset | None]) -> None:
    """Warn where init_from's model reconstructs the new data (their validation part, else a sample of the training
    part) worse than PCA fitted on them: they are unlike its own, and a fresh run starts from PCA's solution
    (benchmarks/RESULTS.md 12: from MNIST to Fashion-MNIST, a warm start 63 against PCA's 16 at its start, ended 2-15%
    behind a fresh run of the same budget)."""
    if pca_size(model, splits[0])[0] is None:
        return
    part, which = (splits[1], "validation part") if splits[1] is not None else (splits[0].take(5000, seed=0), "training data")
    errors = sample_errors(model, splits[0], in_memory(part, cfg.train.seed), seed=cfg.train.seed)
    mine, pca = float(errors["autoencoder"].mean()), float(errors["pca"].mean())
    own = _read_json(Path(cfg.init_from) / ckpt.METRICS_FILE)
    try:  # its error against PCA's on its own data: a model behind PCA there says nothing of the new data
        before = float(own["squared_error_per_sample"]) / float(own["pca_squared_error_per_sample"])
    except (TypeError, KeyError, ValueError, ZeroDivisionError):
        before = 1.0
    if mine > pca * (UNLIKE * before if before > 1 else 1.0):  # (a review: a dense model behind PCA on its own data
        warn(f"init_from: {Path(cfg.init_from).name}'s model reconstructs these data worse than PCA-"  # warned on them)
             f"{errors['pca_code_size']} fitted on them ({mine:.4g} against {pca:.4g} per sample, on the {which}): they "
             "are unlike its own data, and a run without init_from may end better (the automatic model starts from "
             "PCA's solution)")


def init_source(run: Path) -> dict[str, Any]:
    """What init.json records of the run a warm start began from: its folder, the weights file and their SHA-256
    (a later rerun of the config says when they changed)."""
    weights = ckpt.model_file(run)
    return {"run": str(run), "weights": weights.name, "sha256": ckpt.file_header(weights).get("sha256")}


def read_split(cfg: RunConfig, split: str, name: str | None = None, run: Path | None = None, *,
               progress: bool = False) -> Dataset:
    """Split `split` of data.name (or of `name`), read as data.layout and data.scale say; or, for the run
    folder `run` that saved how its data file became inputs (scaling.json), as it did when trained, so a
    file changed since (rows added, texts added to a corpus) still reaches the model as its data did (and
    a note says it changed). `progress`: a bar while a folder's images are read (load_dataset)."""
    saved = None if name is not None else _saved_map(cfg, run) if run is not None else _init_map(cfg)
    if not name and cfg.data.name is None:
        raise ConfigError(
            "data.name: empty; give a data set (`aekit datasets`) or a file path (a run folder made by aekit.fit "
            "on arrays, or on part of a data set such as dataset.split(...), has none: set data.name in its "
            "config.yaml, and data.val_fraction to split it alike)"
        )
    given = name or cfg.data.name
    if run is not None and name is None and given not in list_datasets() and not Path(given).expanduser().exists():
        raise DataNotFoundError(f"{given}, the data {run / CONFIG_FILE} names (data.name), is not there (moved?): put "
                                "it back, or give its new path there; `aekit evaluate RUN --data FILE` evaluates a file "
                                "of the same kind")  # (a paths trial: "does not exist; give a .npy, .npz ...")
    if saved is None:
        if run is not None and name is None and split == "train" and given not in list_datasets() and distributed.is_main():
            warn(f"{run} holds no {SCALING_FILE}, which records how a data file's values became its inputs (a run "
                 f"trained on arrays, or by an older aekit, has none): {given} is read as it is now, as the run's inputs "
                 "were only if it has not changed since")  # (a compatibility trial: no word)
        return load_dataset(given, split, layout=cfg.data.layout, scale=cfg.data.scale,
                            image_size=cfg.data.image_size, progress=progress)
    path = Path(given).expanduser()
    data = from_file(path, split, layout=cfg.data.layout, scale=cfg.data.scale, run_map=saved,
                     progress=progress)  # the map resizes images as they were
    held, trained = len(data), saved["samples"]
    if split == "train" and run is not None and trained not in (None, held):  # (init_from's: other data, by design)
        appended = held > trained and path.is_file()  # a log that grew: its first rows are the run's
        if appended:
            data = data.subset(range(trained))
        how = (f"the run's splits are drawn from the first {trained:,}, the rows it trained on where rows were only "
               "appended since (a file rewritten otherwise is new data: train a new run on it)" if appended else
               "a validation split drawn from them afresh may hold samples it trained on: figures on it are not of "
               "held-out samples")
        if distributed.is_main():
            warn(f"{cfg.data.name} holds {held:,} training samples, {trained:,} when {run} trained on them: "
                 f"they are read by the run's saved map (scaling.json), and {how}")
    return data


def load_data(cfg: RunConfig, run: Path | None = None, *, progress: bool = False) -> tuple[Dataset, Dataset | None]:
    """(train, val) as the config says (of the run folder `run`'s data: read_split): subset by `limit`, then a
    stratified seeded split, or (data.val_split last) the last rows held out in order."""
    full = read_split(cfg, "train", run=run, progress=progress).take(cfg.data.limit, seed=cfg.train.seed)
    if cfg.data.val_fraction == 0:
        return full, None
    if cfg.data.val_split == "last":
        return full.split_last(cfg.data.val_fraction)
    if run is None and distributed.is_main() and shifted_windows(full.x):  # (a quality trial: a series' windows one
        warn(f"{full.name}: each row is the one before it shifted by a step (windows of one series): a validation "  # step
             "part drawn at random holds windows that nearly repeat training ones, and the epoch kept is chosen on "
             "them; data.val_split=last holds out the last rows instead")  # apart, K = 2: 1.17x PCA's test error)
    return full.split(cfg.data.val_fraction, seed=cfg.train.seed)


def shifted_windows(x: Any) -> bool:
    """Whether consecutive rows of `x` (N, T) or (N, C, T) are windows of one series a step apart: row i+1's first
    values follow row i's from its second on (correlated above 0.98 for most rows, and better than row i+1 unshifted
    does: smooth rows alike, spectra or growth curves, match both ways); a column's own scaling kept. (N, 1, C, T), as
    C x T signals are read, is (N, C, T); images are not signals. Its first 200 rows and 512 steps are read."""
    if isinstance(x, torch.Tensor) and x.ndim == 4 and is_signal(tuple(x.shape[1:])):
        x = x[:, 0]
    if not isinstance(x, torch.Tensor) or x.ndim not in (2, 3) or len(x) < 8 or x.shape[-1] < 4:
        return False
    rows = x[:200, ..., :513].float()

    def corr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = a.flatten(1) - a.flatten(1).mean(1, keepdim=True), b.flatten(1) - b.flatten(1).mean(1, keepdim=True)
        return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-30)

    shifted, kept = corr(rows[:-1, ..., 1:], rows[1:, ..., :-1]), corr(rows[:-1, ..., 1:], rows[1:, ..., 1:])
    return bool(((shifted > 0.98) & (shifted > kept)).float().mean() > 0.8)  # (a review: smooth rows alike, a class
    # sorted set, read as windows)


def load_test(cfg: RunConfig, run: Path | None = None, *, progress: bool = False, strict: bool = True) -> Dataset | None:
    """The test split, or None when the data has none (a file of your own without one). A test part that
    should be there but is missing (a named set's files, offline; a data file's test part that the run folder
    `run` was tested on, unless not `strict`) or cannot be used (corrupt, NaN, labels of another length) raises:
    it is never quietly replaced by the validation split."""
    try:
        test = read_split(cfg, "test", run=run, progress=progress)
    except NoTestSplitError:
        saved = _saved_map(cfg, run) if strict else None
        if saved and saved.get("test_samples"):  # the run was tested on a part that is gone: never the val split instead
            raise DataError(f"{run} was trained with a test part of {saved['test_samples']:,} samples in "
                            f"{cfg.data.name}, which it no longer holds; put the test part back, or train a new run "
                            "on the data as they are") from None
        return None
    return test.take(cfg.data.test_limit, seed=cfg.train.seed)


def resolve_model(cfg: RunConfig, sample_shape: tuple[int, ...], samples: int | None = None,
                  n_classes: int | None = None) -> RunConfig:
    """`cfg` with `model.name: auto` replaced by the concrete model chosen for the data; and, where not given
    (as input_shape is not), a conditional model's `n_classes` set to the classes the data hold, and a
    convolutional model's `dims` to 1 on signals (samples drawn as curves: convolved along time)."""
    if cfg.model["name"] == AUTO:
        return dataclasses.replace(cfg, model=auto_model(cfg.model, sample_shape, samples))
    config = getattr(model_entry(cfg.model["name"]).cls, "Config", None)
    fields = keys_of(config) if config is not None else set()
    found = {"n_classes": n_classes, "dims": 1 if is_signal(sample_shape) else None}
    given = {key: value for key, value in found.items() if value is not None and key in fields and key not in cfg.model}
    return dataclasses.replace(cfg, model={**cfg.model, **given}) if given else cfg


def say_reading(name: str | None, show: bool) -> None:
    """"reading NAME ..." where reading takes a while: a folder, or a data file over READ_SAID_BYTES."""
    path = Path(name).expanduser() if name is not None and name not in list_datasets() else None
    if show and path is not None and (path.is_dir() or (path.is_file() and path.stat().st_size > READ_SAID_BYTES)):
        print(f"reading {name} ...", flush=True)


def load_splits(cfg: RunConfig, run: Path | None = None, *, progress: bool | None = False
                ) -> tuple[Dataset, Dataset | None, Dataset | None]:
    """(train, val, test) (of the run folder `run`'s data: read_split); each is checked against the model by
    `check_splits` before any step. With progress on (None: train.progress), a folder's or a big file's reading
    is said first: it takes a while."""
    show = (cfg.train.progress if progress is None else progress) and distributed.is_main()
    say_reading(cfg.data.name, show)
    train, val = load_data(cfg, run, progress=show)
    test = load_test(cfg, run, progress=show)
    if test is not None:  # scaling.json records it (before test_limit): a test part removed later is refused, not replaced
        train.meta = {**train.meta, "test_samples": test.meta.get("samples", len(test))}
    return train, val, test


def check_splits(model, splits: tuple[Dataset, Dataset | None, Dataset | None], *, scored: bool = False) -> None:
    """Every split fits the model (shape, finite values, range), so no run dies after training. `scored`: the
    test part is new samples to score (evaluate --data), whose values may leave the training range (an anomaly
    often does): their shape and finite values alone are checked."""
    takes = tuple(getattr(getattr(model, "config", None), "input_shape", ()) or ())
    if takes and splits[0] is not None and tuple(splits[0].sample_shape) != takes and math.prod(takes) == math.prod(
            splits[0].sample_shape):  # (an API hunt: a run on Dataset.flat()'s vectors, its data.name set by hand,
        raise DataError(  # was an unexpected size mismatch; other sizes are refused below, as the model checks them)
            f"training data ({splits[0].name}): samples of shape {list(splits[0].sample_shape)}, but the model takes "
            f"{list(takes)}; give samples of its shape (a run trained on reshaped samples, Dataset.flat()'s, is "
            "evaluated in Python: aekit.load_model(RUN_DIR) and the samples reshaped alike)")
    for what, data in zip(("train", "validation", "test"), splits):
        if data is None:
            continue
        try:
            if scored and what == "test":
                inputs_of(model, data.x, whole=False)
            else:
                check_inputs(model, data.x, data.y)  # a conditional model's labels too
        except DataError as err:  # a test part is scaled by its training part's range, so it may overshoot [0, 1]
            overshoots = what == "test" and data.meta.get("scaling", "none") != "none" and "[0, 1]" in str(err)
            if overshoots:  # the model's own advice (give data in [0, 1]) does not apply to a part scaled so
                raise DataError(
                    f"test data ({data.name}, scaled by the training part's range): values span [{float(data.x.min()):.3g}, "
                    f"{float(data.x.max()):.3g}], and recon_loss 'bce' takes [0, 1] alone; test samples beyond the "
                    "training range (anomalies often are) need outputs beyond it: model.recon_loss=mse "
                    "model.output_activation=linear, or model={name: auto} (the automatic model)") from None
            raise DataError(f"{what} data ({data.name}): {err}") from None
        if splits[0] is not None and data.sample_shape != splits[0].sample_shape:  # as many values is not enough
            same = math.prod(data.sample_shape) == math.prod(splits[0].sample_shape)
            turned = swapped(data.sample_shape, splits[0].sample_shape)
            raise DataError(f"{what} data ({data.name}): samples of shape {list(data.sample_shape)}, but the "
                            f"training samples have shape {list(splits[0].sample_shape)}; save both alike"
                            + (turned or " (the same number of values: reshape them, if in that order)" * same))


def build_model(cfg: RunConfig, sample_shape: tuple[int, ...]):
    values = {k: v for k, v in cfg.model.items() if k != "name"}
    given = tuple(values.pop("input_shape", ()) or ())
    if given and given != tuple(sample_shape):
        raise ConfigError(f"model.input_shape {list(given)} does not match the data's sample shape {list(sample_shape)}")
    _check_memory(cfg, values, tuple(sample_shape))
    torch.manual_seed(cfg.train.seed)  # the same seed gives the same initial weights
    model = create_model(cfg.model["name"], **values, input_shape=sample_shape)
    code_size = _code_size(model)
    if code_size is not None and code_size < 1:  # a model of your own without that check
        raise ConfigError(f"model.code_size: must be > 0, got {code_size}")
    return model


def _check_memory(cfg: RunConfig, values: dict[str, Any], sample_shape: tuple[int, ...]) -> None:
    """Refuse a model too big to train on its device before its weights are made (the kernel kills such a
    process without a word): its parameters counted on torch's meta device, 4 bytes each for the weights and,
    for those it trains, their gradients and each of the optimiser's states (Adam's two moments), twice over
    (a checkpoint is serialised in memory beside them, and restore_best keeps the best weights), against the
    memory free there (available_memory). A million-column table's 522M-parameter model peaked at 23 GB."""
    name = cfg.model["name"]
    smaller = "give a smaller model (its widths, such as model.hidden, model.code_size or a vq-vae's codebook_size)"
    if len(sample_shape) == 3 and min(sample_shape[1:]) > 64 and cfg.data.name and Path(cfg.data.name).expanduser().is_dir():
        smaller += f", or read the images smaller (data.image_size=64, say; now {sample_shape[2]} x {sample_shape[1]})"
    try:
        with ckpt.meta_device():
            model = create_model(name, **values, input_shape=sample_shape)
    except Exception as err:  # refused by the build below, or a model of your own that meta tensors cannot build
        sizes = re.search(r"overflowed with sizes=(\[[^\]]*\])", str(err))  # torch: a tensor no memory holds
        if sizes:
            raise ConfigError(f"model: {name} would hold a tensor of shape {sizes[1]}, more values than any memory "
                              f"holds; {smaller}") from None
        return
    params, buffers = sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers())
    opt = cfg.train.optimizer
    states = {"adam": 2, "adamw": 2}.get(opt, 1 if opt == "adagrad" or cfg.train.momentum else 0) + (opt == "rmsprop")
    need = 2 * 4 * sum(p.numel() * (1 + (1 + states) * p.requires_grad) for p in model.parameters())
    need += 2 * sum(b.numel() * b.element_size() for b in model.buffers())  # a vq-vae's codebook and K x K prior
    device = training_device(cfg.train)
    free = available_memory(device)
    if need > free:
        also = f" and {buffers:,} buffer values (a codebook, a prior)" if buffers > params else ""
        raise ConfigError(f"model: {name} has {params:,} parameters{also}, which take about {need / 2**30:.1f} GiB to "
                          f"train (weights, gradients, {opt}'s state, buffers and a checkpoint), and "
                          f"{free / 2**30:.1f} GiB is free on {device.type}; {smaller}")


def build_checked(cfg: RunConfig, splits: tuple[Dataset, Dataset | None, Dataset | None]):
    """The model `cfg` names, built for the training data, with every split and the training settings checked
    against it."""
    model = build_model(cfg, splits[0].sample_shape)
    check_run(cfg, model, splits)
    return model


def check_run(cfg: RunConfig, model, splits: tuple[Dataset, Dataset | None, Dataset | None]) -> None:
    """Everything `fit` and the evaluation would refuse of `model` with `splits` and `cfg.train`, refused
    before a run's first line."""
    check_splits(model, splits)
    check_settings(model, splits[0], splits[1], config=cfg.train)


def train_model(
    cfg: RunConfig, splits: tuple[Dataset, Dataset | None, Dataset | None], *, model=None,
    folder: Path | None = None, tag: str | None = None,
) -> tuple[Any, dict[str, list[float]]]:
    """Build, check and fit `cfg`'s model (or `model`, built already) on `splits` (train, val,
    test) with `cfg.train`: (model, history).

    With `folder` and `tag`, saves model-<tag>.safetensors and history-<tag>.json there: the
    models of an experiment, several to a folder (`train` makes a whole run folder instead).
    """
    if model is None:
        model = build_model(cfg, splits[0].sample_shape)
    check_run(cfg, model, splits)
    if tag is not None:
        budget = f" for {cfg.train.time_budget:g} s" if cfg.train.time_budget is not None else ""
        print(f"  training {tag} ({sum(p.numel() for p in model.parameters()):,} parameters) on {len(splits[0]):,} "
              f"samples{budget}", flush=True)
    history = fit(model.to(training_device(cfg.train)), splits[0], splits[1], config=cfg.train)  # and stays there
    if folder is not None and tag is not None:
        atomic_write_text(folder / f"history-{tag}.json", json.dumps(history, indent=1))
        ckpt.save_model(model, folder / f"model-{tag}.safetensors")
        if data_map(splits[0]) is not None:  # a data file's map: `aekit export --raw` folds it in
            ckpt.write_scaling(folder, splits[0])
    return model, history


def new_run_dir(cfg: RunConfig, label: str | None = None) -> Path:
    """output.dir/output.name, by default <label or model>-<data>-<time> (the data left out when the label names it)."""
    label, data = label or cfg.model["name"], Path(cfg.data.name or "data").stem
    prefix = label if data in label else f"{label}-{data}"
    name = cfg.output.name or f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    inside = PureWindowsPath(name)  # reads / and \ as separators, and C: as a drive
    if inside.anchor or not inside.parts or ".." in inside.parts:
        raise ConfigError(f"output.name: {name!r} must stay inside output.dir: a folder name (or a relative path "
                          "such as project/run1, without '..'); the folder it goes in is output.dir")
    for key, value in (("output.dir", cfg.output.dir), ("output.name", name)):
        if "\\" in value and os.sep == "/":  # (a paths trial: 'proj\run1' made one folder of that name)
            raise ConfigError(f"{key}: {value} holds a backslash, which separates no folders here; write "
                              f"{value.replace(chr(92), '/')}")
    run_dir = Path(cfg.output.dir) / name
    blocked = next((p for p in (run_dir, *run_dir.parents) if p.exists() and not p.is_dir()), None)
    if blocked is not None:  # (a bug hunt: said by mkdir, after the data were read and the model built)
        key = "output.dir" if blocked in (Path(cfg.output.dir), *Path(cfg.output.dir).parents) else "output.name"
        raise ConfigError(f"{key}: {blocked} is a file, where the run folder {run_dir} needs a folder; give another {key}")
    if cfg.output.name and (run_dir / ckpt.CHECKPOINT_FILE).exists() and distributed.is_main():
        ckpt.check_free(run_dir)  # training now: "in use", not "use aekit resume", which it refuses (a CLI trial)
    if cfg.output.name and (run_dir / ckpt.CHECKPOINT_FILE).exists():  # a default name is made unique (make_run_dir)
        raise ConfigError(f"run folder {run_dir} already holds a run; use `aekit resume {shell(run_dir)}` or another output.name")
    if cfg.output.name and (run_dir / "experiment.yaml").is_file():  # never train over an experiment's pictures
        raise ConfigError(f"folder {run_dir} holds an experiment; give another output.name")
    mine = cfg.output.name and run_dir.is_dir() and distributed.is_main()  # other ranks: rank 0 may have begun it
    if mine:
        ckpt.check_free(run_dir)  # a run starting in it now: said so (not "empty the folder")
    held = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) if mine else []  # not .DS_Store
    if held and set(held) <= LEFT_UNSAVED and (run_dir / ckpt.LOCK_FILE).is_file():
        # what aekit writes before the first checkpoint, left by a kill (SIGKILL, the OOM killer) or a diverged
        # run's logs: started again
        warn(f"output.name: {run_dir} holds the start of a run stopped before its first checkpoint "
             f"({', '.join(held)}); it is trained again there")
        for name in held:
            shutil.rmtree(run_dir / name) if (run_dir / name).is_dir() else (run_dir / name).unlink()
        held = []
    if held:  # a user's own files (a config.yaml of theirs was written over)
        raise ConfigError(f"output.name: {run_dir} holds files ({', '.join(held[:4])}{' ...' * (len(held) > 4)}) and no "
                          "run to resume; give another output.name, or empty the folder")
    return run_dir


def make_run_dir(run_dir: Path, *, unique: bool) -> tuple[Path, list[Path]]:
    """Make the run folder: (it, the folders made for it, innermost first). With `unique` (a default,
    timestamped name) an existing folder is never shared: a run started in the same second gets
    NAME-2, NAME-3, ... (mkdir claims a name atomically, so parallel runs cannot take the same one)."""
    for i in itertools.count(1):
        folder = run_dir if i == 1 else run_dir.with_name(f"{run_dir.name}-{i}")
        made = [p for p in (folder, *folder.parents) if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=not unique)
        except FileExistsError:
            if not unique:  # output.name: a file in the way
                raise
            continue
        except OSError:  # a name too long: the folders above it made already go too (a paths trial)
            ckpt.remove_made(made)
            raise
        return folder, made


def whole_data_name(name: str | None) -> str | None:
    """A user's file or folder as its absolute path, so a saved config finds it from anywhere; a named
    data set (or None) as it is. A link stays the link (a job's stable name for data staged anew each time, DVC's
    and git-annex's names): not the file it points to now (a cluster trial's requeue found the last job's copy)."""
    path = Path(name or "").expanduser()
    if not name or name in list_datasets() or not path.exists():
        return name
    if ".." in path.parts:  # resolved up to its last "..", which the system takes after a link (link/../x.npy)
        cut = len(path.parts) - path.parts[::-1].index("..")
        return str(Path(*path.parts[:cut]).resolve().joinpath(*path.parts[cut:]))
    return os.path.abspath(path)  # (links kept: a folder's or a file's)


def save_config(cfg: RunConfig, run_dir: Path, train: Dataset, model) -> None:
    """config.yaml: the run's settings, the model's every key included (those at their defaults too, so a
    later aekit whose defaults differ trains the same model from it)."""
    resolved = to_dict(cfg)
    resolved["model"] = ckpt.model_section(model)
    resolved["data"]["scale"] = resolved_scale(cfg.data.scale, train.meta)
    resolved["data"] = {**resolved["data"], "name": whole_data_name(cfg.data.name)}
    if not cfg.imports:  # a run without models of your own reads as before imports existed
        del resolved["imports"]
    if cfg.init_from is None:  # (and one that starts afresh as before init_from)
        del resolved["init_from"]
    atomic_write_text(run_dir / CONFIG_FILE, yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))


def check_autoencoder(cfg: RunConfig) -> None:
    """Refuse a model that is not an autoencoder: a run of it would end in an evaluation of the
    reconstructions it does not make."""
    name = cfg.model["name"]
    kind = model_entry(AUTO_MODEL if name == AUTO else name).kind
    if kind != "autoencoder":
        raise ConfigError(f"model: {name!r} is a {kind} model, trained on labels; a run trains an autoencoder "
                          f"(`aekit models`); train {name} with aekit.fit in Python, in the experiments (`aekit "
                          "experiment list`) or in aekit.apps.sklearn's estimators")


@one_at_a_time
@leaves_generator
def train(cfg: RunConfig, *, progress: bool | None = None, label: str | None = None) -> Path:
    """Train a run from its config; returns the run folder (already evaluated).

    Every split is loaded and checked against the model before the folder is made. Under torchrun
    every process trains its shard; only rank 0 writes and evaluates. `label` starts the folder's
    default name (the config file's stem) in place of the model's name.
    """
    check_autoencoder(cfg)
    distributed.init()
    started = None
    if cfg.init_from is not None:  # (before reading data: a wrong folder is said at once)
        cfg, started = start_from(cfg)
    run_dir = new_run_dir(cfg, label)
    if distributed.is_main():  # a read-only or full disk: said before the data are read and the model built
        check_writable(run_dir / CONFIG_FILE)
    resolve_device(cfg.train.device)  # no CUDA here: said before the data are read
    check_loggers(cfg.train.log)  # a logger's package missing too (a packaging trial: after loading and PCA's start)
    splits = load_splits(cfg, progress=progress)
    samples = sum(len(part) for part in splits[:2] if part is not None)
    if cfg.data.limit is not None and cfg.data.limit > samples:  # said, not silently fewer
        warn(f"data.limit {cfg.data.limit:,}: {splits[0].name} has {samples:,} training samples; all are "
             "used")
    if splits[2] is None and cfg.data.test_limit is not None:  # never ignored silently
        raise ConfigError(f"data.test_limit: {cfg.data.name} has no test part to limit; remove data.test_limit "
                          "(data.limit limits the training part)")
    if splits[2] is not None and cfg.data.test_limit is not None and cfg.data.test_limit > len(splits[2]):
        warn(f"data.test_limit {cfg.data.test_limit:,}: {splits[2].name} has {len(splits[2]):,} test samples; all "
             "are used")
    labelled = [part for part in splits if part is not None and part.y is not None and bool((part.y >= 0).any())]
    classes = max((len(part.classes) if part.classes else int(part.y.max()) + 1 for part in labelled), default=None)
    # (every part's: a test class train/ lacks, as MVTec's defects, is numbered after the training classes)
    auto_bce = cfg.model["name"] == AUTO and cfg.model.get("recon_loss") == "bce"
    if started is None:
        cfg = resolve_model(cfg, splits[0].sample_shape, len(splits[0]), classes)  # config.yaml names the model chosen
        model = build_checked(cfg, splits)
    else:
        model = started
        try:
            check_run(cfg, model, splits)
        except DataError as err:  # (the model is not this data's: said whose it is)
            raise DataError(f"{err} (the model of init_from {cfg.init_from})") from None
        if distributed.is_main():
            unlike_source(cfg, model, splits)
    if auto_bce and not cfg.model.get("linear_path") and distributed.is_main():  # (a quality trial: only the first
        warn("model.recon_loss=bce: the automatic model takes sigmoid outputs, which PCA's linear start cannot "  # line
             "give, so it starts from random weights and its error is not bound by PCA's")  # said it, by a word missing)
    made: list[Path] = []  # the folders this call made, which a refused run removes; never a user's own
    with contextlib.ExitStack() as held:
        if distributed.is_main():
            run_dir, made = make_run_dir(run_dir, unique=cfg.output.name is None)
            try:
                held.enter_context(ckpt.hold(run_dir))  # another process training into it: refused, nothing removed
            except KeyboardInterrupt:  # (stopped as its folder was made: the folder goes, as below)
                ckpt.remove_made(made)
                raise
            # a run that ended in it while this one read its data (a concurrency trial: its config.yaml was replaced)
            written = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
            if written:
                raise ConfigError(f"run folder {run_dir}: another run was written into it while this one read its "
                                  f"data ({', '.join(written[:4])}); give another output.name (it is left as it is)")
        try:
            if distributed.is_main():  # (in here: a stop just after config.yaml left the folder, a kill trial)
                save_config(cfg, run_dir, splits[0], model)
                if started is not None:
                    atomic_write_text(run_dir / ckpt.INIT_FILE, json.dumps(init_source(Path(cfg.init_from)), indent=1))
            run_dir = Path(distributed.broadcast(str(run_dir)))  # rank 0's folder for all ranks
            return _fit_and_evaluate(cfg, model, splits, run_dir, progress=progress)
        except (KeyboardInterrupt, Exception) as err:  # refused (a setting fit checks, no CUDA), stopped, out of
            # space or memory before its first checkpoint: leave no folder (a retry under its name would be refused);
            # a diverged run keeps the logs it wrote, which show why
            if not distributed.is_main():  # rank 0 alone made the folder, and tidies it
                raise
            if getattr(err, "run_dir", None) is None:  # (stopped on the start line: the CLI names the folder too)
                err.run_dir = run_dir
            if not run_dir.is_dir():  # removed while it trained (a kill trial): nothing to tidy, the error is said
                raise
            if not (run_dir / ckpt.CHECKPOINT_FILE).is_file() and not ckpt.kept_when_stopped(err, run_dir):
                ckpt.remove_made(made)
                if not made:  # a named folder that was there, empty: emptied again
                    for path in [*run_dir.iterdir()]:  # (new_run_dir refused one holding files)
                        if path.is_file() and (not path.name.startswith(".") or path.name == ckpt.LOCK_FILE):
                            path.unlink(missing_ok=True)
            raise


def _fit_and_evaluate(cfg: RunConfig, model, splits, run_dir: Path, *, progress: bool | None, resume: bool = False,
                      announce: bool = True) -> Path:
    """`fit` into `run_dir`, then the test metrics on rank 0 (the test NLL and sample quality take
    minutes: `aekit evaluate` adds them). Ctrl-C carries the run folder, so the CLI can name it.
    With progress on, a line says what is about to happen before each silent stretch (reading,
    PCA's start, evaluating)."""
    show = (cfg.train.progress if progress is None else progress) and distributed.is_main()
    if show and announce:
        print(start_line(cfg, model, splits, run_dir, resume=resume), flush=True)
    try:
        model.to(training_device(cfg.train))  # where fit leaves it: the run is evaluated there
        fit(model, splits[0], splits[1], config=cfg.train, run_dir=run_dir, resume=resume,
            **({} if progress is None else {"progress": progress}))
        if distributed.is_main():
            evaluate_run(run_dir, model=model, splits=splits, nll_samples=0, quality_samples=0, progress=show)
    except (KeyboardInterrupt, Exception) as err:  # in training or evaluating: the CLI names what is kept
        if getattr(err, "run_dir", None) is None:
            err.run_dir = run_dir
        raise
    return run_dir


def start_line(cfg: RunConfig, model, splits, run_dir: Path, *, resume: bool = False) -> str:
    """What a run is about to train, on what, for how long and where, in one line."""
    parts = [f"{len(d):,} {what}" for what, d in zip(("training samples", "validation", "test"), splits) if d is not None]
    shape = splits[0].sample_shape
    if len(shape) == 3 and is_picture(shape):  # how a folder's images were read, said (an image trial: config.yaml alone)
        kind = {1: "grey", 3: "colour"}.get(shape[0], f"{shape[0]}-channel")
        parts[0] += f" ({kind} {shape[2]} x {shape[1]} images)"
    meta = splits[0].meta or {}
    if "label_column" in meta:  # a CSV's labels are not inputs: say which column they came from
        parts.append(f"labels from column {meta['label_column']!r} (not an input)")
    elif meta.get("columns"):  # a flag named otherwise (isFraud) would be an input: said
        parts.append(f"no label column ({', '.join(LABEL_COLUMNS)}): all {len(meta['columns'])} columns are inputs")
    elif str(cfg.data.name or "").lower().endswith(".csv") and len(splits[0].sample_shape) == 1:  # (a trial: a UCI
        parts.append(f"no header row: all {splits[0].sample_shape[0]} columns are inputs")  # file's label, unsaid)
    elif "vocabulary" in meta and "files" in meta:  # a folder of texts: what its vectors and labels are
        kind = "TF-IDF" if meta.get("representation") == "tfidf" else "bags of words"
        classes = splits[0].classes
        parts.append(f"{kind} of a vocabulary of {len(meta['vocabulary']):,} words"
                     + (f", labels from its {len(classes)} class folders" if classes else ", unlabelled"))
    if _init_map(cfg) is not None and not resume:  # (a warm-start trial: "each column scaled by its own range")
        parts.append(f"scaled as {Path(cfg.init_from).name}'s data were (its {SCALING_FILE})")
    elif meta.get("scaling") == "per column" and meta.get("scale") == "auto":  # said before training, not after
        parts.append("each column scaled by its own range (for one range: data.scale=global)")
    conv, shape = getattr(model.config, "conv_shape", None), tuple(getattr(model.config, "input_shape", ()))
    if conv is not None and len(shape) == 3 and shape[0] == 1 and (len(conv) == 2 or shape[2] > shape[1]):
        parts.append(f"convolved along time, its {conv[0]} row{'s' * (conv[0] != 1)} as channel{'s' * (conv[0] != 1)}" if len(conv) == 2 else  # a signal's?
                     f"convolved in 2-d as {shape[1]}x{shape[2]} images (model.dims=1 convolves along time, the rows as "
                     "channels)")
    if getattr(model.config, "binarize", False):  # a config made for MNIST, given other data: said, not silent
        parts.append("each input binarised afresh at every step (model.binarize, for near-binary images)")
    size, inputs = getattr(model, "code_size", None), math.prod(shape or (1,))
    if isinstance(size, int) and size >= inputs and hasattr(model.config, "code_size"):  # (a vq-vae's code: indices)
        how = ("a code_size below the inputs' count compresses" if cfg.model.get("code_size") is not None else  # (a
               "model.code_size=K gives a K-number code")  # trial was told to set the code_size it had set)
        parts.append(f"a code of {size:,} values for {inputs:,} inputs "
                     f"({'overcomplete' if size > inputs else 'as many: nothing is compressed'}: {how})")
    tc = cfg.train
    if splits[1] is None and tc.monitor == "val_loss" and tc.early_stopping is not None:
        parts.append("no validation split: early stopping follows train_loss")
    moves = {"turned": tc.augment_rotate, "scaled": tc.augment_scale, "shifted": tc.augment_shift}
    if any(moves.values()):  # what the model sees is not the data as stored: said
        share = "" if tc.augment_share == 1 else f"{tc.augment_share:.0%} of "
        parts.append(f"{share}training images distorted anew each step ("
                     + ", ".join(f"{how} by up to {v:g}{unit}" for (how, v), unit in zip(moves.items(), (" degrees", "", " px"))
                                 if v) + ")")
    if tc.amp != "off":
        parts.append(f"{tc.amp} mixed precision")
    if distributed.world_size() > 1:  # (a multi-process trial: the line did not say)
        parts.append(f"data-parallel over {distributed.world_size()} processes")
    epochs = cfg.train.epochs
    length = f"{cfg.train.time_budget:g} s" if cfg.train.time_budget is not None else f"{epochs} epoch{'s' * (epochs != 1)}"
    header = ckpt.checkpoint_header(run_dir) if resume else {}
    spent, done = (header.get("budget") or {}).get("spent"), header.get("epoch")  # (a long-job trial: "410 s" said
    if isinstance(spent, (int, float)) and cfg.train.time_budget is not None:  # nothing of the 350 s trained already)
        length += f" in all, {spent:.3g} s of them trained"
    elif isinstance(done, int) and cfg.train.time_budget is None:
        part = header.get("in_epoch")  # (a checkpoint inside an epoch: its steps of the next, as the interrupted line said)
        length += f" in all, {done} trained" + (f" and {part['batches']:,} steps of the next" if isinstance(part, dict) else "")
    pca = ", from PCA's solution" if getattr(model.config, "linear_path", False) and not resume else ""
    if cfg.init_from is not None and not resume:
        pca = f", from {shell(cfg.init_from)}'s trained weights"
    hidden = getattr(model.config, "hidden", None)  # a dense model's widths, the code's last: what auto chose
    widths = f" {'-'.join(map(str, [math.prod(shape), *hidden, size]))}" if shape and isinstance(size, int) and isinstance(
        hidden, (list, tuple)) and getattr(model.config, "conv_shape", None) is None else ""
    return (f"{'resuming' if resume else 'training'} {model.name}{widths} ({sum(p.numel() for p in model.parameters()):,} "
            f"parameters{pca}) on {Path(cfg.data.name or '').name}: {', '.join(parts)}; {length} -> {run_dir}")


def classifier_held(folder: Path) -> str:
    """What to say of a folder aekit.fit trained a classifier into (it writes them no config.yaml), or ""."""
    held = (ckpt.file_header(folder / ckpt.MODEL_FILE) or ckpt.checkpoint_header(folder)).get("model")
    if held not in [*list_models("classifier"), *list_models("semi-supervised")]:
        return ""
    return (f"; it holds model {held!r}, a classifier aekit.fit trained: aekit.load_model reads it and fit(..., "
            "resume=True) continues it (the commands take autoencoders' run folders)")


def read_run(run_dir: str | Path) -> RunConfig:
    run_dir = Path(run_dir).expanduser()
    if not run_dir.exists():
        raise ConfigError(f"{run_dir} does not exist; give a run folder made by `aekit train`")
    folder = run_dir.parent if run_dir.is_file() else run_dir
    if (folder / "experiment.yaml").is_file() and not (folder / CONFIG_FILE).is_file():
        figures = (f"its figures are in {folder / 'results.json'} and report.html" if (folder / "results.json").is_file()
                   else "it stopped before its end (no results.json yet: `aekit experiment resume` finishes a "
                        "resumable one; run others again)")
        raise ConfigError(f"{run_dir} is {'a model of ' if run_dir.is_file() else ''}an experiment folder, not a run of "
                          f"aekit train: {figures} (`aekit export` and aekit.load_model take its model-*.safetensors files)")
    if run_dir.is_file():
        holder = f"the run folder that holds it ({run_dir.parent})" if (folder / CONFIG_FILE).is_file() else (
            "a run folder made by `aekit train`")
        raise ConfigError(f"{run_dir} is a file; give {holder}")
    if not (run_dir / CONFIG_FILE).is_file():
        runs = sorted(str(c.parent) for c in run_dir.glob(f"*/{CONFIG_FILE}")) if run_dir.is_dir() else []
        inside = f"; it holds run folders such as {runs[-1]}" if runs else ""
        raise ConfigError(f"{run_dir} is not a run folder: it has no {CONFIG_FILE}{classifier_held(run_dir) or inside}")
    back = f"it says how {run_dir} was trained: put it back from a copy, or train the run again"  # (an environment
    # trial: an emptied one was told "leave it out to train the default job")
    if not (run_dir / CONFIG_FILE).read_bytes().strip():
        raise ConfigError(f"config file {run_dir / CONFIG_FILE} is empty; {back}")
    try:
        raw = load_file(run_dir / CONFIG_FILE)
    except ConfigError as err:
        raise ConfigError(f"{err}; {back}") from None
    gone = [f"{key}.name" for key in ("model", "data") if not isinstance(raw.get(key), dict) or "name" not in raw[key]]
    if gone:  # every run's config.yaml names both (a files hunt: evaluate took the default data, mnist-mini, unsaid)
        raise ConfigError(f"{run_dir / CONFIG_FILE} holds no {' and no '.join(gone)}; {back}")
    folder_imports(run_dir, raw.get("imports"))
    if isinstance(raw.get("data"), dict) and "scale" not in raw["data"]:  # made before data.scale: one range
        raw["data"]["scale"] = "global"
    if isinstance(raw.get("train"), dict):
        raw["train"] = without_ignored_training(raw["train"], run_dir / CONFIG_FILE)
    try:
        return parse_run_config(raw)
    except ConfigError as err:  # a file edited or damaged since: named
        raise ConfigError(f"{run_dir / CONFIG_FILE}: {err}") from None


def _module_inside(name: str, folder: Path) -> bool:
    """Whether importing module `name` would run a file inside `folder`, found where Python's import would find
    it (a .py, .pyc or extension file, or a package, on the Python path in its order), without importing it."""
    import importlib.machinery

    top, *rest = name.split(".")
    spec = importlib.machinery.PathFinder.find_spec(top)
    places = [spec.origin] if spec is not None and spec.origin else []
    places += [str(Path(p).joinpath(*rest)) for p in (spec.submodule_search_locations or [])] if spec else []
    return any(folder == Path(p).resolve() or folder in Path(p).resolve().parents for p in places)


def folder_imports(folder: Path, items: Any) -> None:
    """Import the models of your own that a run or experiment folder's settings name (`imports`), each said
    in a note: modules, or .py files by full path outside the folder. A relative path or a file inside the
    folder is refused: reading a folder never runs code that came with it."""
    items = [i for i in items if isinstance(i, str)] if isinstance(items, list) else []  # others: parse_run_config refuses
    for item in items:
        path = Path(item).expanduser()
        if item.endswith(".py") and imported(path.resolve()) or item in sys.modules:  # imported already: nothing runs
            continue  # (a review: `aekit train` of one's own config said "importing X, which RUN's imports name")
        inside = path.is_absolute() and folder.resolve() in path.resolve().parents
        if not item.endswith(".py") and _module_inside(item, folder.resolve()):  # (a files trial: `evilmod` beside it)
            raise ConfigError(f"{folder.resolve()}: imports: the module {item} would be imported from inside the folder "
                              "(the current folder is on the Python path); a folder's settings import only modules from "
                              "outside it: run the command from another folder")
        if item.endswith(".py") and (inside or not path.is_absolute()):
            raise ConfigError(f"{folder.resolve()}: imports: {item} is {'inside the folder' if inside else 'a relative path'}; a "
                              "folder's settings import only files outside it, named by full path (move it out and "
                              "name it so, if you trust its code)")
        file = untrusted_file(item)  # (an untrusted-files hunt: a downloaded
        if file is not None:  # archive's helpers.py beside its run folder ran unasked)
            what, state = f"{item} ({file})" if str(file) != item else item, untrusted_state(file)
            if why := unrecordable():  # (a locked-down trial: a read-only cache; `aekit models --imports` could not help)
                raise ConfigError(f"{folder.resolve()}: imports: {what} {state}, and aekit's cache cannot record it as "
                                  f"yours ({why}); if you trust it, give this command --imports {shell(item)} (in "
                                  "Python: import it first), or set XDG_CACHE_HOME to a folder that can be "
                                  "written")
            raise ConfigError(f"{folder.resolve()}: imports: {what} {state}; if " + (
                "the change is yours, import it again: " if known(file) else "you trust it, import it once: ") +
                f"aekit models --imports {shell(item)} (or give this command --imports {shell(item)}; in Python, import it "
                "first)")
        warn(f"importing {item}, which {folder}'s imports name (its code runs: read folders you trust)")
        import_models([item], own=False)  # one at a time: the next is checked where this one's import puts the path
        # (a review: a trusted helpers.py beside an evil.py added their folder, and evil ran unchecked)


@one_at_a_time
@leaves_generator
def resume(run_dir: str | Path, *, epochs: int | None = None, time_budget: float | None = None,
           progress: bool | None = None) -> Path:
    """Continue an interrupted run exactly where its last checkpoint left it; or train it longer: to
    `epochs` in all, or (a run with a time budget) to `time_budget` seconds in all. A longer run's
    learning-rate schedule is stretched to its new length, and config.yaml records that length."""
    run_dir = Path(run_dir).expanduser()
    cfg = read_run(run_dir)
    distributed.init()  # before asking who is rank 0 (who holds the folder) and which GPU is this process's
    with ckpt.hold(run_dir) if distributed.is_main() else contextlib.nullcontext():
        return _resume(run_dir, cfg, epochs, time_budget, progress)


def _resume(run_dir: Path, cfg: RunConfig, epochs: int | None, time_budget: float | None, progress: bool | None) -> Path:
    if not (run_dir / ckpt.CHECKPOINT_FILE).is_file():  # said before its data are read (a pruned trial's has none)
        raise ckpt.nothing_to_resume(run_dir)
    check_loggers(cfg.train.log)
    header = ckpt.checkpoint_header(run_dir) or ckpt.read(run_dir / ckpt.CHECKPOINT_FILE)[1]  # (damaged: refused)
    done = int(header.get("epoch") or 0)  # the epochs it has trained (and, stopped inside one, part of the next)
    part = f" and {header['in_epoch']['batches']:,} steps of the next" if isinstance(header.get("in_epoch"), dict) else ""
    budget = cfg.train.time_budget
    if epochs is not None:
        if budget is not None:
            raise ConfigError(f"--epochs: {run_dir} trains for train.time_budget ({budget:g} s), not for a number "
                              "of epochs; resume it without --epochs, or with --time-budget SECONDS to train longer")
        if epochs < 1:
            raise ConfigError(f"--epochs: must be >= 1 (the run's total number of epochs), got {epochs}")
        if epochs < done + bool(part) and done < cfg.train.epochs:  # an unfinished run: ending it there would finish
            raise ConfigError(f"--epochs: {run_dir} has trained {done} of its {cfg.train.epochs} epochs{part}, more "  # it
                              f"than {epochs}; give the run's total, more than {done}, or leave --epochs out to finish "
                              "it (the run is left as it is)")
    if time_budget is not None:
        if budget is None:
            raise ConfigError(f"--time-budget: {run_dir} trains for train.epochs ({cfg.train.epochs}), not for a time "
                              "budget; resume it with --epochs N to train longer")
        ckpt.check_longer_budget(run_dir, time_budget, "--time-budget")
        if float(time_budget) < budget and distributed.is_main():  # (a long-job trial: 410 s given to a run of 700)
            warn(f"--time-budget: {time_budget:g} s in all ends the run before the {budget:g} s it was planned for (the "
                 "seconds given are the run's total; its learning rate falls to its end by then)")
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, time_budget=float(time_budget)))
    if time_budget is None and budget is not None and budget != header.get("train_config", {}).get("time_budget"):
        ckpt.check_longer_budget(run_dir, budget, f"{run_dir / CONFIG_FILE}: train.time_budget")  # edited there:
        time_budget = budget  # a longer one trains on to it, as --time-budget does (a review: "used its budget")
    splits = load_splits(cfg, run_dir, progress=progress)  # (every refusal above comes before the data are read)
    name, keys = cfg.model["name"], {k: v for k, v in cfg.model.items() if k != "name"}
    if any(k in keys for k in ckpt.IGNORED_BEFORE) and name != AUTO:  # an older aekit's run: trained without them
        keys = ckpt.without_ignored(name, {"input_shape": splits[0].sample_shape, **keys}, run_dir / CONFIG_FILE)
        cfg = dataclasses.replace(cfg, model={"name": name, **keys})
    ghost = ckpt.on_meta(lambda: build_model(cfg, splits[0].sample_shape))  # compared before any memory is taken (a
    if ghost is not None:  # files trial: a config edited to hidden [12000, 12000] took 1.5 GB before its refusal)
        ckpt.check_same_model(header, ghost, run_dir / ckpt.CHECKPOINT_FILE)
    model = build_checked(cfg, splits)
    if ghost is None:  # (a model the meta device cannot build) before the run's first line, as fit would
        ckpt.check_same_model(header, model, run_dir / ckpt.CHECKPOINT_FILE)
    if trained := header.get("trained"):  # the weights its optimisers stepped trainable, the others not (aekit.fit's
        stepped = {name for names in trained.values() for name in names}  # training of a model of the user's may have
        for name, param in model.named_parameters():  # frozen some: a hunt; the trainer freezes those frozen since)
            param.requires_grad_(name in stepped)
    target = cfg.train.epochs if epochs is None else epochs
    finished = done >= target and budget is None
    again = " again" if (run_dir / ckpt.METRICS_FILE).is_file() else ""  # (one stopped before its evaluation: not again)
    if finished and distributed.is_main():
        print(f"{run_dir} has already trained {done} epoch{'s' * (done != 1)} (target {target}): nothing to continue; "
              f"`aekit resume {shell(run_dir)} --epochs N` with N > {done} trains longer. Evaluating it{again}.")
    longer = "--time-budget SECONDS` (the run's total)" if budget is not None else f"--epochs N` with N > {done}"
    if cfg.train.time_budget is None:  # the first line says the epochs it trains to (done: nothing to train)
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=max(target, done)))
    if ckpt.callback_stop(header, cfg.train.epochs, cfg.train.time_budget) is not None and not finished:
        finished = True  # a callback ended it (early stopping): a resume to the same length keeps that end (a trial: a
        if distributed.is_main():  # requeued job trained on)
            print(f"{run_dir} was stopped after {done} epoch{'s' * (done != 1)} ({header['stopped'] or 'by a callback'}): "
                  f"nothing to continue; `aekit resume {shell(run_dir)} {longer} trains longer. Evaluating it{again}.")
    elif budget is not None and time_budget is None and ckpt.training_ended(run_dir):
        finished = True  # (its checkpoint is there: checked above)
        if distributed.is_main():
            print(f"{run_dir} has used its time budget ({budget:g} s): nothing to continue; `aekit resume {shell(run_dir)} "
                  f"{longer} trains longer. Evaluating it{again}.")
    return _fit_and_evaluate(cfg, model, splits, run_dir, progress=progress, resume=True, announce=not finished)


PCA_TIE = 0.999  # an error ratio to PCA's from which the autoencoder is not clearly past it
PCA_WORSE = 1.05  # an error this many times PCA's, or more, is said to be worse than PCA's (not "not clearly past")
FEW = 10  # figures measured on fewer samples than this are said to be rough (a trial's 12-row table: "val set, 1 sample")
UNLIKE = 1.5  # PCA's error on the test part against the validation part's from which the test part is said to differ


def squared_error_per_sample(model, x: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """Squared error of each sample's reconstruction, summed over its features (pixels in [0, 1])."""
    return map_batches(model, x, lambda xb: (model(xb).x_hat.float() - xb).reshape(len(xb), -1).pow(2).sum(1),
                       batch_size=batch_size).numpy()


def pca_squared_error(train_x: torch.Tensor, test_x: torch.Tensor, k: int, *, seed: int = 0) -> np.ndarray:
    """The same per-sample squared error for PCA with `k` components fitted on the training data."""
    return PCABaseline(train_x, k, seed=seed).squared_error(test_x)


def differ(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two parts of at least 30 samples differ in their per-sample errors (PCA's): their means by a factor of
    UNLIKE or more, either way, and their ranks past chance (Mann-Whitney, p < 0.001, whatever the errors' tails: a
    review's standard errors of the means, from 30 long-tailed samples, found 6-21% of parts drawn alike to differ)."""
    from scipy.stats import mannwhitneyu

    if min(len(a), len(b)) < 30 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return False
    means = [max(float(e.mean(dtype=np.float64)), 1e-30) for e in (a, b)]
    return abs(math.log(means[0] / means[1])) >= math.log(UNLIKE) and float(mannwhitneyu(a, b).pvalue) < 1e-3


def eval_rows(data: Dataset) -> int:
    """How many samples of a memory-mapped data set `in_memory` reads: EVAL_SAMPLES, fewer for wide ones (EVAL_BYTES)."""
    return min(len(data), EVAL_SAMPLES, max(1, EVAL_BYTES // (4 * math.prod(data.sample_shape))))


def in_memory(data: Dataset, seed: int) -> Dataset:
    """`data` itself, or for a memory-mapped data set a seeded sample of EVAL_SAMPLES (EVAL_BYTES) read into memory."""
    if isinstance(data.x, torch.Tensor):
        return data
    part = data.take(eval_rows(data), seed=seed)
    return Dataset(part.x[:], part.y, part.name, part.classes, part.meta)


def test_metrics(model, train: Dataset, test: Dataset, *, split: str = "test", seed: int = 0,
                 errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """A trained model on `test`: its loss terms, the squared error per sample, and PCA's at the
    model's code size (fitted on `train`) when the code is smaller than the input. `errors`: `sample_errors`'
    of `test`, where the caller has them already."""
    errors = errors if errors is not None else sample_errors(model, train, test, seed=seed)
    in_unit = model.config.recon_loss != "bce" or bool(test.x.min() >= 0 and test.x.max() <= 1)
    # (new samples beyond [0, 1] have no BCE loss; their squared error stands, and the range note says so)
    terms = evaluate(model, test, device=next(model.parameters()).device) if in_unit else {}
    metrics: dict[str, Any] = {
        "n": len(test),
        **{f"{split}_{k}": v for k, v in terms.items()},
        "squared_error_per_sample": float(errors["autoencoder"].mean()),
    }
    if "pca" in errors:
        metrics["pca_code_size"] = errors["pca_code_size"]
        metrics["pca_squared_error_per_sample"] = float(errors["pca"].mean())
        pca = metrics["pca_squared_error_per_sample"]
        spread = float(errors["pca_fit"].spread(test.x).mean()) if "pca_fit" in errors else None
        metrics["pca_exact"] = bool(pca <= 1e-10 * spread if spread is not None else pca < 1e-12)  # (a bug hunt: by an
        # absolute 1e-12, values of 1e-6 read as reconstructed exactly with 42% of their variance left out)
        if metrics["pca_exact"] and spread:  # the scale the model's error reads on, where PCA's is none (a shapes hunt)
            metrics["spread_per_sample"] = spread
    else:
        metrics["pca_skipped"] = errors["pca_skipped"]
    return metrics


def sample_errors(model, train: Dataset, test: Dataset, *, seed: int = 0, pca: PCABaseline | None = None) -> dict[str, Any]:
    """Each sample of `test`'s squared error ("autoencoder"), and PCA's at the model's code size fitted on
    `train` ("pca", with "pca_code_size" and the fit, "pca_fit": an earlier call's, given as `pca`, is used again),
    or why PCA has none ("pca_skipped")."""
    errors: dict[str, Any] = {"autoencoder": squared_error_per_sample(model, test.x)}
    code_size, why_not = pca_size(model, train) if train is not None else (None, "the run's training data could "
                                                                          "not be read (evaluate --data)")
    if code_size is None:
        errors["pca_skipped"] = why_not
    else:
        pca = pca if pca is not None else PCABaseline(train.x, code_size, seed=seed)
        errors |= {"pca_code_size": code_size, "pca": pca.squared_error(test.x), "pca_fit": pca}
    return errors


def pca_size(model, train: Dataset) -> tuple[int | None, str | None]:
    """(the code size PCA's baseline takes for `model`, None), or (None, why it has none)."""
    code_size, features = _code_size(model), train.x[0].numel()
    if code_size is None:  # vq-vae: a few indices into a codebook, not a vector of numbers that PCA's components could match
        return None, (f"model '{model.name}' has no code_size key: its code is not a free vector of numbers (a "
                      "vq-vae's: indices into its codebook)")
    if getattr(model.config, "decoder", None) == "unpool":  # (conv) the pooling indices reach the decoder too
        return None, (f"the unpool decoder also takes the encoder's pooling indices, which carry much of each sample: "
                      f"not a {code_size}-number bottleneck, so PCA-{code_size} is no comparison")
    if len(train) < 2:  # (a bug hunt: a run of one sample trained, then its evaluation raised every time)
        return None, f"{len(train)} training sample: PCA needs at least 2"
    if code_size >= features:  # PCA with as many components as features reconstructs exactly
        return None, (f"code size {code_size} {'>' if code_size > features else '='} {features} input features "
                      f"({'overcomplete' if code_size > features else 'no compression'}): PCA would be exact")
    if code_size > min(len(train), PCA_SAMPLES):  # a conv model's feature map on a small data set
        return None, (f"code size {code_size} > {len(train)} training samples: PCA has at most as many components "
                      "as samples")
    return code_size, None


def _code_size(model) -> int | None:
    code_size = getattr(model.config, "code_size", None)
    if code_size is None and hasattr(model.config, "code_size"):  # conv without a dense code: its feature map
        code_size = getattr(model, "code_size", None)
    return code_size if isinstance(code_size, int) else None


def beyond_range(train: Dataset, x: torch.Tensor, *, seed: int = 0, columns: bool = True) -> torch.Tensor:
    """Which values of `x` (N, D flat) lie outside the training range: [0, 1], where the training file's
    values were mapped onto it (min-max, by the whole file) or came so (a named data set); for data
    standardised, kept as stored or scaled column by column (a column constant in training, such as a flag,
    has no room to vary in [0, 1]), the training part's values' range (a memory-mapped file's: its scan at
    load, of every row), each column's for a table; and where scaling.json keeps the training inputs' range (they
    left [0, 1]: a warm start's, in the units of the run it began from; standardised ones), that range whenever the
    training data are not read for it. `columns`: False where `train` is no training data (the map's alone is known
    then)."""
    flat = x.reshape(len(x), -1)
    scaling = (train.meta or {}).get("scaling")
    saved = (train.meta or {}).get("train_range")  # the training inputs' range, where scaling.json keeps one (beyond
    read = columns and (scaling in ("standard", "none") or scaling == "per column" and isinstance(train.x, torch.Tensor))
    if saved is not None and not read:  # [0, 1]: a warm start's; a memory-mapped table's per column too)
        lo, hi = (torch.as_tensor(end, dtype=torch.float32).reshape(-1) for end in saved)
    elif scaling in ("standard", "none") or (columns and scaling == "per column" and isinstance(train.x, torch.Tensor)):
        lo, hi = value_bounds(train)  # (a memory-mapped file's: every row's ranges, not a sample's)
    else:
        lo, hi = torch.tensor(0.0), torch.tensor(1.0)
    slack = 1e-6 * (hi - lo).abs().clamp(min=1.0)
    return (flat < lo - slack) | (flat > hi + slack)


def _scores_file(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) in (b"row,", b"")  # write_scores' first column (or an empty file, as mktemp makes)


def write_scores(path: Path, test: Dataset, errors: dict[str, Any], codes: np.ndarray | None = None) -> None:
    """A CSV of one row per sample of `test`, in order: its row in the whole file (a split or subset keeps
    it), its file (a folder's: images or texts), its squared reconstruction error (in the model's input units: [0, 1]
    after the run's scaling) and PCA's where `errors` (`sample_errors`) has them, and its label (a class
    name where the data has them): per-sample scores, to rank anomalies by; and `codes` (N, ...) in columns
    code_0, code_1, ... (flattened), for a system downstream."""
    def inert(text: Any) -> Any:  # a name a spreadsheet would run as a formula (=cmd|..., +HYPERLINK): kept as text
        bare = text.lstrip("\t\r\n ") if isinstance(text, str) else text  # (a tab or a line end first: OWASP's
        formula = isinstance(text, str) and (bare[:1] in ("=", "@") or bare[:1] in ("+", "-") and len(bare) > 1  # too)
                                               and not re.fullmatch(r"[-+][\d.eE+-]+", bare))  # (not a sign, a number)
        return f"'{text}" if formula else text

    columns = {"row": np.asarray((test.meta or {}).get("rows", np.arange(len(test)))).tolist()}  # in the whole file
    if "files" in (test.meta or {}):
        columns["file"] = [inert(str(f)) for f in test.meta["files"]]
    columns["squared_error"] = [f"{v:.6g}" for v in errors["autoencoder"].tolist()]
    if "pca" in errors:
        columns["pca_squared_error"] = [f"{v:.6g}" for v in errors["pca"].tolist()]
    if test.y is not None:
        columns["label"] = [inert(test.classes[i]) if test.classes else i for i in test.y.tolist()]  # (a files trial)
    for j, column in enumerate(np.asarray(codes).reshape(len(test), -1).T if codes is not None else ()):
        columns[f"code_{j}"] = [f"{v:.6g}" for v in column.tolist()]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")  # quotes a file name holding a comma
    writer.writerow(columns)
    writer.writerows(zip(*columns.values()))
    atomic_write_text(path, out.getvalue())


def check_generative_options(*, nll_samples: int, quality_samples: int, classifier: str | None) -> None:
    """One-line errors for `generative_metrics`'s settings, before any work."""
    for key, value in (("nll_samples", nll_samples), ("quality_samples", quality_samples)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{key}: must be an integer >= 0 (0 skips it), got {value!r}")
    if classifier is not None and classifier not in CLASSIFIER_DATA:
        raise ConfigError(f"classifier: {classifier!r} is not a data set the feature classifier is trained on; "
                          f"choose one of: {', '.join(CLASSIFIER_DATA)}")


def generative_metrics(
    model, train: Dataset, test: Dataset, *,
    nll_samples: int = NLL_SAMPLES, quality_samples: int = QUALITY_SAMPLES,
    classifier: str | None = FEATURE_CLASSIFIER, classifier_cache: str | Path | None = None,
    seed: int = 0, progress: bool = True, part: str = "test",
) -> dict[str, Any]:
    """The test NLL and sample quality of a trained model, as metrics.json keys (`test` is the run's `part`,
    its lines' word: the validation split of data without a test part).

    "nll": {"nats", "k", "binarized", "n"}, the importance-sampled -log p(x) per test input averaged
    (likelihood.py), for models with a probabilistic decoder; inputs are binarised (seeded) where the
    decoder is Bernoulli (recon_loss bce), as in Burda et al., and then it is skipped for inputs far from
    binary (likelihood.GREY_FOR_NLL) unless the model trained on binarised ones (`binarize`).
    "sample_quality": {"frechet_distance", "precision", "recall", "n_samples", "classifier_sha256",
    "classifier", "sampler"}, min(quality_samples, test size) generated images against as many test
    images in the feature space of the cached classifier (quality.py; `classifier`, by default the one of the
    model's training data where there is one: mnist, mnist-mini, fashion-mnist, kmnist; else mnist's), for
    MNIST-like 1x28x28 data;
    models without `sample(n)` generate through an ex-post Gaussian mixture on their training codes.
    Where a measure does not apply, "nll_skipped" / "sample_quality_skipped" say why in one line;
    with 0 samples it is left out without a word.
    """
    from ..analysis.density import generate, why_no_samples  # scikit-learn: imported when needed

    check_generative_options(nll_samples=nll_samples, quality_samples=quality_samples, classifier=classifier)
    own = (train if train is not None else test).name  # the data the model generates like
    classifier = classifier or (own if own in CLASSIFIER_DATA else OTHER_CLASSIFIER)
    metrics: dict[str, Any] = {}
    clf, n = None, min(quality_samples, len(test))
    if quality_samples:  # the cheap checks and the classifier first: nothing fails after the NLL's minutes
        reason = why_no_samples(model) or why_no_sample_quality(test.x)
        if reason is None and train is None:
            reason = "the run's training data could not be read (generating draws on its codes)"
        if reason is None and n <= QUALITY_NEIGHBOURS:
            reason = f"{n} images: precision and recall need more than {QUALITY_NEIGHBOURS}"
        if reason is None:
            if not is_cached(classifier, cache_dir=classifier_cache):
                print(f"training the feature classifier on {classifier} (once, to be cached in "
                      f"{classifier_files(classifier, cache_dir=classifier_cache)[0].parent})", flush=True)
            try:
                clf = feature_classifier(classifier, cache_dir=classifier_cache)
            except DataNotFoundError as err:
                reason = f"no feature classifier ({err}); --classifier mnist-mini uses the digits shipped with aekit"
        if reason is not None:
            metrics["sample_quality_skipped"] = reason
    if nll_samples:
        reason = why_no_likelihood(model, test.x)  # (binarising grey inputs would measure other data)
        binary = reason is None and model.config.recon_loss == "bce"
        if reason is not None:
            metrics["nll_skipped"] = reason
        else:
            # on a CPU, 20 inputs x 100 draws = 2,000 decoded images a pass ran 2.4x faster than the
            # default 100 x 500 (a 200-200-50 VAE, one thread): the work stays in the caches
            sizes = {"batch_size": 20, "chunk": 100} if model_device(model).type == "cpu" else {}
            if progress:  # minutes, and the bar shows on a terminal only: a log file is told too
                print(f"estimating the {part} NLL of {len(test):,} samples ({nll_samples:,} draws each) ...", flush=True)
            nll = importance_sampled_nll(model, test.x, k=nll_samples, binary=binary, seed=seed, progress=progress,
                                         **sizes)
            metrics["nll"] = {"nats": float(nll.mean()), "k": nll_samples, "binarized": binary, "n": len(nll)}
    if clf is not None:
        if progress:
            print(f"generating {n:,} samples and scoring them against as many {part} samples ...", flush=True)
        samples, how = generate(model, n, train=in_memory(train, seed), seed=seed)
        low, high = float(samples.min()), float(samples.max())
        clipped = (f"the samples range over [{low:.3g}, {high:.3g}]; they were clipped to [0, 1], "
                   "as saved images would be") if low < 0 or high > 1 else None
        quality = sample_quality(samples.clamp(0, 1), test.x[pick(len(test), n)], clf, k=QUALITY_NEIGHBOURS)
        note = "; ".join(filter(None, (clipped, other_data(train.name, classifier, setting="--classifier "))))
        metrics["sample_quality"] = {**quality.as_dict(), "classifier": classifier, "sampler": how, "note": note}
    return metrics


def evaluate_run(
    run_dir: str | Path, *, model=None, write: bool = True, splits=None,
    nll_samples: int = NLL_SAMPLES, quality_samples: int = QUALITY_SAMPLES,
    classifier: str | None = FEATURE_CLASSIFIER, classifier_cache: str | Path | None = None, progress: bool = True,
    data: str | Path | None = None, scores: str | Path | None = None, codes: bool = False,
) -> dict[str, Any]:
    """Test metrics of a run next to PCA's at the same code size, and the test NLL and sample
    quality where they apply (`generative_metrics`; 0 samples skip each); writes metrics.json and a picture.

    splits: (train, val, test) already loaded and checked by `train`/`resume`; else loaded and checked here.
    data: the metrics on other samples in place of the test part, writing nothing: a file (scaled as the
    run's data file was, by its scaling.json; else by the run's data.scale) or a named data set's test part.
    scores: a CSV file to write each evaluated sample's squared error into (`write_scores`); `codes`: its code too.
    """
    check_generative_options(nll_samples=nll_samples, quality_samples=quality_samples, classifier=classifier)
    scores = None if scores is None else Path(scores).expanduser()
    if scores is not None and (Path(scores).is_dir() or Path(scores).suffix.lower() != ".csv"):
        raise ConfigError(f"--scores: {scores} must name a .csv file to write (one row per sample)")
    if scores is not None and Path(scores).is_file() and not _scores_file(Path(scores)):  # never a data file
        raise ConfigError(f"--scores: {scores} is there and is not a scores file aekit wrote; give a new file name")
    if codes and scores is None:
        raise ConfigError("--codes: writes each sample's code beside its score; give --scores FILE.csv too")
    if scores is not None:  # (a bug hunt: a read-only disk refused after the NLL's minutes)
        check_writable(scores)
    if classifier_cache is not None and classifier is not None and quality_samples and not is_cached(
            classifier, cache_dir=classifier_cache):  # one given that cannot be written: never a classifier trained
        check_writable(classifier_files(classifier, cache_dir=classifier_cache)[0])  # again at every call unsaid
    run_dir = Path(run_dir).expanduser()
    cfg = read_run(run_dir)
    label = None
    if data is not None:  # read (and refused) before any other work; nothing is written
        say_reading(str(data), progress)
        train, other = load_other(cfg, run_dir, str(data), progress=progress)
        splits, label = (train, None, other), other.name
    # a read-only folder says so; evaluating: load_model in it says "aekit resume" (a lab's trial: "training now")
    with ckpt.hold(run_dir, evaluating=True) if write and data is None else contextlib.nullcontext():
        return _evaluate_run(run_dir, cfg, model, write and data is None, splits, label, scores, codes, nll_samples=nll_samples,
                             quality_samples=quality_samples, classifier=classifier, classifier_cache=classifier_cache,
                             progress=progress)


def load_other(cfg: RunConfig, run_dir: Path, name: str, *, progress: bool = False) -> tuple[Dataset, Dataset]:
    """(the run's training part, for PCA's baseline; the samples `name` to evaluate the run on): a file
    scaled exactly as the run's training file was (its scaling.json, else that file's map read again), or a
    folder of texts in its vocabulary, its test part where it has one (an npz's x_test, a test/ folder); or a
    named data set's test part."""
    saved = read_unit_map(run_dir)
    try:
        if cfg.data.name is None and saved is not None:  # (a production trial: aekit.fit on part of a data set)
            raise DataError(f"{run_dir / CONFIG_FILE} names none in data.name")
        train = load_data(cfg, run_dir, progress=progress)[0]
    except DataError as err:
        if saved is None:  # nothing else says how its samples became inputs
            raise DataError(f"--data: the run's training data, which says how to read new samples, cannot be read: "
                            f"{err}") from None
        warn(f"--data: the run's training data cannot be read ({err}); the samples are read by its "
             "scaling.json, without PCA's baseline (or, where it keeps no range of the training inputs, a check of "
             "their range for standardised data)")
        train = None
    if name in list_datasets():
        other, words = load_dataset(name, "test"), (saved or {}).get("vocabulary")
        theirs = data_map(other) or {}
        if words and (list(theirs.get("vocabulary") or ()) != list(words) or (theirs.get("idf") is None) != (saved["idf"] is None)):
            raise DataError(f"--data {name}: the run reads texts in its own vocabulary ({len(words):,} words, its "  # (a bug
                            f"{SCALING_FILE}), and {name} comes in another; give its texts as a folder, which is read "  # hunt:
                            "in the run's")  # scored in the wrong words, unsaid)
        return train, other
    if not Path(name).expanduser().exists() and not Path(name).suffix and os.sep not in name and "/" not in name:
        raise DataError(f"--data {name}: neither a data set aekit knows (`aekit datasets` lists them; one of your own: "
                        "--imports FILE.py) nor a file here")  # (an own-data-set hunt: "does not exist; give a .npy")
    run_map = saved or data_map(train)  # data_map: a run from before scaling.json
    options = dict(scale=cfg.data.scale, layout=cfg.data.layout, run_map=run_map, progress=progress)  # run_map None: a named set's run
    try:
        other = load_path(name, split="test", **options)
        other.name = f"{name} (its test part)"
    except NoTestSplitError:
        other = load_path(name, **options)
        other.name = name
    if run_map is None:  # a named data set's run: nothing says how its values were scaled but [0, 1]
        other.meta = {**other.meta, "note": f"{name} was scaled to [0, 1] by its own values (data.scale "
                      f"{cfg.data.scale}): {cfg.data.name} comes in [0, 1] and saves no map, so give floats in [0, 1] "
                      "scaled as its samples are (floats in [0, 1] are kept as they are)"}
    return train, other


def _evaluate_run(run_dir: Path, cfg: RunConfig, model, write: bool, splits, label: str | None = None,
                  scores: str | Path | None = None, codes: bool = False, **options) -> dict[str, Any]:
    """`label`: what splits' test part is, when it is not the run's own (evaluate --data)."""
    if model is None:
        model = ckpt.load_model(run_dir)
    model.eval()
    if splits is None or label is not None:
        splits = splits or load_splits(cfg, run_dir, progress=options["progress"])
        check_splits(model, splits, scored=label is not None)
        trained_on = ckpt.checkpoint_header(run_dir).get("data")  # (a production trial: a file rewritten alike, unsaid)
        if trained_on and splits[0] is not None and data_print(splits[0].x, splits[0].y) != trained_on:
            warn(f"{cfg.data.name}: its training part is not the one {run_dir} trained on (as many samples, other ones: "
                 "rewritten since?): the PCA line is fitted to these, and a validation split drawn from them is not held "
                 "out; `aekit evaluate RUN --data FILE` scores a file of new data against the run's own")
    train_data, val_data, test = splits
    split = label or "test"
    if test is None:
        test, split = val_data, "val"
    if test is None:  # no test split and nothing held out: say so, and report the training data
        test, split = train_data, "train"
    mapped = not isinstance(test.x, torch.Tensor)
    if options["progress"]:  # what, where it takes a while (a memory trial: 48 s said nothing)
        rows = eval_rows(test)
        some = f"a seeded {rows:,} of its " if mapped and rows < len(test) else ""
        part = f"the {split} part" if split in ("test", "val", "train") else split
        long = mapped or test.x.numel() > EVAL_SAID_VALUES
        print(f"evaluating{f' {part} ({some}{len(test):,} samples)' if long else ''} ...", flush=True)
    whole, test = test, in_memory(test, cfg.train.seed)
    errors = sample_errors(model, train_data, test, seed=cfg.train.seed)
    metrics = {"split": split, **test_metrics(model, train_data, test, split=split, seed=cfg.train.seed, errors=errors)}
    val_errors = None  # the validation part's, where measured below
    if split == "test" and val_data is not None:  # the figure to choose settings by, the test part's left alone (a
        # search trial: a tuner over the command read metrics.json's test figures, the only ones there)
        val_part = in_memory(val_data, cfg.train.seed)
        # at or above PCA on the test part: on the validation part too? (a trial's test images, other than its
        # training ones, read "did not take the model clearly past PCA")
        if "pca" in errors and metrics["squared_error_per_sample"] >= PCA_TIE * metrics["pca_squared_error_per_sample"]:
            val = sample_errors(model, train_data, val_part, pca=errors["pca_fit"])
            metrics["val_against_pca"] = {"n": len(val["pca"]), "autoencoder": float(val["autoencoder"].mean()),
                                          "pca": float(val["pca"].mean()), "differ": differ(errors["pca"], val["pca"])}
            val_errors = val["autoencoder"]
        else:
            val_errors = squared_error_per_sample(model, val_part.x)
        metrics["val"] = {"n": len(val_errors), "squared_error_per_sample": float(np.mean(val_errors))}
    elif split == "val":  # scored on it already (no test part): the same figure, where a search reads it (a review)
        metrics["val"] = {"n": metrics["n"], "squared_error_per_sample": metrics["squared_error_per_sample"]}
    if label is None and errors["autoencoder"].size:  # what new samples are read against (evaluate --data): normal
        # ones, the validation part, else the training part (a test part may hold the anomalies: MVTec's test/ defects)
        kind, held = split, errors["autoencoder"]  # the validation or training part measured, where there is no test
        if split == "test":
            kind, part = ("val", val_data) if val_data is not None else ("train", train_data)
            if kind == "val" and len(part) <= TYPICAL_SAMPLES:  # the same samples as `val` above: not scored again
                held = val_errors
            else:
                held = squared_error_per_sample(model, in_memory(part.take(TYPICAL_SAMPLES, seed=cfg.train.seed),
                                                                 cfg.train.seed).x)  # (a review: 60,000 took 2.3 s)
        metrics["typical_error"] = {"split": kind, "n": len(held), "median": float(np.median(held)),
                                    "p99": float(np.percentile(held, 99))}
    if label is not None:  # new data beside the run's own figure, so drift shows (a production trial: 42x, unsaid)
        with contextlib.suppress(OSError, ValueError, RecursionError, TypeError, KeyError):
            own = json.loads((run_dir / ckpt.METRICS_FILE).read_text(encoding="utf-8"))
            metrics["run_error"] = {"split": str(own["split"]), "value": float(own["squared_error_per_sample"])}
            typical = own.get("typical_error")
            if isinstance(typical, dict) and typical.get("median", 0) > 0:  # (an anomaly trial: a file of normal rows
                # and a few faults read as "drift", its mean raised by the faults; a folder of defects alone did not)
                metrics["run_error"] |= {"typical": typical, "median": float(np.median(errors["autoencoder"])),
                                         "above_p99": float((errors["autoencoder"] > typical["p99"]).mean())}
    reference = train_data if train_data is not None else test  # without the training data (--data): the map's units
    scaling = (reference.meta or {}).get("scaling")
    # the training range: [0, 1] for data a map took there (no training data needed), else the training part's
    checkable = (label is not None or split == "test") and (
        train_data is not None or scaling not in ("standard", "none") or "train_range" in (reference.meta or {}))
    outside = beyond_range(reference, test.x, seed=cfg.train.seed, columns=train_data is not None) if checkable else None
    if label is not None and "note" in (test.meta or {}):
        metrics["note"] = test.meta["note"]
    if outside is not None and outside.any():  # samples it did not train on: say where they leave its range
        names, counts = (test.meta or {}).get("columns"), outside.sum(0)
        if not names and test.x.ndim == 2:  # a table without a header (an .npy, .npz): by number (a quality trial)
            names = [f"column {i}" for i in range(test.x.shape[1])]
        channels = test.x.shape[2] if is_signal(tuple(test.x.shape[1:])) else 1  # C x T signals: by channel (a quality
        if not names and channels > 1:  # trial: unnamed)
            names, counts = [f"channel {c}" for c in range(channels)], counts.reshape(channels, -1).sum(1)
        most = [names[i] for i in counts.argsort(descending=True)[:3].tolist() if counts[i]] if names else []
        metrics["outside"] = (f"{int(outside.any(1).sum())} of {len(test)} samples have values outside the training "
                              f"range{' (most in ' + ', '.join(map(repr, most)) + ')' if most else ''}")
    if scaling in ("per column", "one range", "standard", "none"):  # errors are in those units: say so (none: as
        metrics["scaling"] = scaling  # stored; one range: [0, 1] by the training values' range, which export --raw undoes)
    metrics |= generative_metrics(model, train_data, test, seed=cfg.train.seed, part=split, **options)
    if write:  # which run, for scripts that gather runs' metrics.json (a lab's trial: rows no one could tell apart)
        metrics["run"] = {"model": model.name, "code_size": model.code_size, "data": cfg.data.name}
        metrics["training"] = training_summary(run_dir)
        metrics |= kept_measures(run_dir, metrics, nll=not options["nll_samples"], quality=not options["quality_samples"])
    try:  # the figures first, then the files: a full disk loses none of them (an environment trial: --scores did)
        if write:
            atomic_write_text(run_dir / ckpt.METRICS_FILE, json.dumps(metrics, indent=1))
            if "mlflow" in cfg.train.log:
                log_results(run_dir, metrics)
        if write and "representation" not in (test.meta or {}):  # test samples above their reconstructions (not texts)
            from ..analysis import plots
            from ..analysis.latent import reconstruction_grid

            with plots.unshown():  # (a run's own picture: Jupyter shows none of it)
                plots.save_figure(reconstruction_grid(model, test, n=10)[-1], run_dir / "reconstructions.png")
        if scores is not None:  # every sample, in order: a memory-mapped set's whole, without PCA's, beside the sample
            write_scores(Path(scores), whole, errors if whole is test else
                         {"autoencoder": squared_error_per_sample(model, whole.x)},
                         codes=model.encode_array(whole.x) if codes else None)  # (a production trial: no CLI gave codes)
    except OSError as err:  # a full disk: the CLI prints the figures all the same
        err.metrics = metrics
        raise
    return metrics


KEPT = "kept_from_earlier_evaluate"  # metrics.json: the measures carried over from the last evaluate


def kept_measures(run_dir: Path, metrics: dict[str, Any], *, nll: bool, quality: bool) -> dict[str, Any]:
    """The test NLL (`nll`) and sample quality (`quality`) that the run's metrics.json holds from an earlier
    evaluate of the same weights (the same epochs, steps and kept epoch) on the same samples (their number and
    the autoencoder's error on them), for measures this one skipped (0 samples): a quick evaluate does not erase
    a half-hour NLL. A run trained on, or other test samples, measure them again."""
    try:
        old = json.loads((run_dir / ckpt.METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    same = ("epochs", "steps", "kept_epoch")
    error = old.get("squared_error_per_sample") if isinstance(old, dict) else None
    if not isinstance(error, (int, float)) or old.get("split") != metrics["split"] or old.get("n") != metrics["n"] or any(
            (old.get("training") or {}).get(k) != metrics["training"][k] for k in same):
        return {}
    if not math.isclose(error, metrics["squared_error_per_sample"], rel_tol=1e-5):  # other test samples (or other data)
        return {}
    keys = [key for key, skipped in (("nll", nll), ("sample_quality", quality)) if skipped and key in old]
    return {key: old[key] for key in keys} | ({KEPT: keys} if keys else {})


def training_summary(run_dir: Path) -> dict[str, Any]:
    """How the run was trained, from its history.json, for scripts that gather runs: epochs, steps, seconds,
    the epoch restore_best kept, the file whose weights were measured (a checkpoint: of a run stopped before its
    end), the CPU thread counts it trained at, the versions that evaluated it (results move with them, and with
    threads) and the aekit that trained it."""
    import torch

    from .. import __version__

    header, final = ckpt.checkpoint_header(run_dir), ckpt.final_training(run_dir)
    history = _read_json(run_dir / ckpt.HISTORY_FILE)  # cut short or emptied: the checkpoint's copy (a files hunt:
    if not (isinstance(history, dict) and isinstance(history.get("epoch"), list)):  # "epochs: 0", unsaid)
        history = header.get("history") if isinstance(header.get("history"), dict) else {}
    steps = [s for s in history.get("step", []) if s is not None]
    if ckpt.model_file(run_dir).name == ckpt.CHECKPOINT_FILE and isinstance(header.get("global_step"), int):
        steps.append(header["global_step"])  # the weights measured: a stop's checkpoint may be inside an epoch
    # a budget's clock, as its last line says (a long-job trial): the finished model's, else the checkpoint's
    spent = final.get("seconds") if final.get("seconds") is not None else (header.get("budget") or {}).get("spent")
    epochs = len(history.get("epoch", [])) or ckpt.file_header(run_dir / ckpt.MODEL_FILE).get("trained_epochs") or 0
    return {"epochs": epochs, "steps": steps[-1] if steps else None,  # (no checkpoint and no history: the model's own)
            "seconds": round(spent if isinstance(spent, (int, float)) else sum(history.get("time", [])), 2),
            "kept_epoch": ckpt.kept_epoch(run_dir),
            "weights": ckpt.model_file(run_dir).name, "aekit": __version__, "torch": torch.__version__,
            "threads": header.get("threads", final.get("threads")),
            "trained_with": (header or ckpt.file_header(run_dir / ckpt.MODEL_FILE)).get("aekit_version"),
            **({"init_from": source} if isinstance(source := _read_json(run_dir / ckpt.INIT_FILE), dict) else {})}


def _read_json(path: Path) -> Any:
    """A JSON file's value, or None where it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def kept_by_validation(metrics: dict[str, Any]) -> bool:
    """Whether the weights measured are of the epoch restore_best chose on the validation part (not a stopped run's
    checkpoint weights, which nothing chose: a review)."""
    training = metrics.get("training") if isinstance(metrics.get("training"), dict) else {}
    return training.get("kept_epoch") is not None and training.get("weights") != ckpt.CHECKPOINT_FILE


def pca_note(metrics: dict[str, Any]) -> str:
    """What metrics.json's figures say where the autoencoder is not clearly past PCA on the run's own data ("" where it
    is, or there is no PCA figure): by how much, and, from `val_against_pca`, on the validation part too and whether
    the test part differs from it."""
    pca, split = metrics.get("pca_squared_error_per_sample"), metrics.get("split")
    if not isinstance(pca, (int, float)) or not isinstance(split, str):  # (evaluate --data's too: a quality trial saw
        return ""  # a model 3.8% above PCA on another photograph's patches, unsaid)
    error = metrics["squared_error_per_sample"]
    ratio = error / pca if pca > 0 else math.inf if error > 0 else 1.0  # (no floor: errors of small units are small)
    if not ratio >= PCA_TIE:
        return ""
    above = 100 * (ratio - 1)  # (a trial read "1 times PCA's error" for 1.0022; a review "1e+02%" for 1.996)
    how = ("within 0.1% of PCA's error" if ratio < 1.001 else f"{percent(above)} above PCA's error" if ratio < 2
           else f"{ratio:.3g} times PCA's error")
    exact = metrics.get("pca_exact", pca < 1e-12)  # (a trial's 3 texts: "7.37e+25 times"; before 2026-12-07 by 1e-12)
    spread = metrics.get("spread_per_sample")  # (the samples' squared distance from their mean: PCA-0's error)
    off = exact and isinstance(spread, (int, float)) and error > 0.01 * spread  # (a shapes hunt: 10 samples of 5,000
    if exact:  # values, a model trained from PCA's exact start to 19.2, said as a tie)
        how = "PCA reconstructs these samples exactly (they vary in no more directions than its code holds)" + (
            f", and the model leaves {percent(100 * error / spread)} of their spread about their mean" if off else "")
    worse = ratio >= PCA_WORSE and (not exact or off)  # (a trial read "38% above ... not clearly past" as a tie)
    if split not in ("test", "val", "train"):  # evaluate --data: other samples than the run's own
        return f"{how}: PCA, fitted on the run's training data, serves these samples better" if worse else (
            f"{how} on these samples")
    val = metrics.get("val_against_pca") or {}
    if not (val and val["autoencoder"] < PCA_TIE * val["pca"]):
        return f"{how}: {'PCA serves these samples better; ' if worse else ''}this training did not take the model " \
               f"{'past it' if worse else 'clearly past PCA'}"
    below = 100 * (1 - val["autoencoder"] / max(val["pca"], 1e-30))  # below PCA on the validation part: said, and
    times = pca / max(val["pca"], 1e-30)  # whether the parts differ (a trial's test images: other ones)
    how += (f"; on the validation part ({val['n']:,} sample{'s' * (val['n'] != 1)}"
            f"{', which chose the epoch kept' if kept_by_validation(metrics) else ''}) it is {percent(below)} below PCA's")
    if val.get("differ"):  # "3.27 times", "1/3 of" (not "0.33 times")
        of = f"{times:.{'2f' if times < 10 else '0f'}} times" if times >= 1 else f"1/{1 / times:.{'2g' if times > 0.1 else '0f'}} of"
        return (f"{how}, and PCA's error on the test part is {of} its error there: the test samples differ from the "
                "training data, and the model's gain over PCA does not carry over to them")
    if worse:  # (a quality trial: 2.62 times PCA's error on another photograph read as a tie)
        return f"{how}: PCA serves the test samples better; the model's gain on the validation part does not carry over"
    return f"{how}: this training did not take the model clearly past PCA on the test part"


def percent(value: float) -> str:
    """0.22%, 6.1%, 36%, 100%."""
    return f"{value:.{'2g' if value < 9.95 else '0f'}}%"


def split_note(metrics: dict[str, Any], *, counted: bool = False) -> str:
    """What the figures of a run without a test part are worth, and of any measured on fewer than FEW samples, in
    brackets ("" for others): the printed summary's (`counted`: its line says the count already) and the report's
    (an image trial: the report left it out)."""
    notes, n = [], metrics.get("n")
    if metrics.get("split") == "train":
        notes.append("no test split and data.val_fraction is 0: these are samples it was trained on")
    elif metrics.get("split") == "val" and kept_by_validation(metrics):  # (a trial)
        notes.append("no test split: the samples that chose the epoch restore_best kept, so a little optimistic")
    if isinstance(n, int) and 0 < n < FEW:  # (a trial's 12-row table: "val set, 1 sample", read as any other figure)
        few = "too few" if counted else f"measured on {n} sample{'s' * (n != 1)} only: too few"
        notes.append(f"{few} for these figures to say much")
    return f" ({'; '.join(notes)})" if notes else ""


def error_text(value: float) -> str:
    """An error figure as evaluate and the report print it: below 1 (tables) 4 digits, 0.08012 and 8.480e-08, not 0.080
    or 0.000; huge ones too, 5.540e+53, not 54 digits; trailing zeros kept, so two figures show alike (0.0003940 beside
    0.0003943, not 0.000394: a trial)."""
    if 1 <= abs(value) < 1e7:
        return f"{value:.3f}"
    return f"{value:#.4g}" if math.isfinite(value) else f"{value}"


def format_metrics(metrics: dict[str, Any]) -> str:
    note = split_note(metrics, counted=True)
    split = metrics["split"]
    lines = [f"{f'{split} set' if split in ('train', 'val', 'test') else split}, {metrics['n']} sample"
             f"{'s' * (metrics['n'] != 1)}{note}"]
    if metrics.get("scaling") == "per column":
        lines.append("  inputs: each column scaled to [0, 1] by its training range (for one range: data.scale=global "
                     "or minmax)")
    elif metrics.get("scaling") == "standard":
        lines.append("  inputs: standardised by the training mean and deviation (of each column, for a table)")
    lines += [f"  note: {metrics[key]}" for key in ("note", "outside") if key in metrics]
    lines.append(f"  squared error per sample (autoencoder): {error_text(metrics['squared_error_per_sample'])}")
    if "pca_squared_error_per_sample" in metrics:
        lines.append(
            f"  squared error per sample (PCA-{metrics['pca_code_size']}):    {error_text(metrics['pca_squared_error_per_sample'])}"
        )
        if note := pca_note(metrics):
            lines.append(f"  note: {note}")
    elif "pca_skipped" in metrics:
        lines.append(f"  no PCA comparison: {metrics['pca_skipped']}")
    if "run_error" in metrics and "typical" in metrics["run_error"]:  # by medians: a few anomalies move a mean
        own = metrics["run_error"]
        typical, ratio = own["typical"], own["median"] / own["typical"]["median"]
        lines.append(f"  the median error of the run's own {typical['split']} samples (metrics.json): "
                     f"{error_text(typical['median'])}; these samples': {error_text(own['median'])}, {ratio:.3g} times "
                     f"it" + (": most are unlike the data it trained on (drift, or another kind of data)" if ratio >= 2
                              else ""))
        rough = f" (of {typical['n']:,}: a rough percentile)" if typical.get("n", 100) < 100 else ""  # (a review: 11%
        lines.append(f"  {percent(100 * own['above_p99'])} of these samples score above the 99th percentile of the "  # of 20)
                     f"run's own {typical['split']} samples ({error_text(typical['p99'])}){rough}")
    elif "run_error" in metrics and metrics["run_error"]["value"] > 0:  # a metrics.json of before 2026-12-07
        own = metrics["run_error"]
        ratio = metrics["squared_error_per_sample"] / own["value"]
        lines.append(f"  the run's own {own['split']} error (metrics.json): {error_text(own['value'])}" + (
            f"; these samples' is {ratio:.3g} times it: unlike the data it trained on (drift, or another kind of "
            "data)" if ratio >= 2 else ""))
    if "nll" in metrics:  # (on the split measured: a trial read "test" of a validation split)
        nll = metrics["nll"]
        data = f"seeded binarisation of the {split} inputs" if nll["binarized"] else f"the {split} inputs as they are, {gaussian_nll(metrics.get('scaling'))}"
        lines.append(f"  {split} NLL: {nll['nats']:.2f} nats per sample (k = {nll['k']:,} importance samples, {data})")
    if "sample_quality" in metrics:
        q = metrics["sample_quality"]
        lines.append(f"  sample quality: Fréchet distance {q['frechet_distance']:.4g} (lower is nearer the {split} samples), "
                     f"precision {q['precision']:.3f}, "
                     f"recall {q['recall']:.3f} ({q['n_samples']:,} samples from {q['sampler']})")
        lines.append(f"    feature classifier: {q['classifier']}, SHA-256 {q['classifier_sha256']} (figures compare "
                     "only under one checksum)")
        if q.get("note"):
            lines.append(f"    note: {q['note']}")
        if read := reading(q["precision"], q["recall"]):
            lines.append(f"    read: {read}")
    for key, what in (("nll_skipped", f"no {split} NLL"), ("sample_quality_skipped", "no sample quality")):
        if key in metrics:
            lines.append(f"  {what}: {metrics[key]}")
    if metrics.get(KEPT):
        names = " and ".join({"nll": "the NLL", "sample_quality": "the sample quality"}[k] for k in metrics[KEPT])
        lines.append(f"  ({names} kept from an earlier evaluate of these weights: 0 samples did not measure "
                     f"{'them' if len(metrics[KEPT]) > 1 else 'it'} again)")
    return "\n".join(lines)


DEMO_CONFIG: dict[str, Any] = {
    # Hinton & Salakhutdinov (2006)'s deep MNIST autoencoder on the bundled 10,000 digits. ELU hidden
    # units: on this data they reached test squared error 8.1 in 20 epochs where ReLU reached 14.7.
    "model": {"name": "dense", "hidden": [1000, 500, 250], "code_size": 30, "activation": "elu"},
    "data": {"name": "mnist-mini", "val_fraction": 0.1},
    "train": {"epochs": 30, "batch_size": 64, "lr": 1e-3, "lr_schedule": "cosine", "optimizer": "adam", "seed": 0},
    "output": {"dir": "runs", "name": None},
}
