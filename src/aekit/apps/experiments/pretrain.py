"""Unsupervised pretraining with few labels: `pretrain-mnist` and `self-taught-mnist`.

pretrain-mnist (Vincent et al., JMLR 2010; Erhan et al., JMLR 2010): the same sigmoid network
784-W1-...-Wk-10 trained three ways, at several numbers of labelled training digits:
  scratch     random initial weights, every layer trained on the labelled digits;
  pretrained  greedy layer-wise denoising pretraining (masking noise) on all training digits
              (their labels unused), then every layer fine-tuned on the labelled digits;
  frozen      the same pretrained encoder kept fixed, only the softmax layer trained.
Every method gets the same supervised budget: `fine_tune.epochs` epochs, raised so that each run
makes at least `fine_tune.min_updates` gradient steps (100 labels are one or two batches an
epoch) and, if set, cut to at most `fine_tune.max_updates` (for 60,000 labels). A stratified `fine_tune.val_fraction` of the labelled digits is held out (so "100 labels"
means 100 labels in all) and the weights with the lowest validation loss are kept. Test error is
measured on the 10,000 test digits. The defaults are Vincent et al.'s SdA-3, 784-1000-1000-1000
with 25% masking noise, 15 epochs a layer: hours on a 2-core CPU. A run that fits ~25 minutes of
a shared 2-core machine (measured: 784-500-500, 5 epochs a layer, one shared SdA):
    aekit experiment run pretrain-mnist widths=[500,500] pretrain.epochs_per_layer=5 \
        pretrain.share_across_seeds=true label_counts=[100,600] fine_tune.min_updates=1000 threads=1
and, reusing its SdA, label_counts=[6000,60000] seeds=[0] fine_tune.max_updates=4000
pretrain.load=RUN/sda-seed0.safetensors.

self-taught-mnist (Raina et al., ICML 2007; UFLDL "Self-taught learning" exercise): a sparse
autoencoder 784-200 (sigmoid, KL sparsity rho = 0.1, beta = 3) learns features from digits 5-9
only; logistic regression on those features is trained on digits 0-4 of the training set and
tested on digits 0-4 of the test set. UFLDL reports ~98% accuracy (raw pixels ~96%).
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...batches import encode_all
from ...config import check
from ...data import load_dataset
from ...models.classifier import EncoderClassifier, select_labels
from ...registry import create_model
from ...training.checkpoint import atomic_write_text, load_model, save_model
from ...training.loop import fit
from ...training.pretrain import pretrain_layerwise
from . import register_experiment

METHODS = ("scratch", "pretrained", "frozen")
LABELS = {
    "scratch": "from scratch",
    "pretrained": "SdA pretrained + fine-tuned",
    "frozen": "SdA frozen + softmax",
}

_PRETRAIN_MNIST = {
    "data": "mnist",
    "widths": [1000, 1000, 1000],  # Vincent et al. (2010) SdA-3
    "noise_fraction": 0.25,  # masking noise per layer: one value or one per layer
    "label_counts": [100, 600, 6000, 60000],  # labelled training digits (60000 = all)
    "seeds": [0, 1, 2],  # each seed draws its own labels, initial weights and (unless shared) SdA
    "methods": list(METHODS),
    "test_limit": None,  # evaluate on this many test digits (None = all 10,000)
    "threads": 0,  # torch threads for the run; 0 leaves torch's setting (1 suits a shared machine)
    "pretrain": {
        "epochs_per_layer": 15,
        "limit": None,  # unlabelled digits to pretrain on (None = the whole training set)
        "batch_size": 64,
        "lr": 1e-3,  # Adam
        "share_across_seeds": False,  # True: pretrain once (first seed) and reuse it for every seed
        "load": None,  # path of a saved SdA (sda-seedN.safetensors of an earlier run) to use for every seed
    },
    "fine_tune": {
        "epochs": 30,
        "min_updates": 2000,  # small label sets get more epochs, up to this many gradient steps
        "max_updates": None,  # large label sets get fewer epochs, at most this many steps (None = no cap)
        "batch_size": 64,
        "lr": 1e-3,  # Adam
        "lr_schedule": "constant",  # or cosine: from lr down to 0 over the run's epochs
        "val_fraction": 0.1,  # of the labelled digits, held out to choose the best epoch
        "patience": None,  # early stopping on val_loss after this many epochs without improvement
    },
}

_PRETRAIN_MNIST_TINY = {
    "data": "mnist-mini",
    "widths": [32, 16],
    "label_counts": [50, 200],
    "seeds": [0],
    "test_limit": 300,
    "pretrain": {**_PRETRAIN_MNIST["pretrain"], "epochs_per_layer": 1, "limit": 500},
    "fine_tune": {**_PRETRAIN_MNIST["fine_tune"], "epochs": 1, "min_updates": 4, "val_fraction": 0.2},
}


@contextmanager
def torch_threads(n: int):
    """Run with `n` torch threads (0 = unchanged), restoring the previous number after."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _per_layer(value: Any, n: int, key: str) -> list[float]:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    check(len(values) == n, key, f"needs one value or {n} (one per layer), got {len(values)}")
    return [float(v) for v in values]


