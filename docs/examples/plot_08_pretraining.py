"""
8. Stacked pretraining in stages
================================

Before good initialisations and optimisers, deep autoencoders were trained *greedily* (Bengio et
al. 2007; Vincent et al. 2010): train a shallow autoencoder on the pixels, freeze it, train a
second one on the first one's codes, and so on; then stack the encoders (and the decoders in
reverse) into one deep autoencoder and fine-tune it end to end.
:func:`aekit.training.pretrain.pretrain_layerwise` does exactly this, caching each frozen layer's
codes once instead of recomputing them every batch.
"""

# %%
import matplotlib.pyplot as plt
from _budget import BUDGET, choose

import aekit
from aekit.analysis import learning_curves
from aekit.data import load_dataset
from aekit.training.pretrain import pretrain_layerwise

data = load_dataset("mnist-mini", "train").take(choose(tiny=512, full=None), seed=0)
train, val = data.split(0.1, seed=0)
print(f"budget {BUDGET}: {len(train)} training digits (mnist-mini)")

widths = [500, 250, 30]
epochs = choose(tiny=1, full=8)
result = pretrain_layerwise(widths, train, val, layer_kind="denoising", epochs_per_layer=epochs,
                            fine_tune_epochs=epochs, batch_size=128, lr=1e-3, seed=0)

# %%
# Each stage
# ----------
# Layer 1 learns to reconstruct (denoised) pixels, layer 2 the 500 codes of the frozen layer 1,
# layer 3 the 250 codes of the frozen layers 1-2. Each panel is one stage's own loss.
fig, axes = plt.subplots(1, len(widths), figsize=(12, 3.5), layout="constrained")
inputs = [784, *widths[:-1]]
for k, (ax, history) in enumerate(zip(axes, result.layer_histories)):
    ax.plot(history["epoch"], history["train_loss"], "o-", label="train")
    ax.plot(history["epoch"], history["val_loss"], "o--", label="validation")
    ax.set_title(f"stage {k + 1}: {inputs[k]} -> {widths[k]} -> {inputs[k]}"
                 + ("\n(layers below frozen)" if k else ""), fontsize=11)
    ax.set_xlabel("epoch")
axes[0].set_ylabel("loss of the stage")
_ = axes[0].legend(frameon=False)

# %%
# Fine-tuning the stack against training from scratch
# ---------------------------------------------------
scratch = aekit.create_model("dense", input_shape=train.sample_shape, hidden=widths[:-1],
                             code_size=widths[-1], code_activation="sigmoid", activation="sigmoid")
history = aekit.fit(scratch, train, val, epochs=epochs, batch_size=128, lr=1e-3, seed=0, progress=False)
fig = learning_curves({"pretrained stack, fine-tuned": result.fine_tune_history,
                       "same sigmoid network from random weights": history},
                      title="End-to-end training of the 784-500-250-30 network")

# %%
# With sigmoid units, the network trained from random weights starts slowly; the pretrained stack
# starts its fine-tuning from a much lower loss, which is why pretraining mattered in 2006. With
# ReLU/ELU units and Adam (lesson 2) the gap mostly disappears.
#
# **Try next:** ``layer_kind="sparse"`` or ``"tied"``; a noise level per layer with
# ``layer_config=[{"noise_fraction": 0.3}, {"noise_fraction": 0.2}, {"noise_fraction": 0.1}]``.
