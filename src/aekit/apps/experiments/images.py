"""The classic image experiments on MNIST, as named runs (`aekit experiment run NAME [key=value] [--tiny]`).

  mnist-2d             a 2-d deep autoencoder's code map next to PCA's (Hinton & Salakhutdinov 2006, fig. 3)
  mnist-deep-vs-pca    784-1000-500-250-30 against PCA-30: error per test image and fig. 2B's rows
  denoising-mnist      denoising autoencoders for three noises, PSNR against a plain autoencoder
  sparse-mnist         a KL-sparse 784-200 autoencoder against the same without the penalty
  tied-mnist           tied against untied decoder weights
  conv-mnist           the conv model's three decoders: upsample, transposed conv, unpooling
  generate-mnist-grid  a 2-d VAE (or autoencoder): the digit manifold, samples, interpolation

Each run folder gets the pictures (PNG), table.md, results.json, history-<model>.json and
model-<model>.safetensors of every trained model, and report.html (aekit.apps.report) with all of it.
Full-size defaults train on MNIST (AEKIT_DATA_DIR=/work/shared/data); when full MNIST is missing
they fall back to the bundled mnist-mini digits and say so. Errors are squared errors per test
image, summed over its 784 pixels in [0, 1], as in Hinton & Salakhutdinov (2006).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...analysis import plots
from ...analysis.features import first_layer_weights, unit_activations
from ...analysis.generate import interpolate, latent_grid, random_samples
from ...analysis.latent import encode_all, reconstruct_all
from ...config import check
from ...data import Dataset, load_dataset
from ...errors import DataNotFoundError
from ...registry import create_model
from ...training.checkpoint import atomic_write_text, save_model
from ...training.loop import evaluate, fit
from ..run import squared_error_per_sample
from . import register_experiment

# settings every image experiment has; each experiment adds its own
COMMON = {
    "data": "mnist",  # a data set name; full MNIST falls back to mnist-mini when missing
    "train_limit": None,  # a seeded random subset of the training digits; null = all
    "test_limit": None,  # evaluate on at most this many test digits; null = all
    "val_fraction": 0.1,  # held out of the training digits for the validation curves
    "epochs": 10,
    "batch_size": 128,
    "lr": 0.001,
    "seed": 0,
}
TINY = {"data": "mnist-mini", "train_limit": 500, "test_limit": 100, "epochs": 2, "batch_size": 64, "lr": 0.003}


# --- shared pieces -------------------------------------------------------------------------------


def _whole(key: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    check(ok, key, f"must be a whole number > 0{' or null' if allow_none else ''}, got {value!r}")


def _check_common(s: dict[str, Any]) -> None:
    check(isinstance(s["data"], str), "data", f"must be a data set name such as mnist or mnist-mini, got {s['data']!r}")
    _whole("train_limit", s["train_limit"], allow_none=True)
    _whole("test_limit", s["test_limit"], allow_none=True)
    _whole("epochs", s["epochs"])
    _whole("batch_size", s["batch_size"])
    check(_is_number(s["lr"]) and s["lr"] > 0, "lr", f"must be a number > 0, got {s['lr']!r}")
    check(_is_number(s["val_fraction"]) and 0 < s["val_fraction"] < 1, "val_fraction",
          f"must be between 0 and 1 (exclusive), got {s['val_fraction']!r}")
    check(isinstance(s["seed"], int) and not isinstance(s["seed"], bool), "seed", f"must be a whole number, got {s['seed']!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_images(s: dict[str, Any]) -> tuple[Dataset, Dataset, Dataset, str]:
    """(train, val, test, data note) as the settings say; full MNIST falls back to mnist-mini."""
    name, note = s["data"], s["data"]
    try:
        train, test = load_dataset(name, "train"), load_dataset(name, "test")
    except DataNotFoundError as err:
        if name != "mnist":
            raise
        print(f"full MNIST is missing ({str(err).split(';')[0]}); using the bundled mnist-mini digits instead")
        train, test = load_dataset("mnist-mini", "train"), load_dataset("mnist-mini", "test")
        note = "mnist-mini (full MNIST missing)"
    train = train.take(s["train_limit"], seed=s["seed"])
    test = test.take(s["test_limit"], seed=s["seed"])
    train, val = train.split(s["val_fraction"], seed=s["seed"])
    return train, val, test, note


def one_per_class(data: Dataset, per_class: int = 1) -> np.ndarray:
    """Indices of the first `per_class` images of each class, class by class (the first 10 without labels)."""
    if data.y is None:
        return np.arange(min(10 * per_class, len(data)))
    labels = data.y.numpy()
    return np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)])


def fit_pca(train: Dataset, k: int):
    from sklearn.decomposition import PCA

    return PCA(n_components=k, svd_solver="randomized", random_state=0).fit(train.x.reshape(len(train), -1).numpy())


def pca_reconstruct(pca, data: Dataset) -> np.ndarray:
    """(N, *sample) reconstructions through PCA's k components."""
    flat = data.x.reshape(len(data), -1).numpy()
    return pca.inverse_transform(pca.transform(flat)).reshape(data.x.shape).astype(np.float32)


