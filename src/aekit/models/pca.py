"""PCA, the baseline every autoencoder is held against, and a linear path that starts a model there.

`principal_components` is the one PCA in aekit: the run layer's baseline and the models' PCA start
both call it, so "starts at PCA" and "compared with PCA" mean the same numbers.

`LinearPath` is a trainable linear encoder/decoder pair set to PCA's solution from the training data
(Baldi & Hornik 1989: the optimum of a linear autoencoder). A model that adds it beside its own
nonlinear encoder and decoder, whose last layers start at zero, begins training exactly at PCA's
reconstruction, so training with restore-best can only end at or below PCA's validation error.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import DataError

PCA_SAMPLES = 50_000  # PCA is fitted on a seeded sample of at most this many rows,
PCA_BYTES = 1 << 30  # and of at most this many bytes in float64 (wide samples: fewer rows), at least 2k rows
EXACT_FEATURES = 3072  # exact PCA up to this many values a sample (CIFAR's; a covariance of 72 MiB)


CHUNK_BYTES = 64 * 2**20  # PCABaseline's float64 rows at a time


def _rows(x) -> np.ndarray:
    """(N, D) float64 rows of samples (N, ...): a tensor, an array or a MemmapArray."""
    a = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x if isinstance(x, np.ndarray) else x[:])
    return a.reshape(len(a), -1).astype(np.float64)


def sample_rows(x, k: int, *, seed: int = 0) -> np.ndarray:
    """(N', D) float64: the rows of `x` (N, ...) PCA with `k` components is fitted on: all of them, or a seeded
    sample of PCA_SAMPLES rows (fewer for wide samples: PCA_BYTES) when `x` is larger."""
    n = len(x)
    if n < max(k, 2):  # one sample has no variance to find components in
        raise DataError(f"PCA with {k} component{'s' * (k != 1)} needs at least {max(k, 2)} samples, got {n} sample"
                        f"{'s' * (n != 1)} to fit on (the training part, after any validation split); "  # (a shapes hunt
                        f"{'give more samples' if n < 2 else 'use a smaller code_size'}")  # read the whole file's count)
    limit = min(PCA_SAMPLES, max(2 * k, PCA_BYTES // (8 * math.prod(x.shape[1:]))))
    if n > limit:
        rows = np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))
        x = x[rows] if isinstance(x, np.ndarray) else x[torch.from_numpy(rows)]  # memmaps read only these
    return _rows(x)


def fit_rows(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), components (k, D)) of scikit-learn's PCA on the float64 rows `a`, exact (the covariance's
    eigenvectors, or a full SVD) unless rows have more than EXACT_FEATURES values and `k` is small: then a
    randomized SVD, which can leave a little more error than exact PCA (0.6% on noisy signals)."""
    from sklearn.decomposition import PCA

    n, d = a.shape  # exact where the d x d covariance is small: 3x faster than a randomized SVD on MNIST, as fast
    # on CIFAR's 3,072 values, twice as slow at 4,096
    solver = "covariance_eigh" if d <= min(n, EXACT_FEATURES) else "randomized" if k < 0.8 * min(n, d) else "full"
    with np.errstate(invalid="ignore", divide="ignore"):  # constant data: its explained-variance ratio is 0 / 0
        pca = PCA(n_components=k, svd_solver=solver, random_state=0).fit(a)
    return pca.mean_, pca.components_


def principal_components(x, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), components (k, D)) of PCA with `k` components fitted on the rows of `x` (N, ...)
    (`sample_rows`, `fit_rows`)."""
    return fit_rows(sample_rows(x, k, seed=seed), k)


class LinearPath(nn.Module):
    """z = V (x - mean), x_hat = V^T z + mean with V = PCA's top-k components once `fit` has run.

    V is stored times sqrt(D), so its entries are about 1 rather than 1/sqrt(D): Adam moves every
    weight by about the learning rate a step, whatever its scale, and at 1e-3 a step would move
    PCA's unit-length components of 3,072 dimensions by 5% of their size, which on a few thousand
    samples throws away the start within an epoch (docs/EXPERIMENTS.md, issue 12).

    For the same reason `fit` also keeps the training data's centre and spread (its root-mean-square
    deviation), and the model it serves reads its inputs standardised by them and writes its outputs back
    (`standardise`, `restore`): Adam's steps of about the learning rate are then steps in units of the
    data's spread, so data of any units (a min-max range squeezed to [0.4, 0.6], or counts in thousands)
    trains alike, where a step of 1e-3 was a large move on narrow data and a small one on wide data.
    """

    def __init__(self, input_dim: int, code_size: int) -> None:
        super().__init__()
        self.gain = input_dim**-0.5  # stored weights * gain = V
        self.encoder = nn.Linear(input_dim, code_size)  # (B, D) -> (B, k)
        self.decoder = nn.Linear(code_size, input_dim)  # (B, k) -> (B, D)
        self.register_buffer("fitted", torch.tensor(False))  # saved with the weights: fit once only
        for key, value in self.added_state().items():  # the data's centre and spread, until `fit` sets them
            self.register_buffer(key, value)

    def added_state(self) -> dict[str, Tensor]:
        """The buffers added since models were first saved, at the values that read as those models did."""
        device = self.encoder.weight.device
        return {"center": torch.zeros(self.encoder.in_features, device=device), "spread": torch.tensor(1.0, device=device)}

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        for key, value in self.added_state().items():  # a model saved before them (torch's own load_state_dict)
            state_dict.setdefault(prefix + key, value)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def __setstate__(self, state: dict) -> None:  # a model pickled before them (a fitted estimator, torch.save)
        super().__setstate__(state)
        for key, value in self.added_state().items():
            if key not in self._buffers:
                self.register_buffer(key, value)

    def standardise(self, x: Tensor) -> Tensor:
        return (x - self.center) / self.spread

    def restore(self, y: Tensor) -> Tensor:
        return y * self.spread + self.center

    def encode(self, x: Tensor) -> Tensor:
        return F.linear(x, self.encoder.weight * self.gain, self.encoder.bias)

    def decode(self, z: Tensor) -> Tensor:
        return F.linear(z, self.decoder.weight * self.gain, self.decoder.bias)

    @torch.no_grad()
    def fit(self, x, *, seed: int = 0) -> None:
        """Set the centre and spread from `x` (N, ...) and the weights to PCA's solution on it, standardised;
        a no-op once fitted (e.g. after resume)."""
        if bool(self.fitted):
            return
        a = sample_rows(x, self.encoder.out_features, seed=seed)
        center = a.mean(0)
        a -= center
        spread = float(np.sqrt(np.vdot(a.ravel(), a.ravel()) / a.size)) or 1.0  # (no copy); constant data: centred alone
        a /= spread
        mean, components = fit_rows(a, self.encoder.out_features)  # (mean ~ 0: the data is centred)
        v = torch.as_tensor(components, dtype=torch.float32)  # (k, D)
        mu = torch.as_tensor(mean, dtype=torch.float32)  # (D,)
        device = self.encoder.weight.device
        self.center.copy_(torch.as_tensor(center, dtype=torch.float32).to(device))
        self.spread.fill_(spread)
        self.encoder.weight.copy_((v / self.gain).to(device))
        self.encoder.bias.copy_((-v @ mu).to(device))
        self.decoder.weight.copy_((v.T / self.gain).to(device))
        self.decoder.bias.copy_(mu.to(device))
        self.fitted.fill_(True)


class PCABaseline:
    """PCA with `k` components fitted on training samples: the baseline the run layer and every
    experiment compare an autoencoder with (codes, reconstructions, squared errors)."""

    def __init__(self, train_x, k: int, *, seed: int = 0) -> None:
        self.k = k
        self.mean, self.components = principal_components(train_x, k, seed=seed)  # (D,), (k, D)

    @property
    def num_parameters(self) -> int:
        return int(self.components.size + self.mean.size)

    def _chunks(self, x):
        """`x` (N, ...) as float64 rows (n, D), some MB at a time: float64 temporaries of a whole evaluation sample
        of wide images took several GB (30,000 of 128 x 128: past 6.5 GB)."""
        rows = max(1, CHUNK_BYTES // (8 * max(self.mean.size, 1)))
        for start in range(0, len(x), rows):
            yield _rows(x[start : start + rows])

    def encode(self, x) -> np.ndarray:
        """(N, ...) -> (N, k) coordinates along the components."""
        parts = [(b - self.mean) @ self.components.T for b in self._chunks(x)]
        return np.concatenate(parts) if parts else np.zeros((0, self.k))

    def _rebuilt(self, b: np.ndarray) -> np.ndarray:
        """float64 rows (n, D) projected onto the components and back."""
        return (b - self.mean) @ self.components.T @ self.components + self.mean

    def reconstruct(self, x) -> np.ndarray:
        """(N, ...) -> float32 reconstructions shaped like `x`."""
        parts = [self._rebuilt(b).astype(np.float32) for b in self._chunks(x)]
        return (np.concatenate(parts) if parts else np.zeros((0, self.mean.size), np.float32)).reshape(tuple(x.shape))

    def spread(self, x) -> np.ndarray:
        """(N,) squared distance of each sample from the training mean (PCA-0's error): the scale its errors read on."""
        parts = [((b - self.mean) ** 2).sum(1) for b in self._chunks(x)]
        return np.concatenate(parts) if parts else np.zeros(0)

    def squared_error(self, x) -> np.ndarray:
        """(N,) squared error of each sample's reconstruction, summed over its features."""
        parts = [((self._rebuilt(b) - b) ** 2).sum(1) for b in self._chunks(x)]
        return np.concatenate(parts) if parts else np.zeros(0)
