"""
6. Convolutional autoencoders: three decoders
=============================================

A convolutional autoencoder (Masci et al. 2011) encodes with convolutions and 2x2 max-pooling,
which share their weights across the image, and has to double the resolution again on the way
back. aekit's ``conv`` model offers the three usual ways up, the ``decoder`` key:

* ``upsample``: nearest-neighbour upsampling, then a convolution;
* ``transpose``: a learnt transposed convolution of stride 2;
* ``unpool``: max-unpooling that puts each value back where the encoder's max came from (the
  pooling indices, Zeiler & Fergus 2014), then a convolution.
"""

# %%
from _budget import BUDGET, choose

import aekit
from aekit.analysis import learning_curves, reconstruction_grid
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training digits (mnist-mini), images kept as (1, 28, 28)")

models, histories = {}, {}
for decoder in ("upsample", "transpose", "unpool"):
    models[decoder] = aekit.create_model("conv", input_shape=train.sample_shape, channels=[16, 32],
                                         code_size=32, decoder=decoder)
    histories[decoder] = aekit.fit(models[decoder], train, val, epochs=choose(tiny=1, full=8),
                                   batch_size=128, lr=2e-3, seed=0, progress=False)
print({name: f"{m.num_parameters():,} parameters" for name, m in models.items()})

# %%
# Reconstructions from a 32-number code
# -------------------------------------
# All three squeeze a digit through 16 and 32 feature maps (28x28 -> 14x14 -> 7x7) and a dense
# 32-number code.
_, fig = reconstruction_grid(models["upsample"], test, n=10, title="conv, decoder=upsample")

# %%
_, fig = reconstruction_grid(models["transpose"], test, n=10, title="conv, decoder=transpose")

# %%
_, fig = reconstruction_grid(models["unpool"], test, n=10, title="conv, decoder=unpool")

# %%
fig = learning_curves(histories, title="Three decoders (solid = train, dashed = validation)")

# %%
# Compare the errors in the three titles. The unpooling decoder is told *where* each maximum
# was, information that bypasses the 32-number code, which tends to give it the sharpest edges. Upsampling and
# transposed convolutions must rebuild positions from the code alone; transposed convolutions can
# leave a faint checkerboard texture.
#
# **Try next:** ``code_size=None`` keeps the 32x7x7 feature map as the code (no bottleneck);
# ``batch_norm=True``; ``channels=[32, 64]``.
