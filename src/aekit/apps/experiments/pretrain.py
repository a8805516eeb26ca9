"""Unsupervised pretraining with few labels: `pretrain-mnist` and `self-taught-mnist`.

pretrain-mnist (Vincent et al., JMLR 2010; Erhan et al., JMLR 2010): the same sigmoid network
784-W1-...-Wk-10 trained three ways, at several numbers of labelled training digits:
  scratch     random initial weights, every layer trained on the labelled digits;
  pretrained  greedy layer-wise denoising pretraining (masking noise) on all training digits
              (their labels unused), then every layer fine-tuned on the labelled digits;
  frozen      the same pretrained encoder kept fixed, only the softmax layer trained.
The network is the `model` section (a sigmoid `dense` model whose `hidden` + `code_size` are the
SdA's widths); fine-tuning is the `train` section. Every method gets the same supervised budget:
`train.epochs` epochs, raised so that each run makes at least `experiment.min_updates` gradient
steps (100 labels are one or two batches an epoch) and, if set, cut to at most
`experiment.max_updates` (for 60,000 labels). A stratified `data.val_fraction` of the labelled
digits is held out (so "100 labels" means 100 labels in all) and the weights with the lowest
validation loss are kept (`train.restore_best`). Test error is
measured on the 10,000 test digits. The defaults are Vincent et al.'s SdA-3, 784-1000-1000-1000
with 25% masking noise, 15 epochs a layer: hours on a 2-core CPU. A run that fits ~25 minutes of
a shared 2-core machine (measured: 784-500-500, 5 epochs a layer, one shared SdA):
    aekit experiment run pretrain-mnist model.hidden=[500] model.code_size=500 \
        experiment.pretrain.epochs_per_layer=5 experiment.pretrain.share_across_seeds=true \
        experiment.label_counts=[100,600] experiment.min_updates=1000 experiment.threads=1
and, reusing its SdA, experiment.label_counts=[6000,60000] experiment.seeds=[0]
experiment.max_updates=4000 experiment.pretrain.load=RUN/sda-seed0.safetensors.

self-taught-mnist (Raina et al., ICML 2007; UFLDL "Self-taught learning" exercise): a sparse
autoencoder 784-200 (sigmoid, KL sparsity rho = 0.1, beta = 3) learns features from digits 5-9
only; logistic regression on those features is trained on digits 0-4 of the training set and
tested on digits 0-4 of the test set. UFLDL reports ~98% accuracy (raw pixels ~96%).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from ...analysis import plots
from ...config import check
from ...data import Dataset, class_indices
from ...data.batches import encode_all
from ...errors import DataError, warn
from ...models.base import Autoencoder
from ...models.classifier import EncoderClassifier, select_labels
from ...training.checkpoint import load_model
from ...training.loop import TrainConfig
from ...training.pretrain import pretrain_layerwise
from ..run import build_model, check_run, read_split, train_model
from . import (
    DIGITS,
    ExperimentConfig,
    Ledger,
    Positive,
    check_data,
    check_fractions,
    check_positive,
    check_seeds_and_threads,
    register_experiment,
    table,
    test_part,
)

METHODS = ("scratch", "pretrained", "frozen")
LABELS = {
    "scratch": "from scratch",
    "pretrained": "SdA pretrained + fine-tuned",
    "frozen": "SdA frozen + softmax",
}


@dataclass(frozen=True, kw_only=True)
class Pretraining(Positive):
    epochs_per_layer: int = 15
    limit: int | None = None  # unlabelled digits to pretrain on (None = the whole training set)
    batch_size: int = 64
    lr: float = 1e-3  # Adam
    share_across_seeds: bool = False  # True: pretrain once (first seed) and reuse it for every seed
    load: str | None = None  # path of a saved SdA (sda-seedN.safetensors of an earlier run) to use for every seed
    seconds_per_layer: float | None = None  # a time budget for each layer, in place of epochs_per_layer


@dataclass(frozen=True, kw_only=True)
class PretrainMnist:
    noise_fraction: float | tuple[float, ...] = 0.25  # masking noise per layer: one value or one per layer
    label_counts: tuple[int, ...] = (100, 600, 6000, 60000)  # labelled training digits (60000 = all)
    seeds: tuple[int, ...] = (0, 1, 2)  # each seed draws its own labels, initial weights and (unless shared) SdA
    methods: tuple[Literal["scratch", "pretrained", "frozen"], ...] = METHODS
    threads: int = 0  # torch threads for the run; 0 leaves torch's setting (1 suits a shared machine)
    min_updates: int = 2000  # small label sets get more epochs, up to this many gradient steps
    max_updates: int | None = None  # large label sets get fewer epochs, at most this many steps (None = no cap)
    pretrain: Pretraining = field(default_factory=Pretraining)

    def __post_init__(self) -> None:
        check(all(n > 0 for n in self.label_counts), "label_counts", f"must be > 0, got {list(self.label_counts)}")
        for key in ("label_counts", "seeds", "methods"):
            check(len(getattr(self, key)) > 0, key, "needs at least one value")
        check_positive(self, "min_updates", "max_updates")
        check_seeds_and_threads(self)
        check_fractions("noise_fraction", self.noise_fraction)


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


def labelled_parts(experiment: str, cfg: ExperimentConfig, name: str) -> tuple[Dataset, Dataset, int]:
    """(train, test, classes) of data set `name` for an experiment that classifies: labels 0..K-1, checked."""
    train, test = read_split(cfg, "train", name).take(cfg.data.limit, seed=0), test_part(experiment, cfg, name)
    check_data(experiment, name, train, test, labels=True)
    train, test = class_indices(train, test.take(cfg.data.test_limit, seed=0))
    return train, test, int(train.y.max()) + 1


def supervised_epochs(n_train: int, train: TrainConfig, min_updates: int, max_updates: int | None) -> int:
    """`train.epochs`, raised to make at least `min_updates` gradient steps, cut to at most `max_updates`."""
    batches = math.ceil(n_train / train.batch_size)
    epochs = max(train.epochs, math.ceil(min_updates / batches))
    if max_updates is not None:
        epochs = min(epochs, max(1, max_updates // batches))
    return epochs


def label_counts(counts: tuple[int, ...], n_train: int, n_classes: int, *, key: str = "experiment.label_counts"
                 ) -> tuple[int, ...]:
    """The label counts to run: one above the training samples means all of them (once); one below the classes
    is said (some classes get no labelled sample), naming the setting `key`."""
    few = [n for n in counts if n < n_classes]
    if few:
        warn(f"{key}: {few[0]} labels for {n_classes} classes leave some classes without a labelled sample")
    return tuple(dict.fromkeys(min(n, n_train) for n in counts))


def labelled_split(train: Dataset, n: int, seed: int, val_fraction: float) -> tuple[Dataset, Dataset | None]:
    """`n` labelled training samples drawn by `seed`, as (fit, validation) split by `val_fraction` (0: no validation)."""
    labelled = train if n >= len(train) else select_labels(train, n, seed=seed)
    return labelled.split(val_fraction, seed=seed) if val_fraction > 0 else (labelled, None)


def error_row(method: str, labels: int, runs: list[dict[str, float]]) -> dict[str, Any]:
    """A method's runs at `labels` labels (one a seed): test error % as mean and sample std (0 for one), seconds."""
    errors = [r["error"] for r in runs]
    std = float(np.std(errors, ddof=1)) if len(errors) > 1 else 0.0
    return {"method": method, "labels": labels, "test_error_mean": float(np.mean(errors)), "test_error_std": std,
            "test_errors": errors, "seconds_mean": float(np.mean([r["seconds"] for r in runs]))}


