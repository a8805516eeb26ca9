"""The Wasserstein autoencoder: the IMQ MMD estimate, the penalty in the loss, sampling from the prior."""

from __future__ import annotations

import pytest
import torch

import aekit
from aekit.models.wae import imq_mmd

SHAPE = (1, 28, 28)


def test_mmd_is_about_zero_for_one_distribution_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    base = 2.0 * 8
    assert abs(imq_mmd(a, a, base_scale=base).item()) < 0.03  # the i == j cross pairs: -2 * 7 / 400 at most
    assert abs(imq_mmd(a, b, base_scale=base).item()) < 0.01
    shifted = [imq_mmd(a, b + shift, base_scale=base).item() for shift in (0.25, 0.5, 1.0, 2.0)]
    assert shifted[0] > 0.02
    assert all(lo < hi for lo, hi in zip(shifted, shifted[1:])), shifted


def test_mmd_is_symmetric_and_sees_a_change_of_scale():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(300, 4, generator=g), torch.randn(300, 4, generator=g)
    torch.testing.assert_close(imq_mmd(a, 3 * b, base_scale=8.0), imq_mmd(3 * b, a, base_scale=8.0))
    assert imq_mmd(a, 3 * b, base_scale=8.0) > 10 * abs(imq_mmd(a, b, base_scale=8.0))


def test_loss_adds_the_weighted_penalty(real_batch):
    model = aekit.create_model("wae", input_shape=SHAPE, hidden=(32,), code_size=4, mmd_weight=3.0)
    x = real_batch[:64]
    torch.manual_seed(5)
    with torch.no_grad():
        terms = model.loss(x, model(x))
    torch.testing.assert_close(terms["loss"], terms["recon"] + terms["mmd"])
    torch.manual_seed(5)  # the same prior draws
    z = model.encode(x).detach()
    expected = 3.0 * imq_mmd(z, torch.randn_like(z), base_scale=2.0 * 4)
    torch.testing.assert_close(terms["mmd"], expected)


def test_the_penalty_pulls_the_codes_to_the_prior(mnist_mini):
    x = mnist_mini.x[:1024]
    distances = {}
    for weight in (10.0, 0.0):
        torch.manual_seed(0)
        model = aekit.create_model("wae", input_shape=SHAPE, hidden=(128,), code_size=4, mmd_weight=weight)
        history = aekit.fit(model, x, epochs=5, batch_size=64, lr=2e-3, progress=False)
        assert history["train_recon"][-1] < 0.5 * history["train_recon"][0]
        z = torch.from_numpy(model.encode_array(x))
        distances[weight] = imq_mmd(z, torch.randn_like(z), base_scale=2.0 * 4).item()
    assert distances[10.0] < 0.6 * distances[0.0], distances


def test_samples_decode_prior_draws_reproducibly():
    model = aekit.create_model("wae", input_shape=SHAPE, hidden=(32,), code_size=4, prior_std=2.0).eval()
    a = model.sample(6, generator=torch.Generator().manual_seed(0))
    z = 2.0 * torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    assert a.shape == (6, *SHAPE) and 0 <= a.min() and a.max() <= 1
    torch.testing.assert_close(a, model.decode(z))


@pytest.mark.parametrize(("values", "key"), [({"mmd_weight": -1.0}, "mmd_weight"), ({"prior_std": 0.0}, "prior_std")])
def test_bad_config_names_the_key(values, key):
    with pytest.raises(aekit.ConfigError, match=key):
        aekit.create_model("wae", input_shape=SHAPE, **values)


def test_the_vae_prior_std_can_be_set_on_a_model():
    model = aekit.create_model("vae", input_shape=SHAPE, hidden=(32,), code_size=4)
    assert model.prior_std == 1.0
    model.prior_std = 3.0  # a wider prior to sample from
    codes = model.prior_codes(4000, generator=torch.Generator().manual_seed(0))
    assert 2.8 < float(codes.std()) < 3.2
