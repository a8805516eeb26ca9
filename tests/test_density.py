"""Ex-post density (Ghosh et al. 2020): a Gaussian mixture on the codes gives any autoencoder sample(n)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aekit
from aekit.analysis.density import ExPostDensity, generate, sampler
from aekit.analysis.latent import encode_all


@pytest.mark.parametrize(("name", "covariance"), [("dense", "full"), ("conv", "diag")])  # a flat code, a feature map
def test_any_autoencoder_samples_through_its_codes(name, covariance, real_batch, small_model):
    model = small_model(name)
    density = ExPostDensity(n_components=3, covariance_type=covariance).fit(model, real_batch[:200])
    images = density.sample(7)
    assert images.shape == (7, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    assert torch.equal(images, density.sample(7, seed=density.seed))  # seeded
    assert not torch.equal(images, density.sample(7, seed=1))
    # a trial: drawn in a loop, each batch was the first again; the stream repeats from a density fitted alike
    following = density.sample(7)
    assert not torch.equal(images, following)
    again = ExPostDensity(n_components=3, covariance_type=covariance).fit(model, real_batch[:200])
    assert torch.equal(images, again.sample(7)) and torch.equal(following, again.sample(7))
    with pytest.raises(aekit.ConfigError, match=r"^seed: must be a whole number or None \(fresh draws at each call\), got "
                       r"RandomState"):  # (a second look: it fitted, then failed as it drew)
        ExPostDensity(seed=np.random.RandomState(0)).fit(model, real_batch[:200])
    none = ExPostDensity(n_components=3, covariance_type=covariance, seed=None).fit(model, real_batch[:200])
    assert not torch.equal(none.sample(7), none.sample(7))  # fresh draws at each call (a review: the second failed)
    del vars(density)["draws_"]  # a density pickled before it counted its draws (a review: AttributeError)
    assert torch.equal(density.sample(7), images)
    codes = density.sample_codes(7, seed=density.seed)
    expected = model.eval().decode(torch.from_numpy(codes).float().reshape(7, *density.code_shape_))
    torch.testing.assert_close(images, expected.detach())


def test_one_full_component_is_the_gaussian_of_the_codes(real_batch):
    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(32,), code_size=3)
    density = ExPostDensity(n_components=1).fit(model, real_batch)
    codes = encode_all(model, real_batch)
    np.testing.assert_allclose(density.gmm_.means_[0], codes.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(density.gmm_.covariances_[0], np.cov(codes, rowvar=False, bias=True), atol=1e-5)
    drawn = density.sample_codes(20000)
    np.testing.assert_allclose(drawn.mean(0), codes.mean(0), atol=0.05 * codes.std(0).max())


def test_the_mixture_is_fitted_in_float64(real_batch):
    """float32 codes gave float32 covariances, which numpy's multivariate_normal can find not
    symmetric (a RuntimeWarning, seen on a trained 8-d code) when sample() draws."""
    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(32,), code_size=3)
    density = ExPostDensity(n_components=2).fit(model, real_batch)
    assert density.gmm_.covariances_.dtype == np.float64


def test_sampler_prefers_the_models_own_and_needs_data_otherwise(real_batch):
    vae = aekit.create_model("vae", input_shape=(1, 28, 28), hidden=(16,), code_size=2)
    assert sampler(vae) == vae.sample
    ae = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(16,), code_size=2)
    with pytest.raises(aekit.ConfigError, match="training data"):
        sampler(ae)
    assert sampler(ae, real_batch[:50], n_components=2)(4).shape == (4, 1, 28, 28)
    with pytest.raises(aekit.ConfigError, match="fit"):
        ExPostDensity().sample(3)
    # a trial: a vq-vae's sampler given its training data refused to draw (the prior not fitted), where generate fits it
    vq = aekit.create_model("vq-vae", input_shape=(1, 28, 28), hidden=(16,), positions=2, codebook_size=8)
    with pytest.raises(aekit.AekitError, match="prior over code indices is not fitted yet"):
        sampler(vq)(2)
    assert sampler(vq, real_batch[:50])(3).shape == (3, 1, 28, 28) and vq.prior_fitted


def test_generate_uses_the_models_own_sampler_else_a_mixture(real_batch, small_model):
    vae = aekit.create_model("vae", input_shape=(1, 28, 28), hidden=(16,), code_size=2)
    images, how = generate(vae, 5, seed=3)
    assert images.shape == (5, 1, 28, 28) and "own sample" in how
    assert torch.equal(images, generate(vae, 5, seed=3)[0]) and not torch.equal(images, generate(vae, 5, seed=4)[0])
    cvae = aekit.create_model("cvae", input_shape=(1, 28, 28), hidden=(16,), code_size=2, n_classes=10)
    assert "each class in turn" in generate(cvae, 12)[1]
    dense = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(16,), code_size=2)
    images, how = generate(dense, 4, train=real_batch[:100])
    assert images.shape == (4, 1, 28, 28) and "Gaussian mixture (full covariances)" in how
    conv = small_model("conv")  # a feature-map code, wider than FULL_COVARIANCE_MAX: diagonal covariances
    assert "Gaussian mixture (diag covariances)" in generate(conv, 4, train=real_batch[:100])[1]
    with pytest.raises(aekit.ConfigError, match="training data"):
        generate(dense, 4)
    with pytest.raises(aekit.ConfigError, match="neither sample"):
        generate(torch.nn.Linear(2, 2), 4)  # not an autoencoder: nothing to decode


def test_an_unpooling_decoder_has_no_samples_of_its_own(real_batch, tmp_path):
    """Its decoder takes the encoder's pooling indices beside the code: codes drawn alone decoded without them,
    and `aekit evaluate` reported a Fréchet distance of 382, precision 1.000 and recall 0.000 of those images."""
    from aekit.apps.run import generative_metrics
    from aekit.data import Dataset

    conv = aekit.create_model("conv", input_shape=(1, 28, 28), channels=(4, 8), decoder="unpool")
    from aekit.analysis.generate import interpolate, latent_grid

    for draw in (lambda: generate(conv, 4, train=real_batch[:50]), lambda: sampler(conv, real_batch[:50]),
                 lambda: latent_grid(conv, n=3, data=real_batch[:20], dims=(0, 1)),
                 lambda: interpolate(conv, real_batch[:1], real_batch[1:2])):
        with pytest.raises(aekit.ConfigError, match="decodes with the encoder's pooling indices beside the code"):
            draw()
    data = Dataset(real_batch[:40], None, "digits")
    metrics = generative_metrics(conv, data, data, nll_samples=0, quality_samples=10, classifier_cache=tmp_path,
                                 progress=False)
    assert "pooling indices" in metrics["sample_quality_skipped"] and "sample_quality" not in metrics