def squared_errors(recon: np.ndarray, data: Dataset) -> np.ndarray:
    """(N,) squared error of each reconstruction, summed over its pixels."""
    return ((recon.reshape(len(data), -1) - data.x.reshape(len(data), -1).numpy()) ** 2).sum(1)


def psnr(output: torch.Tensor | np.ndarray, clean: torch.Tensor) -> float:
    """Mean over images of 10 log10(1 / MSE) in dB (pixels in [0, 1])."""
    out = torch.as_tensor(output).float().reshape(len(clean), -1)
    mse = ((out - clean.float().reshape(len(clean), -1)) ** 2).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(1.0 / mse)).mean())


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 1e5 else f"{v:,.0f}"
        return f"{v:,}" if isinstance(v, int) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def widths(data: Dataset, hidden: list[int], code: int) -> str:
    """Layer widths such as 784-1000-500-250-30."""
    return "-".join(str(w) for w in [data.x[0].numel(), *hidden, code])


@dataclass
class Run:
    """One experiment's run folder: trains and saves models, pictures, and the closing files."""

    dir: Path
    s: dict[str, Any]  # the settings
    figures: dict[str, str] = field(default_factory=dict)  # PNG file name -> caption
    seconds: dict[str, float] = field(default_factory=dict)  # model tag -> training seconds

    def train(self, tag: str, model_name: str, train: Dataset, val: Dataset, **model_config: Any):
        """Build and fit one model; writes history-<tag>.json and model-<tag>.safetensors."""
        torch.manual_seed(self.s["seed"])  # the same seed gives the same initial weights
        model = create_model(model_name, input_shape=train.sample_shape, **model_config)
        s = self.s
        print(f"  training {tag} ({model.num_parameters():,} parameters) on {len(train):,} digits for {s['epochs']} epoch{'s' * (s['epochs'] != 1)}",
              flush=True)
        history = fit(model, train, val, epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"],
                      seed=s["seed"], progress=False)
        self.seconds[tag] = float(sum(history["time"]))
        atomic_write_text(self.dir / f"history-{tag}.json", json.dumps(history, indent=1))
        save_model(model, self.dir / f"model-{tag}.safetensors")
        return model, history

    def picture(self, fig, name: str, caption: str) -> None:
        plots.save_figure(fig, self.dir / name)
        self.figures[name] = caption

    def finish(self, results: dict[str, Any], table: str) -> dict[str, Any]:
        """Write table.md; returns the results with the figures' captions (run_experiment saves them)."""
        atomic_write_text(self.dir / "table.md", table.rstrip() + "\n")
        return {**results, "figures": self.figures}


def rows_picture(rows: list[np.ndarray], labels: list[str], *, title: str, col_labels: list[str] | None = None):
    """Rows of images (each (n, *sample)) as one labelled grid."""
    return plots.image_grid(np.stack([np.asarray(r, dtype=np.float32) for r in rows]), title=title,
                            row_labels=labels, col_labels=col_labels)


# --- mnist-2d ------------------------------------------------------------------------------------


