"""The default choice against PCA: `aekit train data.name=X model.code_size=K train.time_budget=S`.

Runs exactly what that command runs (no config file: the automatic model, the budgeted schedule,
restore-best on a held-out 10%) on data sets the recipes were never tuned to, and prints the test
squared error per sample of the autoencoder and of PCA with the same code size (fitted on the same
training part), with the wall time of the whole run and the load average.

- fashion-mnist: all 60,000 training images (needs AEKIT_DATA_DIR with fashion-mnist/)
- mnist-5k: MNIST limited to 5,000 training images (data.limit=5000; needs mnist/)
- digits: scikit-learn's 1,797 8x8 digits
- cifar-like: a CIFAR-10-format folder (the pickled `cifar-10-batches-py/` batches) of 32x32 colour
  crops of the photographs that ship with scikit-image (`pip install scikit-image`), written here;
  real CIFAR-10 is read the same way when it is in $AEKIT_DATA_DIR (use `--cifar real`)
- bbc-news: the BBC News corpus as TF-IDF vectors (MSE; needs bbc-news/)
- wine, breast-cancer: scikit-learn's bundled tables (13 and 30 raw columns on very different
  scales), written as .npz with a seeded stratified 75/25 split: a user's own table, scaled column
  by column (data.scale auto); K larger than half the columns is skipped
- diabetes: scikit-learn's 442-row table of 10 raw columns and the disease progression (11 inputs,
  no labels), 75/25: a small table whose validation tenth is some 30 rows
- patches: 20,000 16x16 grey patches cut at random from scikit-image's photographs (uint8 .npz,
  16,000 + 4,000): natural-image statistics, where PCA is strong
- signals: 12,000 windows of 6 channels x 128 steps, IMU-like (three accelerometer axes with
  gravity, three gyro axes 120x larger; sines with a harmonic, drift and noise), standardised per
  channel as the docs advise, 9,600 + 2,400 (.npz): read as one range into [0, 1]

Goal (issue 12): the autoencoder below PCA on every row with --budget 300 on this 2-core CPU.

    AEKIT_DATA_DIR=/work/shared/data python benchmarks/defaults.py [--budget 300] [--ks 2 8 32] [--sets digits ...]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

SETS = {
    "fashion-mnist": ["data.name=fashion-mnist"],
    "mnist-5k": ["data.name=mnist", "data.limit=5000"],
    "digits": ["data.name=digits"],
    "cifar-like": ["data.name=cifar10"],
    "bbc-news": ["data.name=bbc-news"],
    "wine": [],  # data.name: a file written by write_table
    "breast-cancer": [],
    "diabetes": [],
    "patches": [],  # written by write_patches
    "signals": [],  # written by write_signals
}
TABLES = {"wine": "load_wine", "breast-cancer": "load_breast_cancer", "diabetes": "load_diabetes"}


def write_patches(folder: Path, n: int = 20_000, size: int = 16, seed: int = 0) -> Path:
    """`n` grey size x size patches cut at random from scikit-image's photographs, in folder/patches.npz."""
    import skimage.data
    from skimage.color import rgb2gray

    photos = []
    for name in ("camera", "astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "moon", "page",
                 "text", "clock", "horse"):
        try:
            img = np.asarray(getattr(skimage.data, name)())
        except Exception:  # noqa: BLE001  (a photo this scikit-image cannot load offline is skipped)
            continue
        img = rgb2gray(img[..., :3]) * 255 if img.ndim == 3 else img.astype(np.float64) * (255 if img.dtype == bool else 1)
        photos.append(img)
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size), np.uint8)
    for i in range(n):
        img = photos[int(rng.integers(len(photos)))]
        top, left = rng.integers(img.shape[0] - size), rng.integers(img.shape[1] - size)
        out[i] = np.clip(img[top : top + size, left : left + size], 0, 255)
    folder.mkdir(parents=True, exist_ok=True)
    cut = n * 4 // 5
    np.savez(folder / "patches.npz", x_train=out[:cut], x_test=out[cut:])
    return folder / "patches.npz"


def write_signals(folder: Path, n: int = 12_000, steps: int = 128, seed: int = 0) -> Path:
    """IMU-like windows (n, 6, steps), standardised per channel, in folder/signals.npz."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps) / 50.0
    freq = rng.uniform(0.5, 3, (n, 1, 1))
    phase, amp = rng.uniform(0, 2 * np.pi, (n, 6, 1)), rng.uniform(0.2, 2, (n, 6, 1))
    wave = amp * (np.sin(2 * np.pi * freq * t + phase) + 0.3 * np.sin(4 * np.pi * freq * t + phase))
    x = wave + np.cumsum(rng.normal(0, 0.02, (n, 6, steps)), axis=2) + rng.normal(0, 0.1, (n, 6, steps))
    x[:, 2] += 9.81  # gravity on the vertical accelerometer axis
    x[:, 3:] *= 120  # gyro axes in other units
    x = ((x - x.mean((0, 2), keepdims=True)) / x.std((0, 2), keepdims=True)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    cut = n * 4 // 5
    np.savez(folder / "signals.npz", x_train=x[:cut], x_test=x[cut:])
    return folder / "signals.npz"


def write_table(name: str, folder: Path) -> Path:
    """scikit-learn's bundled table `name` as x_train/y_train/x_test/y_test in folder/NAME.npz, raw values."""
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    if name == "diabetes":  # the progression is one of the 11 inputs: no labels
        x, y = sklearn.datasets.load_diabetes(return_X_y=True, scaled=False)
        a, b = train_test_split(np.column_stack([x, y]).astype(np.float32), test_size=0.25, random_state=0)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / f"{name}.npz", x_train=a, x_test=b)
        return folder / f"{name}.npz"
    x, y = getattr(sklearn.datasets, TABLES[name])(return_X_y=True)
    a, b, ya, yb = train_test_split(x.astype(np.float32), y, test_size=0.25, random_state=0, stratify=y)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / f"{name}.npz", x_train=a, y_train=ya, x_test=b, y_test=yb)
    return folder / f"{name}.npz"


