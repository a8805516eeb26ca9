"""The feature classifier that sample quality is judged with (analysis/quality.py): trained once
with a fixed recipe and seed, cached in the user's cache folder, checked by SHA-256 when loaded.

    clf = feature_classifier("mnist")      # trained the first time (about a minute), then loaded
    clf.features(images)                    # (N, 64) penultimate ReLU features
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..catalog import cache_dir as aekit_cache
from ..catalog import data_dir
from ..data import load_dataset
from ..data.batches import inputs_of, map_batches
from ..errors import DataError, warn
from ..models.classifier import EncoderClassifier
from ..registry import create_model
from ..writing import atomic_write_bytes, atomic_write_text
from .checkpoint import load_model, model_bytes
from .loop import fit

CLASSIFIER_DATA = ("mnist", "mnist-mini", "fashion-mnist", "kmnist")  # the registered labelled 1x28x28 sets
CLASSIFIER_RECIPE = {  # what the cached classifier is; part of its file name (classifier_files)
    "model": {"name": "dense", "hidden": [256], "code_size": 64, "activation": "relu", "code_activation": "relu"},
    "train": {"epochs": 5, "batch_size": 128, "lr": 1e-3, "seed": 0, "deterministic": True},
}


@dataclass(frozen=True)
class FeatureClassifier:
    """The cached classifier: `features(images) -> (N, 64)`, its file and the file's SHA-256."""

    network: Any  # an EncoderClassifier (models/classifier.py), in eval mode
    path: Path
    sha256: str
    test_accuracy: float  # on the data set's test split, measured when it was trained

    def features(self, images: Any, *, batch_size: int = 1024) -> np.ndarray:
        """Penultimate features (N, 64) of images (N, 1, 28, 28) in [0, 1]."""
        x, _ = inputs_of(self.network.autoencoder, images, "images")
        return map_batches(self.network, x, lambda xb: self.network(xb).z, batch_size=batch_size).numpy()

    def predict(self, images: Any) -> np.ndarray:
        """Predicted class of every image: (N,)."""
        x, _ = inputs_of(self.network.autoencoder, images, "images")
        return map_batches(self.network, x, lambda xb: self.network(xb).logits).argmax(dim=1).numpy()


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def classifier_files(dataset: str = "mnist", *, cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Where the feature classifier of `dataset` is cached: (weights .safetensors, its .json record)."""
    recipe = json.dumps(CLASSIFIER_RECIPE, sort_keys=True)
    stem = f"{dataset}-features-{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"
    earlier = data_dir() / "classifiers"  # where one was cached before 2026-12-04: read there, never written
    if cache_dir is None and all((earlier / f"{stem}{ext}").is_file() for ext in (".safetensors", ".json")):
        cache_dir = earlier
    folder = Path(cache_dir) if cache_dir is not None else aekit_cache() / "classifiers"  # ~/.cache/aekit
    return folder / f"{stem}.safetensors", folder / f"{stem}.json"


def other_data(data: str, classifier: str, *, setting: str) -> str:
    """"" where the classifier of `classifier` judges samples of data set `data` in their own features
    (mnist-mini counts as mnist); else one sentence saying it does not, and what would (`setting`:
    how the caller's user chooses the classifier, e.g. "--classifier ")."""
    if data.removesuffix("-mini") == classifier.removesuffix("-mini"):
        return ""
    own = (f"{setting}{data} judges them in their own" if data in CLASSIFIER_DATA
           else f"a classifier is trained only on {', '.join(CLASSIFIER_DATA)}")
    return (f"the {data} samples are judged in the features of a classifier of {classifier}, other data: the figures "
            f"rank models only roughly ({own})")


def is_cached(dataset: str = "mnist", *, cache_dir: str | Path | None = None) -> bool:
    """Whether `feature_classifier(dataset)` loads (True) or first trains (False)."""
    return all(f.is_file() for f in classifier_files(dataset, cache_dir=cache_dir))


def feature_classifier(dataset: str = "mnist", *, cache_dir: str | Path | None = None) -> FeatureClassifier:
    """The feature classifier of `dataset` ("mnist"; "mnist-mini" for quick tests): loaded from the
    cache (`cache_dir`, default the user cache: ~/.cache/aekit/classifiers on Linux), else trained once (CLASSIFIER_RECIPE) and cached."""
    path, info = classifier_files(dataset, cache_dir=cache_dir)
    if not (path.is_file() and info.is_file()):
        train, test = load_dataset(dataset, "train"), load_dataset(dataset, "test")
        model = dict(CLASSIFIER_RECIPE["model"])
        with torch.random.fork_rng(devices=[]):  # seeded initial weights and (below) one CPU thread: CPUs of one kind
            torch.manual_seed(CLASSIFIER_RECIPE["train"]["seed"])  # train the same classifier whatever their cores
            encoder = create_model(model.pop("name"), input_shape=tuple(train.x.shape[1:]), **model)
            network = EncoderClassifier.on(encoder, int(train.y.max()) + 1)
        threads = torch.get_num_threads()
        torch.set_num_threads(1 if not torch.cuda.is_available() else threads)  # (2 threads trained another file)
        try:
            fit(network, train, progress=False, **CLASSIFIER_RECIPE["train"])
        finally:
            torch.set_num_threads(threads)
        data = model_bytes(network)
        clf = FeatureClassifier(network.eval(), path, hashlib.sha256(data).hexdigest(), 0.0)
        clf = dataclasses.replace(clf, test_accuracy=float((clf.predict(test.x) == test.y.numpy()).mean()))
        try:
            atomic_write_bytes(path, data)
            atomic_write_text(info, json.dumps({"dataset": dataset, "recipe": CLASSIFIER_RECIPE,
                                                "sha256": clf.sha256, "test_accuracy": clf.test_accuracy}, indent=1))
        except OSError as err:  # a full disk, a read-only home: the classifier trained is used all the same
            warn(f"the feature classifier could not be cached ({err}); it is used uncached, and trained "
                 "again next time")
        return clf
    meta = json.loads(info.read_text(encoding="utf-8"))
    sha = sha256_of(path)
    if sha != meta["sha256"]:
        raise DataError(f"cached classifier {path} does not match its checksum in {info.name}; delete both to retrain")
    return FeatureClassifier(load_model(path), path, sha, meta["test_accuracy"])
