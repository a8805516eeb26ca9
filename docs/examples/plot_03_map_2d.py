"""
3. A 2-D map of MNIST
=====================

With a code of two numbers, the code *is* a map: every digit becomes a point in the plane. The
classic picture (Hinton & Salakhutdinov 2006, Fig. 3) puts PCA's best 2-D projection of the pixels
next to a deep autoencoder's 2-D codes, each point coloured and shaped by its digit's label (which training
never saw).
"""

# %%
import matplotlib.pyplot as plt
from _budget import BUDGET, choose

import aekit
from aekit.analysis import embed_2d
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training digits; the maps show the {len(test)} test digits (mnist-mini)")

model = aekit.create_model("dense", input_shape=train.sample_shape, hidden=[512, 128], code_size=2,
                           activation="elu")
history = aekit.fit(model, train, val, epochs=choose(tiny=2, full=40), batch_size=128, lr=1e-3,
                    lr_schedule="cosine", seed=0, progress=False)

# %%
# The two maps
# ------------
codes = model.encode_array(test)                                   # (2000, 2)
pixels_pca = embed_2d(test.x.reshape(len(test), -1).numpy(), methods=["pca"])["pca"]
labels = test.y.numpy()

fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
for ax, points, title in ((axes[0], pixels_pca, "PCA of the pixels (2 components)"),
                          (axes[1], codes, "deep autoencoder's 2-d code (784-512-128-2)")):
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
    ax.set_title(title)
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
_ = fig.colorbar(scatter, ax=axes, ticks=range(10), label="digit (not used in training)")

# %%
# PCA's map piles most classes on top of each other: only the 1s (and, less cleanly, the 0s),
# the digits that differ most in ink, stand apart. The autoencoder's map (full budget: 9,000
# digits, 40 epochs) sends 0s, 1s and 7s out along arms of their own and keeps 6s and 2s in
# tight clusters, while 3, 5, 8 and 4, 9 — the digits that look alike — still crowd together near
# the origin. More data and epochs separate them further (``aekit experiment run mnist-2d`` on full
# MNIST). The map is learnt from pixels alone.
#
# **Try next:** :func:`aekit.analysis.latent_maps` draws t-SNE (and UMAP) maps of longer codes;
# lesson 15 decodes a grid over this plane to see what each region of the map draws.
