"""Sample quality in the feature space of a small MNIST classifier: Fréchet distance and
precision/recall (Kynkäänniemi et al. 2019).

The classifier is aekit's own, not Inception: a dense encoder (784 -> 256 -> 64, ReLU) with a
softmax head, trained once with a fixed seed and cached in the user's cache, never in the data
folder (`aekit.training.feature_classifier`). Its 64 ReLU features are the space the measures work in.
The SHA-256 of the cached weights goes beside every figure (`SampleQuality.classifier_sha256`):
only figures made with the same weights are comparable. Figures here are therefore not FIDs, and not
comparable with Inception-based ones (pythae's "FID" on MNIST); they rank models on one footing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, DataError

INPUT_SHAPE = (1, 28, 28)  # what the feature classifier takes: grey 28x28 images in [0, 1] (MNIST and alike)


def why_no_sample_quality(x: torch.Tensor | np.ndarray) -> str | None:
    """Why the feature classifier cannot judge samples like x (N, ...) (one line), or None when it can."""
    shape = tuple(x.shape[1:])
    if shape != INPUT_SHAPE:
        return (f"the feature classifier takes {'x'.join(map(str, INPUT_SHAPE))} grey images in [0, 1] "
                f"(MNIST-like); these samples are {'x'.join(map(str, shape)) if len(shape) > 1 else 'rows of ' + str(shape[0]) if shape else 'scalars'}")
    if len(x) and (float(x.min()) < 0 or float(x.max()) > 1):
        return f"the feature classifier takes images in [0, 1]; these range over [{float(x.min()):.3g}, {float(x.max()):.3g}]"
    return None


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to features a, b (N, d)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise DataError(f"frechet_distance: needs two sets of >= 2 feature rows of one width, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # tr (S_a S_b)^(1/2) = sum of sqrt(eigenvalues) of the symmetric S_a^(1/2) S_b S_a^(1/2): stable
    # where S_a S_b is singular (dead ReLU features), unlike a general matrix square root
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    # at least 0: a set against itself rounds to -2e-6 (a bug hunt)
    return max(0.0, float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root))


def _kth_neighbour_radii(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance from every row of x to its k-th nearest other row: (N,)."""
    return torch.cat([torch.cdist(x[i : i + chunk], x).kthvalue(k + 1, dim=1).values for i in range(0, len(x), chunk)])


def _inside_any_ball(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    """For every point, whether it lies within radius of at least one centre: (M,) bool."""
    return torch.cat([(torch.cdist(points[i : i + chunk], centres) <= radii).any(dim=1) for i in range(0, len(points), chunk)])


LOW_RECALL = 0.05  # below this, the samples reach almost none of the real images: precision alone says little


def reading(precision: float, recall: float) -> str:
    """How to read a precision/recall pair, in one sentence, where precision alone would mislead ("" if not)."""
    if recall >= LOW_RECALL:
        return ""
    return (f"recall {recall:.3f}: the samples reach almost none of the real images' variety (collapsed onto a few "
            f"kinds, or off the data), so precision {precision:.3f} says only that the few kinds look real")


def precision_recall(real: np.ndarray, fake: np.ndarray, *, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of features fake against real (N, d).

    Each set's manifold is the union of balls around its points reaching their k-th nearest
    neighbour; precision is the share of fake points inside the real manifold (quality), recall
    the share of real points inside the fake manifold (coverage). The paper uses k = 3.
    """
    if k < 1:
        raise ConfigError(f"k: must be >= 1, got {k}")
    real_t, fake_t = torch.as_tensor(np.asarray(real, np.float32)), torch.as_tensor(np.asarray(fake, np.float32))
    if min(len(real_t), len(fake_t)) <= k:
        raise DataError(f"precision_recall: needs more than k = {k} samples in each set")
    precision = _inside_any_ball(fake_t, real_t, _kth_neighbour_radii(real_t, k, chunk), chunk).float().mean()
    recall = _inside_any_ball(real_t, fake_t, _kth_neighbour_radii(fake_t, k, chunk), chunk).float().mean()
    return float(precision), float(recall)


@dataclass(frozen=True)
class SampleQuality:
    frechet_distance: float
    precision: float
    recall: float
    n_samples: int
    classifier_sha256: str  # the feature classifier's weights: figures compare only under one checksum

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_quality(samples: Any, real: Any, classifier: Any, *, k: int = 3) -> SampleQuality:
    """Fréchet distance and precision/recall of `samples` against `real` images (use as many of each), in the
    features of `classifier` (a `training.feature_classifier.FeatureClassifier`): 1x28x28 images in [0, 1]."""
    for name, x in (("samples", samples), ("real", real)):
        if (reason := why_no_sample_quality(torch.as_tensor(x))) is not None:
            raise DataError(f"sample_quality: {name}: {reason}")
    fake_f, real_f = classifier.features(samples), classifier.features(real)
    precision, recall = precision_recall(real_f, fake_f, k=k)
    return SampleQuality(frechet_distance(real_f, fake_f), precision, recall, len(fake_f), classifier.sha256)