def write_cifar_like(folder: Path, n_train: int = 4000, n_test: int = 1000, seed: int = 0) -> None:
    """32x32 crops (of 32 to 160 pixels, resized) of scikit-image's colour photographs, as CIFAR batches."""
    import skimage.data
    from skimage.transform import resize

    names = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
             "colorwheel", "logo", "cat"]
    photos = []
    for name in names:
        try:
            img = np.asarray(getattr(skimage.data, name)())
        except Exception:  # noqa: BLE001  (a photo this scikit-image cannot load offline is skipped)
            continue
        if img.ndim == 3 and img.shape[2] >= 3:
            photos.append(img[..., :3])
    rng = np.random.default_rng(seed)

    def crops(n: int) -> tuple[np.ndarray, list[int]]:
        out, labels = np.empty((n, 3072), np.uint8), []
        for i in range(n):
            k = int(rng.integers(len(photos)))
            img = photos[k]
            size = int(rng.integers(32, min(160, *img.shape[:2]) + 1))
            top, left = rng.integers(img.shape[0] - size + 1), rng.integers(img.shape[1] - size + 1)
            patch = resize(img[top : top + size, left : left + size], (32, 32), anti_aliasing=True)
            out[i] = (patch * 255).round().astype(np.uint8).transpose(2, 0, 1).reshape(-1)  # CIFAR: R, G, B planes
            labels.append(k)
        return out, labels

    folder.mkdir(parents=True, exist_ok=True)
    per = n_train // 5
    for b in range(5):
        data, labels = crops(per)
        with open(folder / f"data_batch_{b + 1}", "wb") as f:
            pickle.dump({b"data": data, b"labels": labels}, f)
    data, labels = crops(n_test)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": data, b"labels": labels}, f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300)
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--cifar", choices=["made", "real"], default="made")
    parser.add_argument("--out", default=None, help="run folders go here (default: a temporary folder)")
    parser.add_argument("--overrides", nargs="*", default=[], help="settings added to every run (model.dropout=0.0)")
    args = parser.parse_args()

    from aekit.apps import run

    work = Path(args.out or tempfile.mkdtemp(prefix="aekit-defaults-"))
    data_dir = os.environ.get("AEKIT_DATA_DIR")
    if "cifar-like" in args.sets and args.cifar == "made":
        made = work / "data"
        write_cifar_like(made / "cifar10" / "cifar-10-batches-py")
        for name in ("mnist", "fashion-mnist", "bbc-news"):  # the other sets stay where they were
            if data_dir and (Path(data_dir) / name).exists() and not (made / name).exists():
                (made / name).symlink_to(Path(data_dir).resolve() / name)
        os.environ["AEKIT_DATA_DIR"] = str(made)

    print(f"budget {args.budget:g} s a run; load average at the start {os.getloadavg()[0]:.2f}")
    print(f"{'data':<14} {'K':>3} {'AE':>9} {'PCA':>9} {'AE/PCA':>7} {'seconds':>8} {'epochs':>7} {'load':>5}")
    for name in args.sets:
        data, columns = SETS[name], None
        if name in TABLES:
            path = write_table(name, work / "tables")
            data, columns = [f"data.name={path}"], np.load(path)["x_train"].shape[1]
        elif name in ("patches", "signals"):
            data = [f"data.name={(write_patches if name == 'patches' else write_signals)(work / 'arrays')}"]
        for k in args.ks:
            if columns is not None and 2 * k > columns:  # a code of more than half the columns: little to compress
                continue
            overrides = [*data, f"model.code_size={k}", f"train.time_budget={args.budget}",
                         f"output.dir={work / 'runs'}", f"output.name={name}-{k}", "train.progress=false", *args.overrides]
            start = time.perf_counter()
            run_dir = run.train(run.load_run_config(None, overrides))
            seconds = time.perf_counter() - start
            m = json.loads((run_dir / "metrics.json").read_text())
            epochs = len(json.loads((run_dir / "history.json").read_text())["epoch"])
            ae, pca = m["squared_error_per_sample"], m["pca_squared_error_per_sample"]
            print(f"{name:<14} {k:>3} {ae:>9.4f} {pca:>9.4f} {ae / pca:>7.3f} {seconds:>8.0f} {epochs:>7} "
                  f"{os.getloadavg()[0]:>5.2f}", flush=True)
    print(f"run folders: {work / 'runs'}")


if __name__ == "__main__":
    main()