def chance_note(test: Dataset) -> str:
    """What a constant guess scores on `test`: the floor every error in a table is to be read against."""
    counts = torch.bincount(test.y[test.y >= 0])
    return (f"Chance: always guessing the most frequent test class errs "
            f"{100 * (1 - counts.max().item() / counts.sum().item()):.2f}%.")


def error_table(title: str, rows: list[dict[str, Any]], labels: dict[str, str], notes: list[str]) -> dict[str, Any]:
    """Rows of `error_row` as a table: a method a row, a label count a column, "mean ± std (seconds per run)" a cell
    (one seed has no spread: its error alone)."""
    counts = list(dict.fromkeys(r["labels"] for r in rows))
    spread = {(r["method"], r["labels"]): f" ± {r['test_error_std']:.2f}" * (len(r["test_errors"]) > 1) for r in rows}
    cells = {(r["method"], r["labels"]): f"{r['test_error_mean']:.2f}{spread[(r['method'], r['labels'])]} "
                                         f"({r['seconds_mean']:.0f} s)" for r in rows}
    return table(title, ["method", *(f"{n} labels" for n in counts)],
                 [[labels[m], *(cells[(m, n)] for n in counts)] for m in dict.fromkeys(r["method"] for r in rows)], notes)


class StackedDenoising:
    """The SdA of each seed, as `Pretraining` says: greedy layer-wise denoising pretraining (masking
    noise) of a sigmoid stack on the training digits (labels unused), once per seed, once for every
    seed (`share_across_seeds`), or loaded (`load`). Each one pretrained is saved as NAME-seedN.safetensors
    and recorded in the experiment's ledger (a resumed experiment loads it). `noise_fraction` is one
    value for every layer or one per layer; `where` is the settings section that holds it and `pt`."""

    def __init__(self, pt: Pretraining, widths: list[int], noise_fraction: float | tuple[float, ...], ledger: Ledger,
                 *, where: str = "experiment", name: str = "sda") -> None:
        self.pt, self.widths, self.ledger, self.name = pt, widths, ledger, name
        noise = list(noise_fraction) if isinstance(noise_fraction, tuple) else [noise_fraction] * len(widths)
        check(len(noise) == len(widths), f"{where}.noise_fraction",
              f"needs one value or {len(widths)} (one per layer), got {len(noise)}")
        self.layer_config = [{"noise": "masking", "noise_fraction": f} for f in noise]
        self.model = load_model(pt.load) if pt.load is not None else None
        if self.model is not None:
            loaded = [*self.model.config.hidden, self.model.config.code_size]
            check(loaded == widths, f"{where}.pretrain.load", f"holds a model of widths {loaded}, but the model's are {widths}")

    def for_seed(self, seed: int, train: Dataset, net: str) -> Autoencoder:
        pt = self.pt
        if self.model is not None and (pt.load or pt.share_across_seeds):
            return self.model
        done = [k for k in self.ledger.records if k.startswith(f"{self.name}/seed")]
        if pt.share_across_seeds and done:  # resumed: the one SdA, pretrained with the first seed
            seed = int(done[0].rsplit("seed", 1)[1])

        def pretrain() -> Autoencoder:
            each = f"{pt.seconds_per_layer:g} s" if pt.seconds_per_layer is not None else f"{pt.epochs_per_layer} epoch{'s' * (pt.epochs_per_layer != 1)}"
            print(f"seed {seed}: greedy denoising pretraining of {net} ({each} a layer)", flush=True)
            return pretrain_layerwise(
                self.widths, train.take(pt.limit, seed=seed).x, layer_kind="denoising", layer_config=self.layer_config,
                epochs_per_layer=pt.epochs_per_layer if pt.seconds_per_layer is None else None, batch_size=pt.batch_size,
                lr=pt.lr, seed=seed, time_budget=pt.seconds_per_layer,
            ).model

        self.model = self.ledger.once(f"{self.name}/seed{seed}", f"{self.name}-seed{seed}.safetensors", pretrain)
        return self.model

    @property
    def seconds(self) -> list[float]:
        """The seconds of each pretraining (none when loaded)."""
        return self.ledger.seconds(f"{self.name}/seed")


