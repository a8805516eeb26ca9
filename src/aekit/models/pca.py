"""PCA, the baseline every autoencoder is held against, and a linear path that starts a model there.

`principal_components` is the one PCA in aekit: the run layer's baseline and the models' PCA start
both call it, so "starts at PCA" and "compared with PCA" mean the same numbers.

`LinearPath` is a trainable linear encoder/decoder pair set to PCA's solution from the training data
(Baldi & Hornik 1989: the optimum of a linear autoencoder). A model that adds it beside its own
nonlinear encoder and decoder, whose last layers start at zero, begins training exactly at PCA's
reconstruction, so training with restore-best can only end at or below PCA's validation error.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import DataError

PCA_SAMPLES = 50_000  # PCA is fitted on a seeded sample of at most this many rows


def principal_components(x, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), components (k, D)) of PCA with `k` components fitted on the rows of `x` (N, ...).

    scikit-learn's PCA in float64; a seeded sample of PCA_SAMPLES rows when `x` is larger.
    """
    from sklearn.decomposition import PCA

    n = len(x)
    if n < k:
        raise DataError(f"PCA with {k} components needs at least {k} samples, got {n}; use a smaller code_size")
    if n > PCA_SAMPLES:
        rows = np.sort(np.random.default_rng(seed).choice(n, PCA_SAMPLES, replace=False))
        x = x[rows] if isinstance(x, np.ndarray) else x[torch.from_numpy(rows)]  # memmaps read only these
    a = np.asarray(x.detach().cpu() if isinstance(x, Tensor) else x[:], dtype=np.float64)
    a = a.reshape(len(a), -1)
    pca = PCA(n_components=k, svd_solver="randomized" if k < 0.8 * min(a.shape) else "full", random_state=0).fit(a)
    return pca.mean_, pca.components_


def pca_reconstruct(mean: np.ndarray, components: np.ndarray, x) -> np.ndarray:
    """PCA's reconstruction of the rows of `x` (N, D) in float64."""
    b = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return (b - mean) @ components.T @ components + mean


class LinearPath(nn.Module):
    """z = V (x - mean), x_hat = V^T z + mean with V = PCA's top-k components once `fit` has run."""

    def __init__(self, input_dim: int, code_size: int) -> None:
        super().__init__()
        self.encoder = nn.Linear(input_dim, code_size)  # (B, D) -> (B, k)
        self.decoder = nn.Linear(code_size, input_dim)  # (B, k) -> (B, D)
        self.register_buffer("fitted", torch.tensor(False))  # saved with the weights: fit once only

    @torch.no_grad()
    def fit(self, x, *, seed: int = 0) -> None:
        """Set the weights to PCA's solution on `x` (N, ...); a no-op once fitted (e.g. after resume)."""
        if bool(self.fitted):
            return
        mean, components = principal_components(x, self.encoder.out_features, seed=seed)
        v = torch.as_tensor(components, dtype=torch.float32)  # (k, D)
        mu = torch.as_tensor(mean, dtype=torch.float32)  # (D,)
        device = self.encoder.weight.device
        self.encoder.weight.copy_(v.to(device))
        self.encoder.bias.copy_((-v @ mu).to(device))
        self.decoder.weight.copy_(v.T.to(device))
        self.decoder.bias.copy_(mu.to(device))
        self.fitted.fill_(True)
