"""
7. Tied weights
===============

A tied autoencoder's decoder reuses the encoder's matrices transposed: layer ``W`` on the way
down is ``W^T`` on the way up, and only the biases are separate (Vincent et al. 2010; Géron,
ch. 17). It halves the parameters and acts as a regulariser. This lesson trains the same
784-500-250-30 network with and without tied weights.
"""

# %%
import numpy as np
from _budget import BUDGET, choose

import aekit
from aekit.analysis import image_grid, learning_curves
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training digits (mnist-mini)")

shape = dict(input_shape=train.sample_shape, hidden=[500, 250], code_size=30, activation="elu")
models = {"untied (dense)": aekit.create_model("dense", **shape),
          "tied": aekit.create_model("tied", **shape)}
histories = {name: aekit.fit(m, train, val, epochs=choose(tiny=2, full=20), batch_size=128, lr=1e-3,
                             seed=0, progress=False)
             for name, m in models.items()}

# %%
# Parameters and reconstructions
# ------------------------------
x = test.x[:10].numpy()
rows, errors = [x], {}
for name, m in models.items():
    out = m.reconstruct_array(test)
    errors[name] = float(((out - test.x.numpy()) ** 2).reshape(len(test), -1).sum(axis=1).mean())
    rows.append(out[:10])
    print(f"{name}: {m.num_parameters():,} parameters, test squared error per digit {errors[name]:.2f}")
fig = image_grid(np.stack(rows), title="Test digits, then the untied and the tied autoencoder's reconstructions",
                 row_labels=["test digit", *[f"{n} ({errors[n]:.1f})" for n in models]])

# %%
fig = learning_curves(histories, title="Untied vs tied (solid = train, dashed = validation)")

# %%
# The row labels give each model's test squared error per digit. With half the weights to
# learn, the tied model has less room to overfit: compare the gap between its training and
# validation curves with the untied model's.
#
# **Try next:** tied layers in greedy pretraining, ``pretrain_layerwise(..., layer_kind="tied")``
# (next lesson).
