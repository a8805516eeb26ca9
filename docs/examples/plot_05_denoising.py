"""
5. Denoising autoencoders: three kinds of noise
===============================================

A denoising autoencoder (Vincent et al., ICML 2008; JMLR 2010) sees a corrupted digit and is
trained to output the clean one, so it cannot simply copy its input: it has to learn what digits
look like. aekit's ``denoising`` model corrupts each training batch itself (in training only) with
one of: ``gaussian`` (added noise, clipped to the data's range), ``masking`` (a random share of
pixels set to 0) or ``salt_and_pepper`` (a random share set to 0 or 1).
"""

# %%
from _budget import BUDGET, choose

import aekit
from aekit.analysis import denoising_grid
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training digits (mnist-mini)")

noises = {
    "gaussian": dict(noise="gaussian", noise_std=0.5),
    "masking": dict(noise="masking", noise_fraction=0.5),
    "salt_and_pepper": dict(noise="salt_and_pepper", noise_fraction=0.3),
}
models = {}
for name, noise in noises.items():
    models[name] = aekit.create_model("denoising", input_shape=train.sample_shape, hidden=[500],
                                      code_size=128, **noise)
    aekit.fit(models[name], train, val, epochs=choose(tiny=2, full=15), batch_size=128, lr=1e-3,
              seed=0, progress=False)

# %%
# Gaussian noise (standard deviation 0.5)
# ---------------------------------------
# Each figure shows test digits corrupted by the model's own noise (top), its output (middle) and
# the clean digit it never saw (bottom); the title gives the squared error to the clean digits
# before and after.
_, fig = denoising_grid(models["gaussian"], test, n=10)

# %%
# Masking noise (half of the pixels set to 0)
# -------------------------------------------
grid, fig = denoising_grid(models["masking"], test, n=10)
noisy, denoised, clean = (g.reshape(len(g), -1) for g in grid)
print(f"masking: squared error per digit to the clean ones, noisy {((noisy - clean) ** 2).sum(1).mean():.1f}, "
      f"denoised {((denoised - clean) ** 2).sum(1).mean():.1f}")

# %%
# Salt-and-pepper noise (30% of the pixels set to 0 or 1)
# -------------------------------------------------------
_, fig = denoising_grid(models["salt_and_pepper"], test, n=10)

# %%
# The output is a clean digit — often a smoother one than the original — and the titles give its
# error to the clean digits next to the noisy input's (at the full budget, masking half the
# pixels: 43.8 noisy, 11.6 denoised per digit, as printed above; Gaussian noise 89.7 and 15.3,
# salt-and-pepper 107.1 and 14.5). Of the three, masking is the easiest to undo here; where a
# denoiser fails, it fills in the most likely stroke, which is not always the one that was there (a
# salt-and-pepper 7 comes back as a 9 in the grid above).
#
# **Try next:** corrupt with one noise and test with another
# (``denoising_grid(model, test, corrupt=...)`` takes any function of a batch); stack denoising
# layers with pretraining (lesson 8).
