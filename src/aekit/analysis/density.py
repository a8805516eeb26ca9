"""Ex-post density estimation (Ghosh et al. 2020): a Gaussian mixture fitted to the training codes
of any trained autoencoder, decoded, gives it `sample(n)` — a deterministic autoencoder becomes a
generative model. Ghosh et al. found AE + GMM as good as or better than a VAE on sample quality.

    density = ExPostDensity(n_components=10).fit(model, train)
    images = density.sample(64)  # (64, *input_shape)
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Literal

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import Tensor

from ..config import count, unknown_key
from ..data.batches import encode_all, eval_mode, map_batches, model_device, why_codes_alone_fail
from ..errors import ConfigError
from .generate import code_shape

FULL_COVARIANCE_MAX = 64  # `generate`: widest code whose mixture gets full covariances


class ExPostDensity:
    """A Gaussian mixture over a trained model's codes, sampled and decoded (scikit-learn style)."""

    def __init__(
        self,
        n_components: int = 10,  # Ghosh et al. use 10 on MNIST
        *,
        covariance_type: Literal["full", "tied", "diag", "spherical"] = "full",
        seed: int = 0,  # the mixture's initialisation and its draws
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.seed = seed

    def fit(self, model, data: Any) -> ExPostDensity:
        """Fit the mixture to the codes of `data` (the training set); returns self."""
        count("n_components", self.n_components)
        if self.seed is not None and not (isinstance(self.seed, numbers.Integral) and not isinstance(self.seed, bool)):
            raise ConfigError(f"seed: must be a whole number or None (fresh draws at each call), got {self.seed!r}")
        codes = encode_all(model, data)  # (N, code_size), flat even for a feature-map code
        if len(codes) < self.n_components:
            raise ConfigError(f"n_components: {self.n_components} needs at least as many codes, got {len(codes)}")
        self.model_ = model
        self.code_shape_ = code_shape(model)
        self.draws_ = 0  # calls of sample_codes without a seed so far
        self.gmm_ = GaussianMixture(
            self.n_components, covariance_type=self.covariance_type, random_state=self.seed
        ).fit(np.asarray(codes, dtype=np.float64))  # float32 covariances fail numpy's symmetry check in sample()
        return self

    def sample_codes(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """n codes drawn from the mixture: (n, code_size). `seed` makes them repeatable; without one, the density's
        seed starts a stream that each call goes on in, the same from a density fitted alike."""
        # (a trial: without the stream, batches drawn in a loop were one batch again and again)
        count("n", n)
        if not hasattr(self, "gmm_"):
            raise ConfigError("ExPostDensity: call fit(model, train_data) before sampling")
        draws = getattr(self, "draws_", 0)  # (a density pickled before it counted: a review)
        if seed is None and self.seed is not None:  # (seed=None: fresh draws at each call, as ever)
            seed = self.seed if not draws else int(np.random.SeedSequence([self.seed, draws]).generate_state(1)[0])
            self.draws_ = draws + 1
        self.gmm_.random_state = seed
        codes, _ = self.gmm_.sample(n)
        return codes[np.random.default_rng(self.gmm_.random_state).permutation(n)]  # sample() sorts by component

    def sample(self, n: int, *, seed: int | None = None) -> Tensor:
        """n new inputs: mixture draws decoded by the model, (n, *input_shape) on the CPU."""
        z = torch.from_numpy(self.sample_codes(n, seed=seed)).float().reshape(n, *self.code_shape_)
        return map_batches(self.model_, z, self.model_.decode)


def sampler(model, train: Any = None, **density: Any):
    """`sample(n)` for any model: its own when it has one (vae, wae, vq-vae...; a cvae's takes `y=`, else it
    draws unlabelled), else an ex-post mixture fitted to the codes of `train` (ExPostDensity keywords in
    `density`). A vq-vae's prior over its indices is fitted to `train` first where it is not yet."""
    allowed = inspect.signature(ExPostDensity).parameters
    unknown = [key for key in density if key not in allowed]
    if unknown:  # before the codes are fitted, and not as ExPostDensity's TypeError
        raise unknown_key("sampler", unknown[0], allowed)
    reason = why_no_samples(model)
    if reason is not None:
        raise ConfigError(f"sampler: {reason}")
    if callable(getattr(model, "sample", None)):
        if getattr(model, "prior_fitted", True) is False and train is not None:
            model.fit_prior(train)
        return model.sample
    if train is None:
        raise ConfigError(f"model '{model.name}' has no sample(n); pass its training data to fit an ex-post density")
    return ExPostDensity(**density).fit(model, train).sample


def why_no_samples(model) -> str | None:
    """Why `generate` cannot draw from `model` (one line), or None when it can."""
    reason = why_codes_alone_fail(model)
    if reason is not None:
        return reason
    if callable(getattr(model, "sample", None)) or all(callable(getattr(model, f, None)) for f in ("encode", "decode")):
        return None
    return f"model '{getattr(model, 'name', type(model).__name__)}' has neither sample(n) nor an encoder and decoder"


@torch.no_grad()
def generate(model, n: int, *, train: Any = None, seed: int = 0, n_components: int = 10) -> tuple[Tensor, str]:
    """n new samples the way `model` generates, seeded: (images (n, *input_shape) on the CPU, how, in words).

    A model with its own `sample(n)` uses it: a conditional one (cvae) as each class in turn, one
    with an index prior (vq-vae's `fit_prior`) after fitting it to `train`. Any other decodes an
    ex-post Gaussian mixture of `n_components` fitted to the codes of `train` (Ghosh et al. use 10).
    """
    count("n", n)
    reason = why_no_samples(model)
    if reason is not None:
        raise ConfigError(f"generate: {reason}")
    if not callable(getattr(model, "sample", None)):
        # full covariances as Ghosh et al.; diagonal ones for wide codes (a conv feature map), where
        # full ones cost O(d^2) per component and code in every EM step
        covariance = "full" if math.prod(code_shape(model)) <= FULL_COVARIANCE_MAX else "diag"
        images = sampler(model, train, n_components=n_components, covariance_type=covariance, seed=seed)(n)
        return images, (f"a {n_components}-component Gaussian mixture ({covariance} covariances) fitted to the "
                        "training codes, decoded (ex-post density)")
    generator = torch.Generator(model_device(model)).manual_seed(seed)
    how = "the model's own sample(n)"
    labels: dict[str, Tensor] = {}
    if callable(getattr(model, "fit_prior", None)) and train is not None:
        model.fit_prior(train)
        how += ", its prior fitted to the training codes"
    if getattr(model, "conditional", False):
        labels["y"] = torch.arange(n) % model.config.n_classes
        how += ", as each class in turn"
    with eval_mode(model):
        return model.sample(n, generator=generator, **labels).cpu(), how
