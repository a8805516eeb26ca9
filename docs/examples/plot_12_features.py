"""
12. What the units detect: first-layer features and activation maximisation
============================================================================

Three ways to see what a unit of a trained autoencoder responds to:

* its **first-layer weights**, drawn as an image (they are a template the input is matched with);
* the **test inputs that activate it most**;
* **activation maximisation** (Erhan et al. 2009): gradient ascent on an input of fixed norm until
  the unit's activation is as large as it gets — the unit's "preferred stimulus", which also works
  for units deep in the network where weights are no longer images.
"""

# %%
from _budget import BUDGET, choose

import aekit
from aekit.analysis import maximize_activation, plot_first_layer, top_activating
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training digits (mnist-mini)")

model = aekit.create_model("sparse-kl", input_shape=train.sample_shape, hidden=[], code_size=100,
                           sparsity_target=0.05, sparsity_weight=3.0, recon_loss="bce",
                           output_activation="sigmoid")
history = aekit.fit(model, train, val, epochs=choose(tiny=2, full=30), batch_size=128, lr=3e-3, seed=0,
                    progress=False)
print(f"final validation loss {history['val_loss'][-1]:.1f}")

# %%
# First-layer weights
# -------------------
_, fig = plot_first_layer(model, max_units=40)

# %%
# Light pixels excite a unit, dark ones inhibit it. A sparse autoencoder's units lean towards
# strokes and parts of digits (lesson 4); the speckled frame is the always-black border pixels,
# whose weights never move from their random start.
#
# The test digits that excite unit 0 most
# ---------------------------------------
_, _, fig = top_activating(model, test, unit=0, k=10)

# %%
# Inputs that maximise the first ten code units
# ---------------------------------------------
_, _, fig = maximize_activation(model, units=list(range(10)), steps=choose(tiny=20, full=300))

# %%
# For this one-layer encoder the input that maximises a unit is (up to its norm) its weight
# vector, so the images repeat the first figure's first ten tiles; compare them to see the
# method work. On a deep model, pass ``layer=`` (a module name in ``model.named_modules()``) to
# look at a hidden layer, or leave it out for the code units.
#
# **Try next:** the same three pictures for the deep model of lesson 2, with
# ``maximize_activation(model, units=range(10))`` on its 30 code units.
