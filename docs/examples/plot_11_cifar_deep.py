"""
11. A deep autoencoder for colour images (CIFAR-10)
===================================================

The deep CIFAR-10 autoencoder of a course's later lessons: a dense 3072-2048-1024-512-256-128-64
network with batch norm and dropout between some layers (``configs/cifar-deep.yaml``), asked to
reconstruct 32x32 colour photos from 64 numbers.

**The data on this page.** aekit reads CIFAR-10 from ``$AEKIT_DATA_DIR/cifar10/cifar-10-batches-py/``.
When it is absent (as on the machine that built the published page), this script writes a small
stand-in *in CIFAR-10's own format* (pickled ``data_batch_1`` … ``data_batch_5`` and
``test_batch``) into a temporary folder and loads it with the same loader: 32x32 patches cut from
the two colour photographs that ship with scikit-learn (a Chinese temple and a flower), labelled
by photo. They are real photographs, but two of them, not CIFAR's 60,000: the figures show how
the model treats natural colour images, not CIFAR-10 results. The output below says which data
was used.
"""

# %%
import pickle
import tempfile
from pathlib import Path

import numpy as np
from _budget import BUDGET, choose
from sklearn.datasets import load_sample_images
from sklearn.decomposition import PCA

import aekit
from aekit.analysis import learning_curves, reconstruction_grid
from aekit.data import data_dir, load_dataset


def write_photo_patches_as_cifar(folder: Path, n_train: int, n_test: int, seed: int = 0) -> Path:
    """Random 32x32 patches of scikit-learn's two sample photos, written as CIFAR-10 batches."""
    photos = load_sample_images().images                      # two (427, 640, 3) uint8 photos
    rng = np.random.default_rng(seed)

    def patches(n):
        label = rng.integers(0, len(photos), n)
        rows, cols = rng.integers(0, 427 - 32, n), rng.integers(0, 640 - 32, n)
        x = np.stack([photos[k][r:r + 32, c:c + 32] for k, r, c in zip(label, rows, cols)])
        return x.transpose(0, 3, 1, 2).reshape(n, 3072), label.tolist()  # CIFAR rows: R, G, B planes

    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True, exist_ok=True)
    per_batch = n_train // 5
    for i in range(1, 6):
        x, y = patches(per_batch)
        (batches / f"data_batch_{i}").write_bytes(pickle.dumps({"data": x, "labels": y}))
    x, y = patches(n_test)
    (batches / "test_batch").write_bytes(pickle.dumps({"data": x, "labels": y}))
    return folder


real = any((data_dir() / p / "data_batch_1").is_file()
           for p in ("cifar10/cifar-10-batches-py", "cifar-10-batches-py"))
with tempfile.TemporaryDirectory() as scratch:  # the stand-in is read into memory, then removed
    root = None if real else write_photo_patches_as_cifar(Path(scratch), choose(tiny=500, full=5000),
                                                          choose(tiny=100, full=1000))
    train_all = load_dataset("cifar10", "train", root=root).take(choose(tiny=500, full=None), seed=0)
    test = load_dataset("cifar10", "test", root=root).take(choose(tiny=100, full=2000), seed=0)
train, val = train_all.split(0.1, seed=0)
print(f"budget {BUDGET}: " + ("CIFAR-10" if real else "CIFAR-10 is absent: patches of scikit-learn's two sample "
                               "photos in CIFAR-10's format")
      + f", {len(train)} training and {len(test)} test images of shape {train.sample_shape}")

# %%
# The model of ``configs/cifar-deep.yaml``
# ----------------------------------------
model = aekit.create_model(
    "dense", input_shape=train.sample_shape,
    hidden=choose(tiny=[256, 128], full=[2048, 1024, 512, 256, 128]), code_size=64,
    activation="relu", code_activation="tanh",
    batch_norm=choose(tiny=False, full=[False, True, False, True, False, True]),
    dropout=choose(tiny=0.0, full=[0.0, 0.2, 0.0, 0.2, 0.2, 0.0]),
)
history = aekit.fit(model, train, val, epochs=choose(tiny=2, full=10), batch_size=256, lr=1e-3,
                    seed=0, progress=False)

flat = test.x.reshape(len(test), -1).numpy()
pca = PCA(64, random_state=0).fit(train.x.reshape(len(train), -1).numpy())
pca_error = ((pca.inverse_transform(pca.transform(flat)) - flat) ** 2).sum(axis=1).mean()
ae_error = ((model.reconstruct_array(test).reshape(len(test), -1) - flat) ** 2).sum(axis=1).mean()
print(f"test squared error per image (3,072 values in [0, 1]): autoencoder {ae_error:.1f}, PCA-64 {pca_error:.1f}")

# %%
# Reconstructions and learning curves
# -----------------------------------
_, fig = reconstruction_grid(model, test, n=10, title="cifar-deep (64-number code)")

# %%
# The same images through aekit's default for data it has not seen (``model.name: auto``, what
# ``aekit train data.name=... train.time_budget=...`` picks): a two-layer ELU network plus a linear
# path started at PCA's solution, squared error on linear outputs, so it starts at PCA's error and
# training can only lower it (restore-best on the validation images).
default = aekit.create_model("dense", input_shape=train.sample_shape, hidden=[1024, 512], code_size=64,
                             activation="elu", linear_path=True, output_activation="linear", recon_loss="mse")
default_history = aekit.fit(default, train, val, epochs=choose(tiny=2, full=10), batch_size=256, lr=1e-3,
                            seed=0, restore_best=True, progress=False)
default_error = ((default.reconstruct_array(test).reshape(len(test), -1) - flat) ** 2).sum(axis=1).mean()
print(f"test squared error per image: the PCA-started default {default_error:.2f}, PCA-64 {pca_error:.2f}")
_, fig = reconstruction_grid(default, test, n=10, title="PCA-started default (64-number code)")

# %%
fig = learning_curves({"cifar-deep": history}, title="cifar-deep: loss (BCE; solid = train, dashed = validation)")

# %%
# Compare the printed errors. In a few epochs the course's deep network learns little more than
# each image's mean colour: its reconstructions are flat patches, far above PCA's error. A deep
# dense network on natural images needs many epochs (``aekit experiment run cifar-deep``) before it
# catches up with a linear code. The PCA-started model keeps the coarse layout from the first step
# (PCA's reconstruction) and ends at or a little below PCA's error: on a few thousand patches of
# two photographs, ten epochs leave its nonlinear layers little to add (the weights with the
# lowest validation error are kept, the PCA start included).
#
# **Try next:** a convolutional model (lesson 6) on the same images; ``aekit experiment run
# cifar-deep`` on the real CIFAR-10; ``aekit train data.name=cifar10 model.code_size=64
# train.time_budget=300``.
