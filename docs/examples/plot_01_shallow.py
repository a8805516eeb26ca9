"""
1. A shallow autoencoder
========================

The smallest autoencoder, the first one every course trains (Chollet, "Building autoencoders in
Keras"; Géron, *Hands-On Machine Learning*, ch. 17): 784 pixels, one layer of 32 ReLU units, and
784 sigmoid outputs. The encoder squeezes each digit into 32 numbers; the decoder draws the digit
back from them, and training minimises the pixels' cross-entropy between input and output.
"""

# %%
# Data and budget
# ---------------
# Real MNIST digits bundled with aekit (``mnist-mini``: 10,000 training and 2,000 test digits);
# 10% of the training digits are held out for validation.
from _budget import BUDGET, choose

import aekit
from aekit.analysis import learning_curves, reconstruction_grid
from aekit.data import load_dataset

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
test = load_dataset("mnist-mini", "test")
print(f"budget {BUDGET}: {len(train)} training, {len(val)} validation, {len(test)} test digits (mnist-mini)")

# %%
# Train
# -----
model = aekit.create_model("dense", input_shape=train.sample_shape, hidden=[], code_size=32,
                           code_activation="relu")
history = aekit.fit(model, train, val, epochs=choose(tiny=2, full=20), batch_size=128, lr=2e-3,
                    seed=0, progress=False)
print(f"{model.num_parameters():,} parameters; final validation loss {history['val_loss'][-1]:.1f}")

# %%
# Reconstructions of test digits
# ------------------------------
_, fig = reconstruction_grid(model, test, n=12)

# %%
# Most digits come back recognisable from 32 numbers — 4% of its pixels — but blurred (the rarest
# shapes barely: a hooked 7 comes back a smudge): thin
# strokes thicken and rare shapes (an open 4, a slanted 7) drift towards the average digit of
# their class. Fine detail is what the 32 numbers cannot hold.

# %%
# Learning curves
# ---------------
fig = learning_curves({"784-32-784": history})

# %%
# The loss is the cross-entropy summed over a digit's 784 pixels. Training and validation curves
# stay together: a model this small does not overfit 9,000 digits.
#
# **Try next:** change ``code_size`` to 8 or 128 and watch the reconstructions; add
# ``hidden=[256]`` for a deeper model (the next lesson goes much deeper and compares with PCA).