@register_experiment(
    "mnist-2d",
    "2-d codes of a deep autoencoder vs PCA's 2-d map, coloured by digit, and the decoded code grid",
    defaults={**COMMON, "hidden": [1000, 500, 250], "map_points": 5000, "grid": 20},
    tiny={**TINY, "hidden": [64], "map_points": 200, "grid": 6},
)
def mnist_2d(s: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    from sklearn.neighbors import KNeighborsClassifier

    _check_common(s)
    _whole("map_points", s["map_points"])
    _whole("grid", s["grid"])
    run = Run(run_dir, s)
    train, val, test, note = load_images(s)
    model, _ = run.train("autoencoder", "dense", train, val, hidden=tuple(s["hidden"]), code_size=2)
    pca = fit_pca(train, 2)
    name = widths(train, s["hidden"], 2)

    shown = test.subset(range(min(s["map_points"], len(test))))
    ae_codes = encode_all(model, shown)
    pca_codes = pca.transform(shown.x.reshape(len(shown), -1).numpy())
    fig = plots.scatter_maps(
        {"autoencoder code": ae_codes, "PCA": pca_codes},
        shown.y.numpy() if shown.y is not None else None,
        title=f"2-d maps of {len(shown):,} test digits: {name} autoencoder (left) vs PCA (right)",
        axis_names={"autoencoder code": ("z[0]", "z[1]"), "PCA": ("principal component 1", "principal component 2")},
        classes=test.classes,
    )
    run.picture(fig, "code-maps.png", "Each test digit's 2-d code, coloured by its label: the autoencoder's (left) "
                "separates the classes far better than the first two principal components (right)")
    _, fig = latent_grid(model, n=s["grid"], data=train.subset(range(min(5000, len(train)))))
    run.picture(fig, "latent-grid.png", "Codes on a regular grid over the region the training codes fill "
                "(2nd-98th percentile), decoded: the digit manifold the decoder learned")

    ae_err = squared_error_per_sample(model, test.x)
    pca_recon = pca_reconstruct(pca, test)
    pca_err = squared_errors(pca_recon, test)
    idx = one_per_class(test)
    fig = rows_picture(
        [test.x[idx].numpy(), reconstruct_all(model, test.x[idx]), pca_recon[idx]],
        ["original", "autoencoder-2", "PCA-2"],
        title=f"Test digits through a 2-number code (squared error per image: autoencoder {ae_err.mean():.1f}, PCA {pca_err.mean():.1f})",
    )
    run.picture(fig, "reconstructions.png", "One test digit per class, reconstructed from 2 numbers")

    # how well each map keeps the classes apart: 5-NN accuracy on test codes, neighbours from train codes
    fit_on = train.subset(range(min(10000, len(train))))
    knn = {}
    for method, encode in (("autoencoder", lambda d: encode_all(model, d)),
                           ("PCA", lambda d: pca.transform(d.x.reshape(len(d), -1).numpy()))):
        if fit_on.y is None or test.y is None:
            break
        clf = KNeighborsClassifier(n_neighbors=5).fit(encode(fit_on), fit_on.y.numpy())
        knn[method] = float(clf.score(encode(test), test.y.numpy()))

    rows = [
        {"method": f"{name} autoencoder", "code_size": 2, "squared_error_per_image": float(ae_err.mean()),
         "knn5_accuracy": knn.get("autoencoder")},
        {"method": "PCA", "code_size": 2, "squared_error_per_image": float(pca_err.mean()), "knn5_accuracy": knn.get("PCA")},
    ]
    table = md_table(
        ["method", "code size", "squared error per test image", "5-NN accuracy of the 2-d code"],
        [[r["method"], 2, r["squared_error_per_image"], "—" if r["knn5_accuracy"] is None else f"{100 * r['knn5_accuracy']:.1f}%"]
         for r in rows],
    )
    knn_text = f"; 5-NN accuracy {100 * knn['autoencoder']:.1f}% vs {100 * knn['PCA']:.1f}%" if len(knn) == 2 else ""
    summary = (f"2-d codes on {note}: squared error per test image {ae_err.mean():.2f} (autoencoder) vs "
               f"{pca_err.mean():.2f} (PCA){knn_text}")
    return run.finish({"summary": summary, "data": note, "rows": rows, "train_seconds": run.seconds}, table)


# --- mnist-deep-vs-pca ---------------------------------------------------------------------------


@register_experiment(
    "mnist-deep-vs-pca",
    "784-1000-500-250-30 autoencoder vs PCA-30: squared error per test image and originals / AE / PCA rows",
    defaults={**COMMON, "hidden": [1000, 500, 250], "code_size": 30, "activation": "elu", "per_class": 1},
    tiny={**TINY, "hidden": [64], "code_size": 8, "per_class": 1},
)
def mnist_deep_vs_pca(s: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    _check_common(s)
    _whole("code_size", s["code_size"])
    _whole("per_class", s["per_class"])
    run = Run(run_dir, s)
    train, val, test, note = load_images(s)
    k = s["code_size"]
    model, _ = run.train("deep", "dense", train, val, hidden=tuple(s["hidden"]), code_size=k,
                         activation=s["activation"], code_activation="linear")
    pca = fit_pca(train, k)
    ae_err = squared_error_per_sample(model, test.x)
    pca_recon = pca_reconstruct(pca, test)
    pca_err = squared_errors(pca_recon, test)
    name = widths(train, s["hidden"], k)

    idx = one_per_class(test, s["per_class"])
    fig = rows_picture(
        [test.x[idx].numpy(), reconstruct_all(model, test.x[idx]), pca_recon[idx]],
        ["original", f"autoencoder-{k}", f"PCA-{k}"],
        title=(f"Test digits and their {k}-number reconstructions (mean squared error per image: "
               f"autoencoder {ae_err.mean():.2f}, PCA {pca_err.mean():.2f})"),
    )
    run.picture(fig, "originals-ae-pca.png", f"As in Hinton & Salakhutdinov (2006), fig. 2B: a test digit of each "
                f"class (top), its reconstruction by the {name} autoencoder (middle) and by PCA-{k} (bottom)")

    rows = [
        {"method": f"{name} autoencoder", "code_size": k, "parameters": model.num_parameters(),
         "squared_error_per_image": float(ae_err.mean()), "median": float(np.median(ae_err)),
         "train_seconds": run.seconds["deep"]},
        {"method": f"PCA-{k}", "code_size": k, "parameters": int(pca.components_.size + pca.mean_.size),
         "squared_error_per_image": float(pca_err.mean()), "median": float(np.median(pca_err)), "train_seconds": None},
    ]
    table = md_table(
        ["method", "code size", "parameters", "squared error per test image (mean)", "median"],
        [[r["method"], k, r["parameters"], r["squared_error_per_image"], r["median"]] for r in rows],
    )
    per_class = {}
    if test.y is not None:
        labels = test.y.numpy()
        classes = test.classes or [str(c) for c in np.unique(labels)]
        per_class = {classes[int(c)]: [float(ae_err[labels == c].mean()), float(pca_err[labels == c].mean())]
                     for c in np.unique(labels)}
        table += "\n\n## Squared error per test image, by digit\n\n" + md_table(
            ["digit", "autoencoder", f"PCA-{k}"], [[c, a, p] for c, (a, p) in per_class.items()]
        )
    table += ("\n\nHinton & Salakhutdinov (2006) report 3.00 for their RBM-pretrained 784-1000-500-250-30 "
              "autoencoder and 13.87 for PCA-30 on the MNIST test set. A longer run without pretraining, "
              "`aekit train configs/mnist-deep-quality.yaml` (60 epochs, cosine schedule), reaches 2.71.")
    summary = (f"{k}-d codes on {note}: squared error per test image {ae_err.mean():.2f} (autoencoder) vs "
               f"{pca_err.mean():.2f} (PCA-{k})")
    return run.finish({"summary": summary, "data": note, "n_test": len(test), "rows": rows,
                       "per_class": per_class}, table)


# --- denoising-mnist -----------------------------------------------------------------------------

NOISES = {  # experiment name -> (the denoising model's `noise`, the setting that sizes it)
    "gaussian": ("gaussian", "gaussian_std"),
    "masking": ("masking", "masking_fraction"),
    "salt-and-pepper": ("salt_and_pepper", "salt_and_pepper_fraction"),
}


@register_experiment(
    "denoising-mnist",
    "denoising autoencoders for gaussian / masking / salt-and-pepper noise: pictures and PSNR vs a plain AE",
    defaults={**COMMON, "hidden": [500], "code_size": 128, "gaussian_std": 0.5, "masking_fraction": 0.5,
              "salt_and_pepper_fraction": 0.2},
    tiny={**TINY, "hidden": [64], "code_size": 16},
)
def denoising_mnist(s: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    _check_common(s)
    _whole("code_size", s["code_size"])
    check(_is_number(s["gaussian_std"]) and s["gaussian_std"] > 0, "gaussian_std", f"must be > 0, got {s['gaussian_std']!r}")
    for key in ("masking_fraction", "salt_and_pepper_fraction"):
        check(_is_number(s[key]) and 0 < s[key] < 1, key, f"must be between 0 and 1 (exclusive), got {s[key]!r}")
    run = Run(run_dir, s)
    train, val, test, note = load_images(s)
    shape = {"hidden": tuple(s["hidden"]), "code_size": s["code_size"], "code_activation": "relu"}
    plain, _ = run.train("plain", "dense", train, val, **shape)
    rows = []
    for label, (noise, key) in NOISES.items():
        amount = {"noise_std": s[key]} if noise == "gaussian" else {"noise_fraction": s[key]}
        model, _ = run.train(f"denoising-{label}", "denoising", train, val, noise=noise, **amount, **shape)
        with torch.no_grad():
            noisy = model.corrupt(test.x, generator=torch.Generator().manual_seed(s["seed"]))
        denoised, by_plain = reconstruct_all(model, noisy), reconstruct_all(plain, noisy)
        row = {"noise": label, "setting": f"{key} = {s[key]}", "psnr_noisy": psnr(noisy, test.x),
               "psnr_plain_autoencoder": psnr(by_plain, test.x), "psnr_denoising_autoencoder": psnr(denoised, test.x)}
        rows.append(row)
        idx = one_per_class(test)
        fig = rows_picture(
            [noisy[idx].numpy(), denoised[idx], by_plain[idx], test.x[idx].numpy()],
            ["noisy", "denoising AE", "plain AE", "clean"],
            title=f"{label} noise ({key} = {s[key]}), PSNR: noisy {row['psnr_noisy']:.1f} dB, denoising "
                  f"autoencoder {row['psnr_denoising_autoencoder']:.1f} dB, plain autoencoder {row['psnr_plain_autoencoder']:.1f} dB",
        )
        run.picture(fig, f"denoising-{label}.png",
                    f"{label} noise: noisy test digits, the denoising autoencoder's output, a plain autoencoder's "
                    "output for the same noisy input, and the clean digits")
    clean_psnr = psnr(reconstruct_all(plain, test.x), test.x)
    table = md_table(
        ["noise", "setting", "PSNR noisy input (dB)", "PSNR plain autoencoder (dB)", "PSNR denoising autoencoder (dB)"],
        [[r["noise"], r["setting"], r["psnr_noisy"], r["psnr_plain_autoencoder"], r["psnr_denoising_autoencoder"]]
         for r in rows],
    )
    table += (f"\n\nPSNR = mean over test images of 10 log10(1 / MSE), pixels in [0, 1]. Every model is "
              f"{widths(train, s['hidden'], s['code_size'])}; the plain autoencoder (trained on clean digits) "
              f"gets the same noisy inputs, and reaches {clean_psnr:.2f} dB on clean ones.")
    summary = f"denoising on {note}: PSNR " + ", ".join(
        f"{r['noise']} {r['psnr_noisy']:.1f} -> {r['psnr_denoising_autoencoder']:.1f} dB" for r in rows
    )
    return run.finish({"summary": summary, "data": note, "rows": rows, "psnr_plain_on_clean": clean_psnr,
                       "train_seconds": run.seconds}, table)


# --- sparse-mnist --------------------------------------------------------------------------------


@register_experiment(
    "sparse-mnist",
    "KL-sparse 784-200 sigmoid autoencoder vs the same without the penalty: activations and first-layer weights",
    # UFLDL's rho = 0.1, beta = 3 and weight decay lambda = 3e-3 (for both models: it keeps the weights
    # of pixels no digit uses at 0, so the pictures show strokes rather than noise)
    defaults={**COMMON, "code_size": 200, "sparsity_target": 0.1, "sparsity_weight": 3.0, "weight_l2": 0.003,
              "units_shown": 100},
    tiny={**TINY, "code_size": 32, "units_shown": 16},
)
def sparse_mnist(s: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    _check_common(s)
    _whole("units_shown", s["units_shown"])
    run = Run(run_dir, s)
    train, val, test, note = load_images(s)
    common = {"code_size": s["code_size"], "sparsity_target": s["sparsity_target"], "weight_l2": s["weight_l2"]}
    models = {
        "sparse": run.train("sparse", "sparse-kl", train, val, sparsity_weight=s["sparsity_weight"], **common)[0],
        "not-sparse": run.train("not-sparse", "sparse-kl", train, val, sparsity_weight=0.0, **common)[0],
    }
    rows, acts = [], {}
    for tag, model in models.items():
        a = unit_activations(model, test.x)  # (N, code_size) sigmoid activations
        acts[tag] = a
        unit_means = a.mean(0)
        rows.append({
            "model": tag, "sparsity_weight": model.config.sparsity_weight, "mean_activation": float(a.mean()),
            "share_below_0.05": float((a < 0.05).mean()), "share_of_units_mean_below_0.2": float((unit_means < 0.2).mean()),
            "squared_error_per_image": float(squared_error_per_sample(model, test.x).mean()),
        })
        fig = weights_picture(model, s["units_shown"], title=(
            f"First-layer weights, {'with' if tag == 'sparse' else 'without'} the sparsity penalty "
            f"(beta = {model.config.sparsity_weight:g}): {min(s['units_shown'], s['code_size'])} of {s['code_size']} "
            "units (grey = 0, light = positive)"))
        run.picture(fig, f"weights-{tag}.png",
                    f"First-layer weights of the {tag} model ({'with' if tag == 'sparse' else 'without'} the KL "
                    "penalty), each unit's 784 weights as a 28x28 image (grey = 0)")
    fig = plots.new_figure(7.5, 4.2)
    ax = fig.add_subplot()
    bins = np.linspace(0, 1, 41)
    for (tag, a), colour in zip(acts.items(), ("tab:blue", "tab:orange")):
        ax.hist(a.ravel(), bins=bins, alpha=0.6, color=colour, density=True,
                label=f"{tag} (mean {a.mean():.3f})")
    ax.axvline(s["sparsity_target"], color="black", linestyle="--", linewidth=1, label=f"target rho = {s['sparsity_target']}")
    ax.set_yscale("log")
    ax.set_xlabel("code unit activation (sigmoid)")
    ax.set_ylabel("density (log scale)")
    ax.set_title(f"Activations of the {s['code_size']} code units on {len(test):,} test digits")
    ax.legend(frameon=False)
    run.picture(fig, "activations.png", "How often the code units fire: with the penalty most activations sit near 0")
    table = md_table(
        ["model", "sparsity weight (beta)", "mean activation", "share of activations < 0.05",
         "share of units with mean < 0.2", "squared error per test image"],
        [[r["model"], r["sparsity_weight"], r["mean_activation"], r["share_below_0.05"],
          r["share_of_units_mean_below_0.2"], r["squared_error_per_image"]] for r in rows],
    )
    sparse, dense = rows
    summary = (f"sparse vs not on {note}: mean activation {sparse['mean_activation']:.3f} vs {dense['mean_activation']:.3f} "
               f"(target {s['sparsity_target']}), error per image {sparse['squared_error_per_image']:.2f} vs "
               f"{dense['squared_error_per_image']:.2f}")
    return run.finish({"summary": summary, "data": note, "rows": rows, "train_seconds": run.seconds}, table)


def weights_picture(model, units: int, *, title: str):
    """The first `units` first-layer weight vectors as images, 10 to a row, each scaled on its own."""
    weights = plots.scale_each(first_layer_weights(model)[:units])  # (units, 1, 28, 28), 0 -> mid-grey
    cols = min(10, len(weights))
    grid = np.full((math.ceil(len(weights) / cols) * cols, *weights.shape[1:]), 0.5, dtype=np.float32)
    grid[: len(weights)] = weights
    return plots.image_grid(grid.reshape(-1, cols, *weights.shape[1:]), title=title)


# --- tied-mnist ----------------------------------------------------------------------------------


@register_experiment(
    "tied-mnist",
    "tied vs untied decoder weights: parameters, test error, learning curves, reconstructions",
    defaults={**COMMON, "hidden": [500, 250], "code_size": 30},
    tiny={**TINY, "hidden": [64], "code_size": 8},
)
def tied_mnist(s: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    _check_common(s)
    _whole("code_size", s["code_size"])
    run = Run(run_dir, s)
    train, val, test, note = load_images(s)
    shape = {"hidden": tuple(s["hidden"]), "code_size": s["code_size"]}
    models, histories = {}, {}
    for tag, name in (("untied", "dense"), ("tied", "tied")):
        models[tag], histories[tag] = run.train(tag, name, train, val, **shape)
    rows = [{
        "model": tag, "parameters": m.num_parameters(),
        "squared_error_per_image": float(squared_error_per_sample(m, test.x).mean()),
        "final_val_loss": float(histories[tag]["val_loss"][-1]), "train_seconds": run.seconds[tag],
    } for tag, m in models.items()]
    fig = plots.learning_curves(histories, metric="recon", title="Tied vs untied: reconstruction loss per epoch")
    run.picture(fig, "learning-curves.png", "Reconstruction loss (cross-entropy summed over pixels) per epoch")
    idx = one_per_class(test)
    fig = rows_picture(
        [test.x[idx].numpy(), *(reconstruct_all(m, test.x[idx]) for m in models.values())],
        ["original", *models],
        title=f"Reconstructions by the untied and tied {widths(train, s['hidden'], s['code_size'])} autoencoders "
              "(squared error per test image: " + ", ".join(f"{r['model']} {r['squared_error_per_image']:.2f}" for r in rows) + ")",
    )
    run.picture(fig, "reconstructions.png", "A test digit of each class, reconstructed by each model")
    table = md_table(
        ["model", "parameters", "squared error per test image", "final val loss", "training seconds"],
        [[r["model"], r["parameters"], r["squared_error_per_image"], r["final_val_loss"], r["train_seconds"]] for r in rows],
    )
    untied, tied = rows
    summary = (f"tied vs untied on {note}: {tied['parameters']:,} vs {untied['parameters']:,} parameters, "
               f"error per image {tied['squared_error_per_image']:.2f} vs {untied['squared_error_per_image']:.2f}")
    return run.finish({"summary": summary, "data": note, "rows": rows}, table)


# --- conv-mnist ----------------------------------------------------------------------------------


@register_experiment(
    "conv-mnist",
    "conv autoencoder decoders compared: nearest upsampling, transposed conv, max-unpooling",
    defaults={**COMMON, "train_limit": 20000, "epochs": 5, "lr": 0.002, "channels": [16, 32], "code_size": 32},
    tiny={**TINY, "channels": [4, 8], "code_size": 8},
)
def conv_mnist(s: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    _check_common(s)
    check(s["code_size"] is None or (isinstance(s["code_size"], int) and s["code_size"] > 0), "code_size",
          f"must be a whole number > 0, or null for the feature-map code, got {s['code_size']!r}")
    run = Run(run_dir, s)
    train, val, test, note = load_images(s)
    models, rows = {}, []
    for decoder in ("upsample", "transpose", "unpool"):
        model, history = run.train(decoder, "conv", train, val, channels=tuple(s["channels"]),
                                   code_size=s["code_size"], decoder=decoder)
        models[decoder] = model
        rows.append({
            "decoder": decoder, "parameters": model.num_parameters(),
            "squared_error_per_image": float(squared_error_per_sample(model, test.x).mean()),
            "seconds_per_epoch": run.seconds[decoder] / len(history["time"]),
        })
    pca_err = None
    if s["code_size"] is not None and s["code_size"] < train.x[0].numel():
        pca_err = float(squared_errors(pca_reconstruct(fit_pca(train, s["code_size"]), test), test).mean())
    idx = one_per_class(test)
    fig = rows_picture(
        [test.x[idx].numpy(), *(reconstruct_all(m, test.x[idx]) for m in models.values())],
        ["original", *models],
        title="Conv autoencoder reconstructions by decoder (squared error per test image: "
              + ", ".join(f"{r['decoder']} {r['squared_error_per_image']:.2f}" for r in rows) + ")",
    )
    run.picture(fig, "reconstructions.png", "A test digit of each class through each decoder; unpooling puts each "
                "value back where the encoder's max was")
    table = md_table(
        ["decoder", "parameters", "squared error per test image", "seconds per epoch"],
        [[r["decoder"], r["parameters"], r["squared_error_per_image"], r["seconds_per_epoch"]] for r in rows],
    )
    code = s["code_size"] if s["code_size"] is not None else "the feature map"
    table += (f"\n\nEncoder: conv {s['channels']} with 2x2 max-pooling after each, code {code}. The unpool decoder "
              "also receives the encoder's pooling switches (where each max was), information beyond the code, "
              "so its lower error does not mean a better compression.")
    if pca_err is not None:
        table += f" PCA-{s['code_size']} on the same digits: {pca_err:.3f} per test image."
    best = min(rows, key=lambda r: r["squared_error_per_image"])
    summary = f"conv decoders on {note}: error per image " + ", ".join(
        f"{r['decoder']} {r['squared_error_per_image']:.2f}" for r in rows) + f" (best: {best['decoder']})"
    return run.finish({"summary": summary, "data": note, "rows": rows, "pca_squared_error_per_image": pca_err}, table)


# --- generate-mnist-grid -------------------------------------------------------------------------


@register_experiment(
    "generate-mnist-grid",
    "a 2-d VAE (or autoencoder): decoded latent grid (digit manifold), random samples, interpolation",
    defaults={**COMMON, "model": "vae", "hidden": [512, 256], "code_size": 2, "epochs": 20, "grid": 20,
              "samples": 32, "steps": 10},
    tiny={**TINY, "hidden": [64], "grid": 6, "samples": 16, "steps": 5},
)
def generate_mnist_grid(s: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    _check_common(s)
    check(s["model"] in ("vae", "dense"), "model", f"must be 'vae' or 'dense' (a plain autoencoder), got {s['model']!r}")
    for key in ("code_size", "grid", "samples"):
        _whole(key, s[key])
    check(s["code_size"] >= 2, "code_size", f"must be at least 2 to draw a 2-d grid, got {s['code_size']}")
    check(isinstance(s["steps"], int) and s["steps"] >= 2, "steps", f"must be a whole number >= 2, got {s['steps']!r}")
    run = Run(run_dir, s)
    train, val, test, note = load_images(s)
    extra = {"kl_warmup_steps": 1000} if s["model"] == "vae" else {}
    model, _ = run.train(s["model"], s["model"], train, val, hidden=tuple(s["hidden"]), code_size=s["code_size"], **extra)
    vae = s["model"] == "vae"
    dims = None if s["code_size"] == 2 else (0, 1)

    # the grid: the prior's +-2 standard deviations for a VAE; where the training codes lie for an AE
    grid_kw = {"limits": (-2.0, 2.0)} if vae else {"data": train.subset(range(min(5000, len(train))))}
    _, fig = latent_grid(model, n=s["grid"], dims=dims, **grid_kw)
    where = "-2..2 in each of z[0], z[1] (the prior's +-2 sd)" if vae else "the region the training codes fill"
    run.picture(fig, "latent-grid.png", f"Codes on a {s['grid']}x{s['grid']} grid over {where}, decoded: "
                "the digit manifold")

    codes = encode_all(model, train.subset(range(min(5000, len(train)))))
    if vae:
        _, fig = random_samples(model, s["samples"], seed=s["seed"])
        how = "z drawn from the prior N(0, I), decoded"
    else:  # a plain autoencoder has no prior: draw codes from a Gaussian fitted to the training codes
        rng = np.random.default_rng(s["seed"])
        z = rng.multivariate_normal(codes.mean(0), np.cov(codes, rowvar=False), size=s["samples"]).astype(np.float32)
        with torch.no_grad():
            images = model.decode(torch.from_numpy(z)).numpy()
        cols = min(8, s["samples"])
        padded = np.ones((math.ceil(s["samples"] / cols) * cols, *images.shape[1:]), dtype=np.float32)
        padded[: len(images)] = images
        fig = plots.image_grid(padded.reshape(-1, cols, *images.shape[1:]),
                               title=f"{model.name}: {s['samples']} samples from a Gaussian fitted to the codes")
        how = "z drawn from a Gaussian fitted to the training codes, decoded"
    run.picture(fig, "samples.png", f"{s['samples']} random samples: {how}")

    shown = test.subset(range(min(3000, len(test))))
    fig = plots.scatter_maps({"code": encode_all(model, shown)[:, :2]}, shown.y.numpy() if shown.y is not None else None,
                             title=f"{model.name}: codes of {len(shown):,} test digits",
                             axis_names={"code": ("z[0]", "z[1]")}, classes=test.classes)
    run.picture(fig, "code-map.png", "Where each test digit's code lies (the mean of q(z|x) for a VAE), by label")

    first = one_per_class(test)
    pairs = [(a, b) for a, b in ((0, 1), (2, 7), (4, 9), (3, 8)) if max(a, b) < len(first)]
    rows, labels = [], []
    for a, b in pairs:
        path, _ = interpolate(model, test.x[first[a]], test.x[first[b]], steps=s["steps"])
        rows.append(np.concatenate([test.x[first[a]][None].numpy(), path, test.x[first[b]][None].numpy()]))
        labels.append(f"{a} -> {b}" if test.y is not None else f"pair {len(labels) + 1}")
    t_values = [f"{t:.2f}" for t in np.linspace(0, 1, s["steps"])]
    fig = rows_picture(rows, labels, col_labels=["input A", *t_values, "input B"],
                       title=f"{model.name}: decoding the straight line between two test digits' codes")
    run.picture(fig, "interpolation.png", "Each row: input A, the codes from A to B decoded in equal steps, input B")

    terms = evaluate(model, test)
    err = float(squared_error_per_sample(model, test.x).mean())
    results: dict[str, Any] = {"data": note, "model": s["model"], "code_size": s["code_size"],
                               "squared_error_per_image": err, "test_loss": terms["loss"]}
    rows_md = [["squared error per test image", err], ["test reconstruction loss (nats)", terms["recon"]]]
    if vae:
        results["negative_elbo"] = terms["recon"] + terms["kl"]
        results["kl"] = terms["kl"]
        rows_md += [["test KL(q(z|x) || N(0, I)) (nats)", terms["kl"]],
                    ["test negative ELBO (nats per digit)", results["negative_elbo"]]]
    table = md_table(["measure", "value"], rows_md)
    summary = f"{s['model']} with a {s['code_size']}-d code on {note}: squared error per test image {err:.2f}" + (
        f", negative ELBO {results['negative_elbo']:.1f} nats" if vae else "")
    return run.finish({"summary": summary, **results, "train_seconds": run.seconds}, table)
