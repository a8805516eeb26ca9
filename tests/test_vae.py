"""The variational autoencoder: KL term, ELBO on real digits, sampling, beta and KL warm-up."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

import aekit
from aekit.models.base import Output
from aekit.models.vae import gaussian_kl

SHAPE = (1, 28, 28)


def small_vae(**config):
    return aekit.create_model("vae", input_shape=SHAPE, hidden=(64,), code_size=4, **config)


def test_kl_matches_closed_form_and_is_non_negative():
    mu, logvar = torch.randn(32, 6) * 2, torch.randn(32, 6)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(dim=1)
    kl = gaussian_kl(mu, logvar)
    torch.testing.assert_close(kl, expected)
    assert (kl >= 0).all()


def test_kl_is_exactly_zero_at_the_prior_and_positive_elsewhere(real_batch):
    model = small_vae()
    x = real_batch[:8]
    zeros = torch.zeros(8, 4)

    def kl_of(mu, logvar):
        out = Output(x_hat=x, z=mu, logits=torch.logit(x, eps=1e-3), extras={"mu": mu, "logvar": logvar})
        return model.loss(x, out)["kl"]

    assert kl_of(zeros, zeros).item() == 0.0
    assert kl_of(zeros + 0.1, zeros).item() > 0
    assert kl_of(zeros, zeros - 0.1).item() > 0
    assert model(x).extras["logvar"].shape == (8, 4)


def negative_elbo(model, x, draws=4):
    """Monte-Carlo -ELBO per sample (recon with sampled z + KL), without advancing the warm-up."""
    model.train()
    torch.manual_seed(1)
    with torch.no_grad():
        terms = [model.loss(x, model(x)) for _ in range(draws)]
    return sum((t["recon"] + t["kl"]).item() for t in terms) / draws


def test_elbo_improves_on_real_digits(mnist_mini):
    x = mnist_mini.x[:1024]
    model = aekit.create_model("vae", input_shape=SHAPE, hidden=(128,), code_size=8)
    before = negative_elbo(model, x)
    aekit.fit(model, x, epochs=3, batch_size=64, lr=2e-3, progress=False)
    after = negative_elbo(model, x)
    assert after < 0.5 * before, f"-ELBO {before:.1f} -> {after:.1f}"
    assert int(model.kl_step) == 3 * 16  # one step per optimiser step; the no-grad ELBO calls add none


def test_samples_have_the_data_shape_and_lie_in_unit_interval():
    model = small_vae().eval()
    samples = model.sample(16, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (16, *SHAPE)
    assert samples.min() >= 0 and samples.max() <= 1
    again = model.sample(16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples, again)
    with pytest.raises(aekit.ConfigError, match="n: must be a whole number > 0"):
        model.sample(0)


def test_training_samples_z_and_eval_uses_the_mean(real_batch):
    model = small_vae()
    x = real_batch[:8]
    out = model(x)
    assert torch.equal(out.z, out.extras["mu"])
    assert not torch.equal(out.extras["z_sample"], out.extras["mu"])
    model.eval()
    first, second = model(x), model(x)
    assert torch.equal(first.extras["z_sample"], first.extras["mu"])
    assert torch.equal(first.x_hat, second.x_hat)
    assert torch.equal(model.encode(x), first.z)


def test_warmup_weight_grows_linearly_and_beta_scales_it(real_batch):
    model = small_vae(beta=2.0, kl_warmup_steps=10)
    x = real_batch[:8]
    for step in range(14):
        terms = model.loss(x, model(x))
        w = min(1.0, step / 10)
        assert terms["kl_weight"].item() == pytest.approx(2.0 * w)
        torch.testing.assert_close(terms["loss"], terms["recon"] + 2.0 * w * terms["kl"])
    assert int(model.kl_step) == 14
    model.eval()
    with torch.no_grad():  # evaluation does not advance the warm-up, and weighs the KL by beta alone: the objective
        model.kl_step.fill_(3)
        terms = model.loss(x, model(x))  # (validation losses under the rising weight made restore_best keep an early epoch)
    assert int(model.kl_step) == 3 and terms["kl_weight"].item() == 2.0
    torch.testing.assert_close(terms["loss"], terms["recon"] + 2.0 * terms["kl"])


def test_warmup_step_is_saved_and_resumes_exactly(real_batch, tmp_path):
    x = real_batch[:64]
    options = {"batch_size": 16, "lr": 1e-3, "progress": False}

    whole = small_vae(kl_warmup_steps=20)
    aekit.fit(whole, x, epochs=2, **options)
    assert int(whole.kl_step) == 8

    torch.manual_seed(0)  # the same initial weights as `whole`
    part = small_vae(kl_warmup_steps=20)
    aekit.fit(part, x, epochs=1, run_dir=tmp_path / "run", **options)
    assert int(part.kl_step) == 4
    torch.manual_seed(123)  # a fresh process: other initial weights and RNG state, all replaced on resume
    resumed = small_vae(kl_warmup_steps=20)
    aekit.fit(resumed, x, epochs=2, run_dir=tmp_path / "run", resume=True, **options)
    assert int(resumed.kl_step) == 8
    for (key, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), key

    loaded = aekit.load_model(tmp_path / "run")
    assert int(loaded.kl_step) == 8 and loaded.kl_weight == pytest.approx(8 / 20)


@pytest.mark.parametrize(
    ("values", "key"),
    [({"beta": -1.0}, "beta"), ({"kl_warmup_steps": -5}, "kl_warmup_steps"), ({"code_size": 0}, "code_size")],
)
def test_bad_config_names_the_key(values, key):
    with pytest.raises(aekit.ConfigError, match=key):
        aekit.create_model("vae", input_shape=SHAPE, **values)


@pytest.mark.parametrize("name", ["vae", "iwae"])
def test_dynamic_binarisation_draws_fresh_binary_targets_in_training_only(name, real_batch):
    model = aekit.create_model(name, input_shape=SHAPE, hidden=(32,), code_size=2, binarize=True)
    x = real_batch[:64]
    first, second = model(x).extras["target"], model(x).extras["target"]
    assert set(first.unique().tolist()) == {0.0, 1.0} and not torch.equal(first, second)
    assert first.mean().item() == pytest.approx(x.mean().item(), abs=0.02)
    out = model(x)
    with torch.no_grad():  # the loss reconstructs the draw, not the grey input
        torch.testing.assert_close(model.loss(x, out)["recon"], model.reconstruction_loss(out.extras["target"], out))
    model.eval()
    assert "target" not in model(x).extras
    with pytest.raises(aekit.ConfigError, match="binarize"):
        aekit.create_model(name, input_shape=SHAPE, binarize=True, recon_loss="mse", output_activation="linear")
