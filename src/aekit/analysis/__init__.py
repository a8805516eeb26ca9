"""Inspect trained autoencoders through the model contract: reconstructions, code maps, features, generation.

Functions that draw return their data and a matplotlib Figure; write it with `save_figure(fig, "x.png")`.
"""

from .features import (
    first_layer,
    first_layer_weights,
    maximize_activation,
    plot_first_layer,
    top_activating,
    unit_activations,
)
from .generate import interpolate, latent_grid, random_samples
from .latent import (
    denoising_grid,
    embed_2d,
    encode_all,
    latent_maps,
    reconstruct_all,
    reconstruction_grid,
)
from .plots import image_grid, learning_curves, save_figure, unshown

__all__ = [
    "denoising_grid",
    "embed_2d",
    "encode_all",
    "first_layer",
    "first_layer_weights",
    "image_grid",
    "interpolate",
    "latent_grid",
    "latent_maps",
    "learning_curves",
    "maximize_activation",
    "plot_first_layer",
    "random_samples",
    "reconstruct_all",
    "reconstruction_grid",
    "save_figure",
    "top_activating",
    "unit_activations",
    "unshown",
]
