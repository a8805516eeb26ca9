"""The classic experiments as named, configured runs: `aekit experiment list|run NAME [key=value ...]`.

An experiment is a function decorated with `@register_experiment(name, summary, defaults)`. It
receives its validated settings (the defaults updated by the user's overrides) and a fresh run
folder, writes its results there (pictures, a table, histories), and returns a dict of headline
results; `run_experiment` then adds experiment.yaml, results.json and report.html (aekit.apps.report).
Every experiment has full-size defaults and a `tiny` preset that runs end to end in seconds for
tests (`aekit experiment run NAME --tiny`). Every module in this package is imported so that its
experiments register themselves.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...config import apply_overrides
from ...errors import ConfigError
from ...training.checkpoint import atomic_write_text


@dataclass(frozen=True)
class Experiment:
    name: str
    fn: Callable[[dict[str, Any], Path], dict[str, Any]]
    summary: str
    defaults: dict[str, Any]  # full-size settings
    tiny: dict[str, Any] = field(default_factory=dict)  # overrides that make it run in seconds


_EXPERIMENTS: dict[str, Experiment] = {}


def register_experiment(name: str, summary: str, *, defaults: dict[str, Any], tiny: dict[str, Any]):
    def deco(fn):
        _EXPERIMENTS[name] = Experiment(name, fn, summary, defaults, tiny)
        return fn

    return deco


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


def settings(name: str, overrides: list[str] = (), *, tiny: bool = False) -> dict[str, Any]:
    """The experiment's defaults, then its tiny preset, then `key=value` overrides; unknown keys refused."""
    exp = experiment(name)
    values = json.loads(json.dumps(exp.defaults))  # a deep copy
    if tiny:
        values.update(json.loads(json.dumps(exp.tiny)))  # a deep copy too: overrides must not edit the preset
    before = set(_flat_keys(values))
    apply_overrides(values, list(overrides))
    for key in _flat_keys(values):
        if key not in before:
            raise ConfigError(
                f"experiment {name}: unknown setting '{key}'; allowed: {', '.join(sorted(before))}"
            )
    return values


def _flat_keys(d: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for k, v in d.items():
        if isinstance(v, dict) and v:
            keys.extend(_flat_keys(v, f"{prefix}{k}."))
        else:
            keys.append(f"{prefix}{k}")
    return keys


def run_experiment(
    name: str, overrides: list[str] = (), *, out_dir: str | Path = "runs", tiny: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Run experiment `name`; returns its run folder and headline results."""
    exp = experiment(name)
    values = settings(name, overrides, tiny=tiny)
    run_dir = Path(out_dir) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = Path(out_dir) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{suffix}"
    run_dir.mkdir(parents=True)
    atomic_write_text(run_dir / "experiment.yaml", yaml.safe_dump({"experiment": name, "settings": values}, sort_keys=False))
    try:
        results = exp.fn(values, run_dir)
    except BaseException:
        if [p.name for p in run_dir.iterdir()] == ["experiment.yaml"]:  # it failed before writing anything
            shutil.rmtree(run_dir)
        raise
    atomic_write_text(run_dir / "results.json", json.dumps(results, indent=1, default=float))
    from ..report import write_report

    write_report([run_dir], run_dir / "report.html", title=f"aekit experiment: {run_dir.name}")
    return run_dir, results