def fine_tune(cfg: ExperimentConfig, base: Autoencoder, n_classes: int, fit_set: Dataset, val_set: Dataset | None,
              *, freeze: Literal["all", "none"] = "none") -> tuple[EncoderClassifier, float, int]:
    """A softmax layer on a copy of `base`'s encoder, trained with `cfg.train` on the labelled
    `fit_set` (`val_set` chooses the best epoch when `restore_best`): (classifier, seconds, epochs trained:
    a time budget's, not `cfg.train.epochs`)."""
    model = EncoderClassifier.on(base, n_classes, freeze=freeze)
    start = time.perf_counter()
    _, history = train_model(cfg, (fit_set, val_set, None), model=model)
    return model, time.perf_counter() - start, len(history.get("epoch", []))


def plot_error_vs_labels(path: Path, rows: list[dict], *, labels: dict[str, str], title: str) -> None:
    """Test error (mean ± std over seeds) against the number of labels, one line per method, log-log."""
    fig = plots.new_figure(6.5, 4.2)
    ax = fig.add_subplot()
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        ax.errorbar(
            [r["labels"] for r in mine], [r["test_error_mean"] for r in mine], yerr=[r["test_error_std"] for r in mine],
            marker="o", capsize=3, label=labels[method],
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
    ax.set_xlabel("labelled training samples")
    ax.set_ylabel("test error (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(frameon=False)
    ax.set_title(title, fontsize=10)
    plots.save_figure(fig, path)


@register_experiment(
    "pretrain-mnist",
    models=(("dense",), "stacks the dense layers model.hidden and model.code_size for every method; it trains dense only"),
    settings=PretrainMnist,
    resumable=True,
    defaults={
        "data": {"name": "mnist", "val_fraction": 0.1},  # of the labelled digits, held out to choose the best epoch
        # Vincent et al. (2010) SdA-3: 784-1000-1000-1000, sigmoid units; the scratch network is the same
        "model": {"name": "dense", "hidden": [1000, 1000], "code_size": 1000, "activation": "sigmoid",
                  "code_activation": "sigmoid"},
        # fine-tuning: Adam; train.lr_schedule=cosine decays lr to 0; train.early_stopping=N stops early
        "train": {"epochs": 30, "batch_size": 64, "lr": 1e-3, "restore_best": True},
    },
    tiny={
        "data": {"name": "mnist-mini", "val_fraction": 0.2, "test_limit": 300},
        "model": {"hidden": [32], "code_size": 16},
        "train": {"epochs": 1},
        "experiment": {"label_counts": [50, 200], "seeds": [0], "min_updates": 150,
                       "pretrain": {"epochs_per_layer": 1, "limit": 500}},
    },
    data_keys=("name", "layout", "scale", "image_size", "val_fraction", "test_limit"),
    model_keys=(("name", "hidden", "code_size"), "the SdA's sigmoid layers take their widths from the model section, "
                "and the network trained from scratch is their copy"),
    unused={"train.seed": "each seed of experiment.seeds draws its labels, weights and SdA"},
)
def pretrain_mnist(cfg: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    s, pt = cfg.experiment, cfg.experiment.pretrain
    widths = [*cfg.model.get("hidden", ()), cfg.model["code_size"]]
    with torch_threads(s.threads):
        train, test, n_classes = labelled_parts("pretrain-mnist", cfg, cfg.data.name)
        runs: dict[tuple[str, int], list[dict[str, float]]] = {}  # (method, labels) -> each seed's record
        ledger = Ledger(run_dir)  # the finished runs: a resumed experiment keeps them
        sdas = StackedDenoising(pt, widths, s.noise_fraction, ledger)
        net = "-".join(map(str, [math.prod(train.sample_shape), *widths, n_classes]))
        counts = label_counts(s.label_counts, len(train), n_classes)
        for n in counts:  # every draw of labels (and its validation split) works, before any training
            for seed in s.seeds:
                labelled_split(train, n, seed, cfg.data.val_fraction)
        fit_set, val_set = labelled_split(train, min(counts), s.seeds[0], cfg.data.val_fraction)
        fine = cfg.with_train(epochs=1, restore_best=cfg.train.restore_best and val_set is not None)
        with torch.random.fork_rng(devices=[]):  # the fine-tuning's settings, checked before the pretraining
            for freeze in dict.fromkeys("all" if m == "frozen" else "none" for m in s.methods):
                model = EncoderClassifier.on(build_model(fine, train.sample_shape), n_classes, freeze=freeze)
                check_run(fine, model, (fit_set, val_set, None))
        for seed in s.seeds:
            todo = {m for m in s.methods for n in counts if ledger.get(f"{m}/{n}/seed{seed}") is None}
            sda = sdas.for_seed(seed, train, net) if todo - {"scratch"} else None
            for n in counts:
                fit_set, val_set = labelled_split(train, n, seed, cfg.data.val_fraction)
                epochs = supervised_epochs(len(fit_set), cfg.train, s.min_updates, s.max_updates)
                fine = cfg.with_train(epochs=epochs, seed=seed, restore_best=cfg.train.restore_best and val_set is not None)
                for method in s.methods:
                    done = before = ledger.get(f"{method}/{n}/seed{seed}")
                    if done is None:
                        torch.manual_seed(seed)
                        base = build_model(fine, train.sample_shape) if method == "scratch" else sda
                        model, took, trained = fine_tune(fine, base, n_classes, fit_set, val_set,
                                                         freeze="all" if method == "frozen" else "none")
                        done = ledger.add(f"{method}/{n}/seed{seed}", {"error": 100 * (1 - model.accuracy(test)),
                                                                       "seconds": took, "epochs": trained})
                    record = {"epochs": epochs, **done}  # (an older ledger's has no epochs: the planned ones)
                    runs.setdefault((method, n), []).append(record)
                    trained = record["epochs"]
                    print(f"seed {seed}  {n:>6} labels  {method:<10} test error {done['error']:6.2f}%  "
                          f"({trained} epoch{'s' * (trained != 1)}, {done['seconds']:.0f}s{', finished before' * bool(before)})",
                          flush=True)
        pretrain_seconds = sdas.seconds

    rows = [{**error_row(method, n, runs[(method, n)]), "epochs": [r["epochs"] for r in runs[(method, n)]]}
            for method in s.methods for n in counts]
    results: dict[str, Any] = {"rows": rows, "pretrain_seconds": pretrain_seconds, "test_samples": len(test), "network": net}
    mean_of = {(r["method"], r["labels"]): r["test_error_mean"] for r in rows}
    samples = "digits" if train.name in DIGITS else "samples"
    notes = [f"Network {net} (sigmoid), {len(test)} test {samples}; test error % (mean ± std over seeds {list(s.seeds)}), "
             "supervised seconds per run in brackets.",
             "Epochs per run: " + "; ".join(f"{r['method']} {r['labels']}: {r['epochs']}" for r in rows) + ".",
             chance_note(test)]
    if pretrain_seconds:
        notes.append("Pretraining seconds per SdA: " + ", ".join(f"{t:.0f}" for t in pretrain_seconds) + ".")
    elif pt.load is not None:
        notes.append(f"SdA loaded from {pt.load} (pretraining time not included).")
    mnist = cfg.data.name == "mnist"  # the targets are MNIST's (Erhan et al.'s figures): none for other data
    if 600 in counts and {"scratch", "pretrained"} <= set(s.methods):
        gain = mean_of[("scratch", 600)] - mean_of[("pretrained", 600)]
        results.update(gain_at_600_points=gain, **{"target_gain_at_600_met": gain >= 3.0} if mnist else {})
        notes.append(f"Gain of pretraining at 600 labels: {gain:.2f} points{' (target >= 3)' * mnist}.")
    if "pretrained" in s.methods and max(counts) >= len(train):
        all_error = mean_of[("pretrained", max(counts))]
        results.update(pretrained_error_all_labels=all_error, **{"target_all_labels_met": all_error <= 1.5} if mnist else {})
        notes.append(f"Pretrained + fine-tuned with all labels: {all_error:.2f}%{' (target <= 1.5%)' * mnist}.")
    results["tables"] = [error_table("pretrain-mnist: test error %", rows, LABELS, notes)]
    fewest = min(counts)  # the headline (`--quiet` prints it): the fewest labels, where pretraining should help most
    results["summary"] = f"{cfg.data.name}, {fewest} labels, test error: " + ", ".join(
        f"{m} {mean_of[(m, fewest)]:.2f}%" for m in s.methods)
    plot_error_vs_labels(run_dir / "error_vs_labels.png", rows, labels=LABELS,
                         title=f"{train.name}, sigmoid net {net}: test error against labels")
    results["figures"] = {"error_vs_labels.png": "test error (mean ± std over the seeds) against the number of "
                                                 "labels, per method"}  # the report's caption
    return results


# --- self-taught learning ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SelfTaught:
    unlabelled_limit: int | None = None  # digits 5-9 to learn features from (None = all ~29,400)
    labelled_limit: int | None = None  # training digits 0-4 for the classifier (None = all ~30,600)
    test_limit: int | None = None  # test digits 0-4 (None = all ~5,100)
    C: float = 1.0  # inverse regularisation of the logistic regression
    max_iter: int = 500
    raw_baseline: bool = True  # also fit logistic regression on raw pixels
    threads: int = 0

    def __post_init__(self) -> None:
        check_positive(self, "unlabelled_limit", "labelled_limit", "test_limit", "C", "max_iter")
        check_seeds_and_threads(self)


@register_experiment(
    "self-taught-mnist",
    models=(("sparse-kl",), "learns a sparse-kl model's features; it trains sparse-kl only"),
    settings=SelfTaught,
    defaults={
        "data": {"name": "mnist", "val_fraction": 0.0},
        # UFLDL minimises mean(0.5 * squared error) + lambda/2 * sum W^2 + beta * sum KL with rho = 0.1,
        # beta = 3, lambda = 3e-3; aekit's squared error has no 0.5, so the same balance is
        # weight_l2 = lambda and sparsity_weight = 2 * beta
        "model": {"name": "sparse-kl", "code_size": 200, "sparsity_target": 0.1, "sparsity_weight": 6.0,
                  "weight_l2": 3e-3, "recon_loss": "mse", "output_activation": "sigmoid"},
        "train": {"epochs": 20},  # Adam epochs over the unlabelled digits (UFLDL: 400 L-BFGS iterations)
    },
    tiny={
        "data": {"name": "mnist-mini"},
        "model": {"code_size": 32},
        "train": {"epochs": 1},
        "experiment": {"unlabelled_limit": 300, "labelled_limit": 200, "test_limit": 100, "max_iter": 30},
    },
    data_keys=("name", "layout", "scale", "image_size"),
)
def self_taught_mnist(cfg: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    s = cfg.experiment
    with torch_threads(s.threads):
        train, test = read_split(cfg, "train"), test_part("self-taught-mnist", cfg, cfg.data.name)
        check_data("self-taught-mnist", cfg.data.name, train, test, labels=True)
        unlabelled = train.subset(np.flatnonzero(train.y.numpy() >= 5)).take(s.unlabelled_limit, seed=0)
        labelled = train.subset(np.flatnonzero(train.y.numpy() < 5)).take(s.labelled_limit, seed=0)
        test = test.subset(np.flatnonzero(test.y.numpy() < 5)).take(s.test_limit, seed=0)
        # features from the classes 5 and up, a classifier of the classes below 5
        for what, part, fewest in (("training samples labelled 5 or more", unlabelled, 1),
                                   ("classes below 5 among the training labels", np.unique(labelled.y.numpy()), 2),
                                   ("test samples labelled below 5", test, 1)):
            if len(part) < fewest:
                raise DataError(f"self-taught-mnist learns features from the samples labelled 5 or more and classifies "
                                f"those labelled 0-4: it needs {fewest} or more {what}, and data.name={cfg.data.name} "
                                f"has {len(part)} (its training labels: {torch.unique(train.y).tolist()[:12]})")

        start = time.perf_counter()
        sae, history = train_model(cfg, (dataclasses.replace(unlabelled, y=None), None, None), folder=run_dir, tag="sae")
        sae_seconds = time.perf_counter() - start
        feats_train = encode_all(sae, labelled.x)  # (N, code_size) sigmoid activations
        feats_test = encode_all(sae, test.x)
        mean_activation = float(feats_train.mean())

        def logistic(a_train: np.ndarray, a_test: np.ndarray) -> tuple[float, float]:
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:  # scikit-learn's warning is a page; one line here
                warnings.simplefilter("always", ConvergenceWarning)
                clf = LogisticRegression(C=s.C, max_iter=s.max_iter).fit(a_train, labelled.y.numpy())
            if any(issubclass(w.category, ConvergenceWarning) for w in caught):
                print(f"note: logistic regression did not converge in experiment.max_iter={s.max_iter} iterations",
                      flush=True)
            return float(clf.score(a_test, test.y.numpy())), time.perf_counter() - start

        accuracy, lr_seconds = logistic(feats_train, feats_test)
        results: dict[str, Any] = {
            "accuracy": accuracy, "sae_seconds": sae_seconds, "logistic_seconds": lr_seconds,
            "sae_final_loss": history["train_loss"][-1], "mean_code_activation": mean_activation,
            "unlabelled": len(unlabelled), "labelled": len(labelled), "test": len(test),
        }
        print(f"self-taught features: test accuracy {100 * accuracy:.2f}% (SAE {sae_seconds:.0f}s, mean activation {mean_activation:.3f})", flush=True)
        rows = [[f"sparse autoencoder {math.prod(train.sample_shape)}-{sae.code_size} (learnt on 5-9)", f"{100 * accuracy:.2f}%"]]
        if s.raw_baseline:
            raw_accuracy, raw_seconds = logistic(labelled.x.flatten(1).numpy(), test.x.flatten(1).numpy())
            results.update(raw_pixel_accuracy=raw_accuracy, raw_logistic_seconds=raw_seconds)
            rows.append(["raw pixels", f"{100 * raw_accuracy:.2f}%"])
            print(f"raw pixels: test accuracy {100 * raw_accuracy:.2f}%", flush=True)

    target = cfg.model.get("sparsity_target", 0.1)
    digits = train.name in DIGITS
    high, low = ("digits 5-9", "digits 0-4") if digits else ("samples labelled 5 or more", "samples labelled 0-4")
    results["tables"] = [table(
        f"self-taught-mnist: features from {high}, logistic regression on {low}", ["features", "test accuracy"], rows,
        [f"{len(unlabelled)} unlabelled {high}, {len(labelled)} labelled training {low}, {len(test)} test {low}.",
         "UFLDL reports ~98% with features (~96% raw) on MNIST." if digits else "",
         f"Mean code activation {mean_activation:.3f} (target {target})."])]
    raw = f" vs {100 * results['raw_pixel_accuracy']:.2f}% on raw pixels" if "raw_pixel_accuracy" in results else ""
    results["summary"] = (f"self-taught-mnist on {train.name}: logistic regression on {low} reaches "
                          f"{100 * accuracy:.2f}% test accuracy with features learnt from {high}{raw}")
    return results
