"""generative-mnist: the generative autoencoders side by side on MNIST (issue 17).

Every model of `models` is trained with the same encoder/decoder widths and code size, then judged
on the test digits by one table: importance-sampled NLL where the model has a probabilistic decoder
(vae, iwae; nats per binarised digit, k = nll_k), Fréchet distance, precision and recall of
`samples` generated digits in the feature space of the cached classifier (analysis/quality.py; its
SHA-256 is written beside the table), squared reconstruction error per image, and training seconds.
A plain autoencoder generates through an ex-post Gaussian mixture on its codes ("ae-gmm", Ghosh et
al. 2020); the cvae draws as many digits of each class; the vq-vae samples its Markov index prior.

    aekit experiment run generative-mnist            # full MNIST, all models
    aekit experiment run generative-mnist --tiny     # seconds, for tests
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...analysis import plots
from ...analysis.density import generate
from ...analysis.likelihood import importance_sampled_nll, why_no_likelihood
from ...analysis.quality import reading, sample_quality, why_no_sample_quality
from ...config import check
from ...data import load_dataset
from ...data.batches import pick
from ...errors import DataError
from ...training.checkpoint import load_model
from ...training.feature_classifier import (
    CLASSIFIER_DATA,
    classifier_files,
    feature_classifier,
    is_cached,
    other_data,
)
from . import ExperimentConfig, check_data, check_positive, register_experiment, table
from .images import DATA, TINY, image_run, mean_error

MODELS = ("ae-gmm", "vae", "iwae", "wae", "aae", "cvae", "vq-vae")
MODEL_NAME = {"ae-gmm": "dense"}  # a tag -> its registered model, where they differ


@dataclass(frozen=True, kw_only=True)
class Generative:
    models: tuple[str, ...] = MODELS  # which to train and compare
    samples: int = 10_000  # generated (and test) digits for Fréchet distance, precision and recall
    nll_k: int = 5000  # importance samples per digit for the NLL
    nll_limit: int | None = 1000  # test digits the NLL is estimated on (null: all)
    iwae_k: int = 5  # the IWAE's samples in training
    picture_samples: int = 40  # digits shown per model
    classifier: str = "mnist"  # the feature classifier's data ("mnist-mini" for quick tests)
    classifier_cache: str | None = None  # where it is cached (default ~/.cache/aekit/classifiers)

    def __post_init__(self) -> None:
        check_positive(self, "samples", "nll_k", "nll_limit", "iwae_k", "picture_samples")
        check(self.samples >= 4, "samples", f"must be 4 or more (precision and recall take 3 nearest neighbours in "
              f"each set), got {self.samples}")  # (a bug hunt: refused after a model had trained)
        check(len(self.models) > 0 and set(self.models) <= set(MODELS), "models",
              f"must be a list drawn from {', '.join(MODELS)}, got {list(self.models)!r}")
        check(self.classifier in CLASSIFIER_DATA, "classifier", f"must be one of {', '.join(CLASSIFIER_DATA)} (the data "
              f"sets a feature classifier is trained on), got {self.classifier!r}")  # (it was named as data.name)


@register_experiment(
    "generative-mnist",
    models=(("vae",), "trains the models experiment.models names (model.* sets their widths and code size); remove model.name"),
    model_keys=(("name", "hidden", "code_size"), "every model of experiment.models takes its widths and code size "
                "from the model section, and its own settings otherwise"),
    settings=Generative,
    defaults={**DATA, "train": {"epochs": 20}, "model": {"name": "vae", "hidden": [512, 256], "code_size": 8}},
    tiny={**TINY, "model": {"hidden": [64]},
          "experiment": {"samples": 200, "nll_k": 20, "nll_limit": 50, "picture_samples": 10, "classifier": "mnist-mini"}},
)
def generative_mnist(cfg: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    """Every model of `experiment.models` with the model section's widths and code size, one table."""
    s = cfg.experiment
    run, note = image_run(cfg, run_dir)
    cfg, (train, _, test) = run.cfg, run.splits
    judged = classifier_shape(s.classifier, s.classifier_cache)
    other = other_data(train.name, s.classifier, setting="experiment.classifier=")
    if other:
        print(f"note: {other}", flush=True)
    if train.sample_shape != judged:
        raise DataError(f"generative-mnist judges its samples with a classifier of {s.classifier} (experiment.classifier), "
                        f"whose samples have shape {judged}, and data.name={cfg.data.name} has samples of shape "
                        f"{train.sample_shape}; give data of shape {judged}")
    check_data("generative-mnist", cfg.data.name, train, test, min_train=(10 if "ae-gmm" in s.models else 1, "ae-gmm's "
               "10-component Gaussian mixture"), min_test=(4, "precision and recall with 3 nearest neighbours"))
    variants, code_size = {}, cfg.model.get("code_size", 8)
    for tag in s.models:
        model_cfg: dict[str, Any] = {"name": MODEL_NAME.get(tag, tag), "hidden": cfg.model.get("hidden", [512, 256])}
        if tag != "vq-vae":  # its code is `positions` vectors of `embedding_dim`
            model_cfg["code_size"] = code_size
        if tag == "iwae":
            model_cfg["samples"] = s.iwae_k
        variants[tag] = dataclasses.replace(cfg, model=model_cfg)
    run.check(*variants.values())
    real = test.x[pick(len(test), s.samples)]  # spread over the part (a folder of class folders is read by class)
    if (reason := why_no_sample_quality(real)) is not None:  # before any training (a test part scaled beyond [0, 1])
        raise DataError(f"generative-mnist: the {run.part} {run.noun}s: {reason}")
    clf = feature_classifier(s.classifier, cache_dir=s.classifier_cache)
    nll_data = test.x[pick(len(test), s.nll_limit)] if s.nll_limit else test.x
    results: dict[str, dict[str, Any]] = {}
    no_nll: dict[str, str | None] = {}  # why a model has no NLL
    vq = None
    for tag in s.models:
        model, _ = run.train(tag, variants[tag])
        generated, _ = generate(model, len(real), train=train, seed=cfg.train.seed)
        quality = sample_quality(generated.clamp(0, 1), real, clf)  # (sigmoid outputs: in [0, 1] already)
        row = {"frechet_distance": quality.frechet_distance, "precision": quality.precision, "recall": quality.recall,
               "squared_error_per_image": mean_error(model, test), "train_seconds": run.seconds[tag], "nll": None}
        vq = model.config if tag == "vq-vae" else vq  # (its sizes: said below)
        no_nll[tag] = why_no_likelihood(model, nll_data)
        if no_nll[tag] is None:
            row["nll"] = float(importance_sampled_nll(model, nll_data, k=s.nll_k, seed=cfg.train.seed).mean())
        results[tag] = row
        shown = generated[: s.picture_samples].numpy()
        fig = plots.image_grid(plots.grid_rows(shown, 10, fill=1.0), title=f"{tag}: {len(shown)} generated {run.noun}s")
        run.picture(fig, f"samples-{tag}.png", f"{tag}: {run.noun}s it generated ({HOW[tag]})")

    columns = {"model": "model", "nll": f"test NLL (nats, k={s.nll_k})", "frechet_distance": "Fréchet distance",
               "precision": "precision", "recall": "recall", "squared_error_per_image": "squared error per image",
               "train_seconds": "train seconds"}
    rows = [{"model": tag, **r, "nll": "—" if r["nll"] is None else r["nll"]} for tag, r in results.items()]
    notes = [f"Sample quality from {len(real):,} generated against {len(real):,} {run.part} {run.noun}s, in the features "
             f"of the classifier {clf.path.name} (SHA-256 {clf.sha256}, test accuracy {clf.test_accuracy:.4f}); "
             f"NLL on {len(nll_data):,} binarised {run.part} {run.noun}s. Data: {note}.", other[:1].upper() + other[1:],
             "Precision is the share of generated samples among the real ones' features (do they look real?), recall the "
             "share of real ones the samples reach (is their variety covered?); read them together: collapsed or "
             "one-kind samples can score a high precision with a recall near 0."]
    skipped = {tag: why for tag, why in no_nll.items() if why and "has no probabilistic" not in why}
    notes += [f"{tag}: no NLL: {why}." for tag, why in skipped.items()]
    for why in dict.fromkeys(skipped.values()):  # said here too, not in the files alone (a trial: a bare "—")
        print(f"note: no NLL for {', '.join(t for t in skipped if skipped[t] == why)}: {why}", flush=True)
    read = {tag: reading(r["precision"], r["recall"]) for tag, r in results.items()}
    notes += [f"{tag}: {text}." for tag, text in read.items() if text]
    if vq is not None:  # (a student trial: model.code_size=4 and the vq-vae's code stayed 8 x 16, unsaid)
        notes.append(f"vq-vae: its code is {vq.positions} indices into a codebook of {vq.codebook_size} vectors of "
                     f"{vq.embedding_dim} numbers (its own sizes); model.code_size ({code_size}) sets "
                     "the others' codes.")
    best = min(results, key=lambda t: results[t]["frechet_distance"])
    summary = f"{len(results)} generative models on {note}: lowest Fréchet distance {best} ({results[best]['frechet_distance']:.2f})"
    return run.finish({"summary": summary, "data": note, "classifier_sha256": clf.sha256, "models": results},
                      table("Generative models", columns, rows, notes))


def classifier_shape(name: str, cache_dir: str | None) -> tuple[int, ...]:
    """The sample shape of the feature classifier of data set `name`: its cached network's or, before it
    is trained, its data's. Sample quality is measured in its features, so the samples must have it."""
    if is_cached(name, cache_dir=cache_dir):
        return tuple(load_model(classifier_files(name, cache_dir=cache_dir)[0]).input_shape)
    return load_dataset(name, "test").sample_shape


HOW = {
    "ae-gmm": "a 10-component Gaussian mixture fitted to the training codes, decoded",
    "vae": "z ~ N(0, I), decoded", "iwae": "z ~ N(0, I), decoded", "wae": "z ~ N(0, I), decoded",
    "aae": "z ~ N(0, I), decoded", "cvae": "z ~ N(0, I) decoded as each class in turn",
    "vq-vae": "indices from the Markov prior fitted to the training codes, decoded",
}

