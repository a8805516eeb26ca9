"""
16. A variational autoencoder: samples and interpolation
========================================================

A variational autoencoder (Kingma & Welling 2014) encodes each input to a Gaussian, decodes a
sample from it, and adds to the loss the KL divergence between that Gaussian and N(0, I). The
codes then fill the standard normal distribution without gaps, so decoding a random normal code
gives a new, plausible digit (``model.sample(n)``), and every point on the line between two codes
decodes to something digit-like.
"""

# %%
from _budget import BUDGET, choose

import aekit
from aekit.analysis import interpolate, latent_grid, random_samples
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training digits (mnist-mini)")

model = aekit.create_model("vae", input_shape=train.sample_shape, hidden=[512, 256], code_size=2,
                           beta=1.0, kl_warmup_steps=choose(tiny=0, full=500))
history = aekit.fit(model, train, val, epochs=choose(tiny=2, full=40), batch_size=128, lr=1e-3,
                    seed=0, progress=False)

# %%
# Random samples: decoded codes z ~ N(0, I)
# -----------------------------------------
_, fig = random_samples(model, 32, seed=0)

# %%
# Interpolation between two test digits
# -------------------------------------
_, fig = interpolate(model, test.x[0], test.x[1], steps=10)

# %%
# The decoded N(0, I) plane
# -------------------------
_, fig = latent_grid(model, n=15, limits=(-2.0, 2.0))

# %%
# The samples are digits of every class, blurred (a 2-d code with a Gaussian decoder's
# averaging); the interpolation changes one digit into the other through shapes that stay
# digit-like, unlike the pixel blend in its second row; the grid covers ±2 standard deviations of
# the prior the samples are drawn from, so every cell is a code the model was trained to decode.
#
# **Try next:** ``code_size=20`` for sharper samples (then ``latent_grid(model, dims=(0, 1))``);
# ``beta=4`` for a β-VAE with smoother, blurrier codes.
