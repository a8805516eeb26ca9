"""
4. Sparse autoencoders: L1 and KL
=================================

A sparse autoencoder may have many code units, even more than it could copy the input with, as
long as few of them are active for any one input. Two classic ways to ask for it:

* **L1** (Chollet's Keras blog): add ``l1_weight * sum |z|`` to the loss (model ``sparse-l1``).
* **KL** (Ng's CS294A notes / UFLDL): sigmoid code units, and a penalty
  ``beta * sum KL(rho || rho_hat_j)`` that pushes each unit's mean activation ``rho_hat_j`` over the
  batch towards a small target ``rho`` (model ``sparse-kl``).

This lesson trains both next to a plain autoencoder of the same shape and compares how many units
fire, and what the KL units have learnt to detect.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from _budget import BUDGET, choose

import aekit
from aekit.analysis import plot_first_layer, unit_activations
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training digits (mnist-mini)")

epochs = choose(tiny=2, full=30)
shape = dict(input_shape=train.sample_shape, hidden=[], code_size=196)
models = {
    "plain (sigmoid code)": aekit.create_model("dense", **shape, code_activation="sigmoid"),
    "sparse-l1 (ReLU code, l1_weight 0.05)": aekit.create_model("sparse-l1", **shape, l1_weight=0.05),
    "sparse-kl (rho 0.05, beta 3)": aekit.create_model("sparse-kl", **shape, sparsity_target=0.05,
                                                       sparsity_weight=3.0, recon_loss="bce",
                                                       output_activation="sigmoid"),
}
for model in models.values():
    aekit.fit(model, train, val, epochs=epochs, batch_size=128, lr=3e-3, seed=0, progress=False)

# %%
# How many code units fire per digit
# ----------------------------------
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
for name, model in models.items():
    acts = unit_activations(model, test)                        # (2000, 196)
    active = (acts > 0.1 * acts.max()).mean(axis=1)             # share of units above 10% of the top
    ax.hist(active, bins=np.linspace(0, 1, 51), histtype="step", linewidth=2,
            label=f"{name}: median {np.median(active):.0%}")
ax.set_xlabel("share of the 196 code units active for a test digit (activation > 10% of the largest)")
ax.set_ylabel("test digits")
ax.legend(frameon=False)
_ = ax.set_title("Sparsity of the codes")

# %%
# The plain autoencoder uses a large share of its units for every digit: its code is dense. Both
# penalties shift the histogram far to the left: each digit is described by a few units.
#
# What the KL units detect
# ------------------------
_, fig = plot_first_layer(models["sparse-kl (rho 0.05, beta 3)"], max_units=64)

# %%
# Each tile is one code unit's weights on the 784 pixels (grey = 0, light = positive, dark =
# negative). At this budget the sparse units' weights are noisy templates about a digit's size; some
# pick out a single stroke — a bar, an arc — each active for the few digits that have ink there (longer
# training and ``weight_l2`` sharpen them into parts). The speckled frame around every tile is the
# border pixels, which are black in every MNIST digit: their weights get no gradient and keep
# their random start (``weight_l2=1e-4`` fades them).
#
# **Try next:** compare ``plot_first_layer(models["plain (sigmoid code)"])``; vary ``sparsity_target`` (0.01 to 0.2) and ``l1_weight``; set
# ``sparsity_momentum=0.9`` to estimate ``rho_hat`` over about ten batches instead of one.