def _epochs(n_train: int, ft: dict[str, Any]) -> int:
    """`ft.epochs`, raised to make at least `ft.min_updates` gradient steps, cut to at most `ft.max_updates`."""
    batches = math.ceil(n_train / ft["batch_size"])
    epochs = max(int(ft["epochs"]), math.ceil(ft["min_updates"] / batches))
    if ft["max_updates"] is not None:
        epochs = min(epochs, max(1, ft["max_updates"] // batches))
    return epochs


def _train_classifier(model: EncoderClassifier, train, val, *, seed: int, epochs: int, ft: dict[str, Any]) -> float:
    """Fit with the shared budget; returns seconds taken."""
    start = time.perf_counter()
    options: dict[str, Any] = {"epochs": epochs, "batch_size": ft["batch_size"], "lr": ft["lr"],
                               "lr_schedule": ft["lr_schedule"], "seed": seed, "progress": False}
    if val is not None:
        options.update(monitor="val_loss", restore_best=True, early_stopping=ft["patience"])
    fit(model, train, val, **options)
    return time.perf_counter() - start


def _mean_std(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


@register_experiment(
    "pretrain-mnist",
    "Greedy denoising pretraining vs training from scratch vs a frozen encoder, at 100-60000 labels",
    defaults=_PRETRAIN_MNIST,
    tiny=_PRETRAIN_MNIST_TINY,
)
def pretrain_mnist(settings: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    widths = [int(w) for w in settings["widths"]]
    noise = _per_layer(settings["noise_fraction"], len(widths), "noise_fraction")
    methods = list(settings["methods"])
    for m in methods:
        check(m in METHODS, "methods", f"{m!r} is not allowed; choose from: {', '.join(METHODS)}")
    pt, ft = settings["pretrain"], settings["fine_tune"]
    with torch_threads(int(settings["threads"])):
        train = load_dataset(settings["data"], "train")
        test = load_dataset(settings["data"], "test").take(settings["test_limit"], seed=0)
        n_classes = int(train.y.max()) + 1
        layer_config = [{"noise": "masking", "noise_fraction": f} for f in noise]
        errors: dict[tuple[str, int], list[float]] = {}
        seconds: dict[tuple[str, int], list[float]] = {}
        epochs_used: dict[int, int] = {}
        pretrain_seconds: list[float] = []
        sda = load_model(pt["load"]) if pt["load"] is not None else None
        if sda is not None:
            loaded = [*sda.config.hidden, sda.config.code_size]
            check(loaded == widths, "pretrain.load", f"holds a model of widths {loaded}, but widths is {widths}")
        net = "-".join(map(str, [math.prod(train.sample_shape), *widths, n_classes]))
        for seed in settings["seeds"]:
            if any(m != "scratch" for m in methods) and (sda is None or not (pt["share_across_seeds"] or pt["load"])):
                print(f"seed {seed}: greedy denoising pretraining of {net}", flush=True)
                start = time.perf_counter()
                sda = pretrain_layerwise(
                    widths, train.take(pt["limit"], seed=seed).x, layer_kind="denoising", layer_config=layer_config,
                    epochs_per_layer=int(pt["epochs_per_layer"]), batch_size=pt["batch_size"], lr=pt["lr"], seed=seed,
                ).model
                pretrain_seconds.append(time.perf_counter() - start)
                save_model(sda, run_dir / f"sda-seed{seed}.safetensors")
            for n in settings["label_counts"]:
                labelled = train if n >= len(train) else select_labels(train, n, seed=seed)
                if ft["val_fraction"] > 0:
                    fit_set, val_set = labelled.split(ft["val_fraction"], seed=seed)
                else:
                    fit_set, val_set = labelled, None
                epochs = epochs_used[n] = _epochs(len(fit_set), ft)
                for method in methods:
                    torch.manual_seed(seed)
                    if method == "scratch":
                        base = create_model(
                            "dense", input_shape=train.sample_shape, hidden=tuple(widths[:-1]), code_size=widths[-1],
                            activation="sigmoid", code_activation="sigmoid",
                        )
                    else:
                        base = sda
                    model = EncoderClassifier.on(base, n_classes, freeze="all" if method == "frozen" else "none")
                    took = _train_classifier(model, fit_set, val_set, seed=seed, epochs=epochs, ft=ft)
                    error = 100 * (1 - model.accuracy(test))
                    errors.setdefault((method, n), []).append(error)
                    seconds.setdefault((method, n), []).append(took)
                    print(f"seed {seed}  {n:>6} labels  {method:<10} test error {error:6.2f}%  ({epochs} epoch{'s' * (epochs != 1)}, {took:.0f}s)", flush=True)

    rows = []
    for method in methods:
        for n in settings["label_counts"]:
            mean, std = _mean_std(errors[(method, n)])
            rows.append({
                "method": method, "labels": n, "test_error_mean": mean, "test_error_std": std,
                "test_errors": errors[(method, n)], "seconds_mean": float(np.mean(seconds[(method, n)])),
                "epochs": epochs_used[n],
            })
    results: dict[str, Any] = {
        "rows": rows,
        "pretrain_seconds": pretrain_seconds,
        "test_digits": len(test),
        "network": net,
    }
    mean_of = {(r["method"], r["labels"]): r["test_error_mean"] for r in rows}
    if 600 in settings["label_counts"] and {"scratch", "pretrained"} <= set(methods):
        gain = mean_of[("scratch", 600)] - mean_of[("pretrained", 600)]
        results["gain_at_600_points"] = gain
        results["target_gain_at_600_met"] = gain >= 3.0
    if "pretrained" in methods and max(settings["label_counts"]) >= len(train):
        all_error = mean_of[("pretrained", max(settings["label_counts"]))]
        results["pretrained_error_all_labels"] = all_error
        results["target_all_labels_met"] = all_error <= 1.5
    _write_table(run_dir, settings, rows, results)
    _plot(run_dir, rows, results["network"])
    return results


def _write_table(run_dir: Path, settings: dict[str, Any], rows: list[dict], results: dict[str, Any]) -> None:
    counts = settings["label_counts"]
    lines = [
        f"# pretrain-mnist: test error % (mean ± std over seeds {settings['seeds']}), supervised seconds per run",
        "",
        f"Network {results['network']} (sigmoid), {results['test_digits']} test digits.",
        "",
        "| method | " + " | ".join(f"{n} labels" for n in counts) + " |",
        "|---|" + "---|" * len(counts),
    ]
    for method in dict.fromkeys(r["method"] for r in rows):
        cells = []
        for n in counts:
            r = next(r for r in rows if r["method"] == method and r["labels"] == n)
            cells.append(f"{r['test_error_mean']:.2f} ± {r['test_error_std']:.2f} ({r['seconds_mean']:.0f} s)")
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + " |")
    epochs = {r["labels"]: r["epochs"] for r in rows}
    lines += ["", "Epochs per run: " + ", ".join(f"{n} labels: {epochs[n]}" for n in counts) + "."]
    if results["pretrain_seconds"]:
        lines.append("Pretraining seconds per SdA: " + ", ".join(f"{s:.0f}" for s in results["pretrain_seconds"]) + ".")
    elif settings["pretrain"]["load"] is not None:
        lines.append(f"SdA loaded from {settings['pretrain']['load']} (pretraining time not included).")
    if "gain_at_600_points" in results:
        lines.append(f"Gain of pretraining at 600 labels: {results['gain_at_600_points']:.2f} points (target >= 3).")
    if "pretrained_error_all_labels" in results:
        lines.append(f"Pretrained + fine-tuned with all labels: {results['pretrained_error_all_labels']:.2f}% (target <= 1.5%).")
    lines.append("Settings: " + json.dumps(settings))
    atomic_write_text(run_dir / "table.md", "\n".join(lines) + "\n")


def _plot(run_dir: Path, rows: list[dict], network: str) -> None:
    from ...analysis.plots import new_figure, save_figure

    fig = new_figure(6.5, 4.2)
    ax = fig.add_subplot()
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        ax.errorbar(
            [r["labels"] for r in mine], [r["test_error_mean"] for r in mine], yerr=[r["test_error_std"] for r in mine],
            marker="o", capsize=3, label=LABELS[method],
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    counts = sorted({r["labels"] for r in rows})
    ax.set_xticks(counts, labels=[str(n) for n in counts])
    ax.set_xticks([], minor=True)
    lowest = min(r["test_error_mean"] - r["test_error_std"] for r in rows)
    highest = max(r["test_error_mean"] + r["test_error_std"] for r in rows)
    ticks = [t for t in (0.5, 1, 2, 5, 10, 20, 50, 100) if 0.7 * lowest <= t <= 1.4 * highest] or [1, 10]
    ax.set_yticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.set_yticks([], minor=True)
    ax.set_xlabel("labelled training digits")
    ax.set_ylabel("test error (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(frameon=False)
    ax.set_title(f"MNIST, sigmoid net {network}: test error against labels", fontsize=10)
    save_figure(fig, run_dir / "error_vs_labels.png")


# --- self-taught learning ------------------------------------------------------------------------

_SELF_TAUGHT = {
    "data": "mnist",
    "code_size": 200,
    "sparsity_target": 0.1,  # rho
    # UFLDL minimises mean(0.5 * squared error) + lambda/2 * sum W^2 + beta * sum KL; aekit's squared
    # error has no 0.5, so the same balance is weight_l2 = lambda and sparsity_weight = 2 * beta.
    "beta": 3.0,
    "lambda": 3e-3,
    "epochs": 20,  # Adam epochs over the unlabelled digits (UFLDL: 400 L-BFGS iterations)
    "batch_size": 128,
    "lr": 1e-3,
    "unlabelled_limit": None,  # digits 5-9 to learn features from (None = all ~29,400)
    "labelled_limit": None,  # training digits 0-4 for the classifier (None = all ~30,600)
    "test_limit": None,  # test digits 0-4 (None = all ~5,100)
    "C": 1.0,  # inverse regularisation of the logistic regression
    "max_iter": 500,
    "raw_baseline": True,  # also fit logistic regression on raw pixels
    "threads": 0,
}

_SELF_TAUGHT_TINY = {
    "data": "mnist-mini", "code_size": 32, "epochs": 1, "unlabelled_limit": 300, "labelled_limit": 200,
    "test_limit": 100, "max_iter": 30,
}


@register_experiment(
    "self-taught-mnist",
    "Sparse-autoencoder features learnt on digits 5-9, logistic regression on digits 0-4 (UFLDL)",
    defaults=_SELF_TAUGHT,
    tiny=_SELF_TAUGHT_TINY,
)
def self_taught_mnist(settings: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    with torch_threads(int(settings["threads"])):
        train = load_dataset(settings["data"], "train")
        test = load_dataset(settings["data"], "test")
        unlabelled = train.subset(np.flatnonzero(train.y.numpy() >= 5)).take(settings["unlabelled_limit"], seed=0)
        labelled = train.subset(np.flatnonzero(train.y.numpy() < 5)).take(settings["labelled_limit"], seed=0)
        test = test.subset(np.flatnonzero(test.y.numpy() < 5)).take(settings["test_limit"], seed=0)

        start = time.perf_counter()
        torch.manual_seed(0)
        sae = create_model(
            "sparse-kl", input_shape=train.sample_shape, hidden=(), code_size=int(settings["code_size"]),
            sparsity_target=settings["sparsity_target"], sparsity_weight=2 * settings["beta"],
            weight_l2=settings["lambda"], recon_loss="mse", output_activation="sigmoid",
        )
        history = fit(sae, unlabelled.x, epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"], progress=False)
        sae_seconds = time.perf_counter() - start
        feats_train = encode_all(sae, labelled.x)  # (N, code_size) sigmoid activations
        feats_test = encode_all(sae, test.x)
        mean_activation = float(feats_train.mean())

        def logistic(a_train: np.ndarray, a_test: np.ndarray) -> tuple[float, float]:
            start = time.perf_counter()
            clf = LogisticRegression(C=settings["C"], max_iter=settings["max_iter"])
            clf.fit(a_train, labelled.y.numpy())
            return float(clf.score(a_test, test.y.numpy())), time.perf_counter() - start

        accuracy, lr_seconds = logistic(feats_train, feats_test)
        results: dict[str, Any] = {
            "accuracy": accuracy,
            "sae_seconds": sae_seconds,
            "logistic_seconds": lr_seconds,
            "sae_final_loss": history["train_loss"][-1],
            "mean_code_activation": mean_activation,
            "unlabelled": len(unlabelled), "labelled": len(labelled), "test": len(test),
        }
        print(f"self-taught features: test accuracy {100 * accuracy:.2f}% (SAE {sae_seconds:.0f}s, mean activation {mean_activation:.3f})", flush=True)
        if settings["raw_baseline"]:
            raw_accuracy, raw_seconds = logistic(labelled.x.flatten(1).numpy(), test.x.flatten(1).numpy())
            results.update(raw_pixel_accuracy=raw_accuracy, raw_logistic_seconds=raw_seconds)
            print(f"raw pixels: test accuracy {100 * raw_accuracy:.2f}%", flush=True)

    lines = [
        "# self-taught-mnist: features from digits 5-9, logistic regression on digits 0-4",
        "",
        "| features | test accuracy |",
        "|---|---|",
        f"| sparse autoencoder 784-{settings['code_size']} (learnt on 5-9) | {100 * accuracy:.2f}% |",
    ]
    if "raw_pixel_accuracy" in results:
        lines.append(f"| raw pixels | {100 * results['raw_pixel_accuracy']:.2f}% |")
    lines += [
        "",
        f"{len(unlabelled)} unlabelled digits 5-9, {len(labelled)} labelled training digits 0-4, {len(test)} test digits 0-4.",
        f"UFLDL reports ~98% with features (~96% raw). Mean code activation {mean_activation:.3f} (target {settings['sparsity_target']}).",
        "Settings: " + json.dumps(settings),
    ]
    atomic_write_text(run_dir / "table.md", "\n".join(lines) + "\n")
    return results
