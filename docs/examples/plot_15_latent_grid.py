"""
15. Generation from a latent grid
=================================

A decoder is a generator: give it any code and it draws an image. With a 2-d code, decoding a
regular grid over the plane of the codes shows the whole "digit manifold" the model has learnt at
once (:func:`aekit.analysis.latent_grid`). Comparing it with the map of lesson 3 shows which
region draws which digit.
"""

# %%
from _budget import BUDGET, choose

import aekit
from aekit.analysis import latent_grid, latent_maps
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training digits (mnist-mini)")

model = aekit.create_model("dense", input_shape=train.sample_shape, hidden=[512, 128], code_size=2,
                           activation="elu")
history = aekit.fit(model, train, val, epochs=choose(tiny=2, full=40), batch_size=128, lr=1e-3,
                    lr_schedule="cosine", seed=0, progress=False)
print(f"final validation loss {history['val_loss'][-1]:.1f}")

# %%
# The map of the test codes
# -------------------------
_, fig = latent_maps(model, test, methods=("code",))

# %%
# The decoded grid
# ----------------
# 15 x 15 codes spread evenly between the 2nd and 98th percentiles of the test codes.
# sphinx_gallery_thumbnail_number = 2
_, fig = latent_grid(model, n=15, data=test)

# %%
# Each region of the grid draws the digit that lies there in the map, and neighbouring cells
# morph smoothly into each other: a 4 becomes a 9 and a 7 where those arms meet. Cells far from
# any test code (a corner of the grid where the map holds none) still draw a confident digit, but
# nothing says which codes are digits: a plain autoencoder gives no rule for codes it has not seen,
# and its code plane has no known distribution to sample from. The VAE of the next lesson gives it
# one, N(0, I), by shaping the codes in training.
#
# **Try next:** ``latent_grid(model, limits=(-5, 5))`` to look further out; for a longer code,
# ``dims=(0, 1)`` varies two coordinates with the others at their median.
