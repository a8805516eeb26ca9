"""Model registry: `@register_model("name")` on an Autoencoder subclass, `create_model`, `list_models`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import build
from .errors import ConfigError

if TYPE_CHECKING:
    from .models.base import Autoencoder


@dataclass(frozen=True)
class ModelEntry:
    name: str
    cls: type
    summary: str  # the docstring's first line: the idea of the model
    kind: str = "autoencoder"  # or "classifier" (an encoder with a head, trained on labels), or
    # "semi-supervised" (a classifier trained on labels of which most are -1: unknown)


_MODELS: dict[str, ModelEntry] = {}


def register_model(name: str, *, kind: str = "autoencoder"):
    """Class decorator: register a model class (with a `Config` dataclass) under `name`."""

    def deco(cls):
        if name in _MODELS and _MODELS[name].cls is not cls:
            raise ValueError(f"model {name!r} is registered twice")
        doc = (cls.__doc__ or "").strip().splitlines()
        cls.name = name
        _MODELS[name] = ModelEntry(name, cls, doc[0] if doc else "", kind)
        return cls

    return deco


def _ensure_loaded() -> None:
    from . import models  # noqa: F401  (importing registers every model)


def list_models(kind: str = "autoencoder") -> list[str]:
    """The registered models of `kind`: the autoencoders, "classifier" or "semi-supervised"."""
    _ensure_loaded()
    return sorted(name for name, entry in _MODELS.items() if entry.kind == kind)


def model_entry(name: str) -> ModelEntry:
    _ensure_loaded()
    if name == "auto":  # not a model: aekit train's and the estimators' choice from the data
        raise ConfigError("model: 'auto' is chosen from the data by `aekit train` and the scikit-learn estimators; in "
                          "Python, aekit.apps.run.auto_model({'name': 'auto'}, sample_shape, n_samples) gives its keys "
                          "(create_model(keys.pop('name'), **keys)), or name a model: " + ", ".join(sorted(_MODELS)))
    if name not in _MODELS:
        raise ConfigError(f"model: unknown model {name!r}; choose one of: {', '.join(sorted(_MODELS))}")
    return _MODELS[name]


def model_kind(model) -> str | None:
    """The registered kind of a model instance (None for a model that was never registered)."""
    entry = _MODELS.get(getattr(model, "name", None))
    return entry.kind if entry is not None and isinstance(model, entry.cls) else None


def make_config(name: str, values: Mapping[str, Any] | None = None, where: str = "model"):
    """The validated config dataclass of model `name`; errors name the keys as `where.key`."""
    return build(model_entry(name).cls.Config, values or {}, where=where)


def create_model(name: str, **config: Any) -> Autoencoder:
    """Build model `name` from keyword config, e.g. `create_model("dense", input_shape=(784,), code_size=30)`."""
    return model_entry(name).cls(make_config(name, config))
