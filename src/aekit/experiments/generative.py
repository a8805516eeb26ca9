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

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..analysis import plots
from ..analysis.density import ExPostDensity
from ..analysis.likelihood import importance_sampled_nll
from ..analysis.quality import feature_classifier, sample_quality
from ..config import check
from ..run import squared_error_per_sample
from . import register_experiment
from .images import COMMON, TINY, Run, _check_common, _whole, load_images, md_table

MODELS = ("ae-gmm", "vae", "iwae", "wae", "aae", "cvae", "vq-vae")
MODEL_NAME = {"ae-gmm": "dense"}  # a tag -> its registered model, where they differ


@register_experiment(
    "generative-mnist",
    "generative autoencoders on MNIST: test NLL, Fréchet distance, precision/recall, reconstruction, time",
    defaults={**COMMON, "epochs": 20, "models": list(MODELS), "hidden": [512, 256], "code_size": 8,
              "samples": 10000, "nll_k": 5000, "nll_limit": 1000, "iwae_k": 5, "picture_samples": 40,
              "classifier": "mnist", "classifier_cache": None},
    tiny={**TINY, "hidden": [64], "samples": 200, "nll_k": 20, "nll_limit": 50, "picture_samples": 10,
          "classifier": "mnist-mini"},
)
def generative_mnist(s: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    _check_common(s)
    check(isinstance(s["models"], list) and s["models"] and set(s["models"]) <= set(MODELS), "models",
          f"must be a list drawn from {', '.join(MODELS)}, got {s['models']!r}")
    for key in ("code_size", "samples", "nll_k", "iwae_k", "picture_samples"):
        _whole(key, s[key])
    _whole("nll_limit", s["nll_limit"], allow_none=True)
    run = Run(run_dir, s)
    train, val, test, note = load_images(s)
    clf = feature_classifier(s["classifier"], cache_dir=s["classifier_cache"])
    real = test.x[: s["samples"]]
    nll_data = test.x[: s["nll_limit"]] if s["nll_limit"] else test.x
    results: dict[str, dict[str, Any]] = {}
    for tag in s["models"]:
        config: dict[str, Any] = {"hidden": tuple(s["hidden"])}
        if tag != "vq-vae":
            config["code_size"] = s["code_size"]
        if tag == "iwae":
            config["samples"] = s["iwae_k"]
        model, _ = run.train(tag, MODEL_NAME.get(tag, tag), train, val, **config)
        generated = draw(tag, model, train, len(real), seed=s["seed"])
        quality = sample_quality(generated, real, clf)
        row = {"frechet_distance": quality.frechet_distance, "precision": quality.precision, "recall": quality.recall,
               "squared_error_per_image": float(squared_error_per_sample(model, test.x).mean()),
               "train_seconds": run.seconds[tag], "nll": None}
        if callable(getattr(model, "log_importance_weights", None)) and not model.conditional:
            row["nll"] = float(importance_sampled_nll(model, nll_data, k=s["nll_k"], seed=s["seed"]).mean())
        results[tag] = row
        shown = generated[: s["picture_samples"]].numpy()
        cols = min(10, len(shown))
        grid = np.ones((-(-len(shown) // cols) * cols, *shown.shape[1:]), dtype=np.float32)
        grid[: len(shown)] = shown
        fig = plots.image_grid(grid.reshape(-1, cols, *shown.shape[1:]), title=f"{tag}: {len(shown)} generated digits")
        run.picture(fig, f"samples-{tag}.png", f"{tag}: digits it generated ({HOW[tag]})")

    headers = ["model", f"test NLL (nats, k={s['nll_k']})", "Fréchet distance", "precision", "recall",
               "squared error per image", "train seconds"]
    rows = [[tag, "—" if r["nll"] is None else r["nll"], r["frechet_distance"], r["precision"], r["recall"],
             r["squared_error_per_image"], r["train_seconds"]] for tag, r in results.items()]
    table = md_table(headers, rows) + (
        f"\n\nSample quality from {len(real):,} generated against {len(real):,} test digits, in the features of "
        f"the classifier {clf.path.name} (SHA-256 {clf.sha256}, test accuracy {clf.test_accuracy:.4f}); "
        f"NLL on {len(nll_data):,} binarised test digits. Data: {note}."
    )
    best = min(results, key=lambda t: results[t]["frechet_distance"])
    summary = f"{len(results)} generative models on {note}: lowest Fréchet distance {best} ({results[best]['frechet_distance']:.2f})"
    return run.finish({"summary": summary, "data": note, "classifier_sha256": clf.sha256, "models": results}, table)


HOW = {
    "ae-gmm": "a 10-component Gaussian mixture fitted to the training codes, decoded",
    "vae": "z ~ N(0, I), decoded", "iwae": "z ~ N(0, I), decoded", "wae": "z ~ N(0, I), decoded",
    "aae": "z ~ N(0, I), decoded", "cvae": "z ~ N(0, I) decoded as each class in turn",
    "vq-vae": "indices from the Markov prior fitted to the training codes, decoded",
}


@torch.no_grad()
def draw(tag: str, model, train, n: int, *, seed: int) -> torch.Tensor:
    """n generated digits (n, *shape) on the CPU, the way model `tag` generates."""
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    if tag == "ae-gmm":
        return ExPostDensity(10, seed=seed).fit(model, train).sample(n)
    if tag == "vq-vae":
        model.fit_prior(train)
    labels = {"y": torch.arange(n) % model.config.n_classes} if tag == "cvae" else {}
    return model.sample(n, generator=generator, **labels).cpu()
