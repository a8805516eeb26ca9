"""The importance-weighted autoencoder: the k = 1 bound is the ELBO, the bound rises with k."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal

import aekit
from aekit.models.iwae import log_mean_exp

SHAPE = (1, 28, 28)


def small(name="iwae", **config):
    return aekit.create_model(name, input_shape=SHAPE, hidden=(64,), code_size=4, **config)


def test_log_mean_exp_is_stable_and_exact():
    values = torch.tensor([[1000.0, 0.0], [1000.0, 2.0]])
    torch.testing.assert_close(log_mean_exp(values), torch.tensor([1000.0, math.log((1 + math.e**2) / 2)]))


def test_k1_weight_is_the_single_sample_elbo_for_the_same_draw(real_batch):
    model = small().eval()
    x = real_batch[:8]
    g = torch.Generator().manual_seed(3)
    lw = model.log_importance_weights(x, 1, generator=g)[0]
    mu, logvar = model.posterior(x)
    z = mu + (0.5 * logvar).exp() * torch.randn(1, *mu.shape, generator=torch.Generator().manual_seed(3))[0]
    logits = model.decode_logits(z).reshape(8, -1)
    expected = (
        Bernoulli(logits=logits, validate_args=False).log_prob(x.reshape(8, -1)).sum(1)
        + Normal(0.0, 1.0).log_prob(z).sum(1)
        - Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(1)
    )
    torch.testing.assert_close(lw, expected, rtol=1e-5, atol=1e-3)


def test_k1_bound_equals_the_vae_elbo_in_expectation(real_batch):
    x = real_batch[:32]
    torch.manual_seed(0)
    iwae = small(samples=1)
    vae = small("vae")
    vae.load_state_dict(iwae.state_dict())
    iwae.train(), vae.train()
    with torch.no_grad():
        neg_bound = torch.stack([iwae.loss(x, iwae(x))["loss"] for _ in range(300)]).mean()
        neg_elbo = torch.stack([vae.loss(x, vae(x))["loss"] for _ in range(300)]).mean()
    assert neg_bound.item() == pytest.approx(neg_elbo.item(), rel=0.01)


def test_bound_is_non_decreasing_in_k(real_batch):
    model = small()
    aekit.fit(model, real_batch[:256], epochs=2, batch_size=64, lr=2e-3, progress=False)
    x = real_batch[:64]
    torch.manual_seed(1)
    with torch.no_grad():
        bounds = [
            torch.stack([log_mean_exp(model.log_importance_weights(x, k)).mean() for _ in range(20)]).mean().item()
            for k in (1, 5, 50)
        ]
    assert bounds[0] < bounds[1] < bounds[2], bounds


def test_training_maximises_the_k_sample_bound(real_batch):
    model = small(samples=5)
    x = real_batch[:256]
    with torch.no_grad():  # not an optimiser step: the warm-up does not advance
        terms = model.loss(x, model(x))
    assert set(terms) >= {"loss", "bound", "recon", "kl"}
    torch.testing.assert_close(terms["loss"], -terms["bound"])
    history = aekit.fit(model, x, epochs=4, batch_size=64, lr=2e-3, progress=False)
    assert history["train_bound"][-1] > history["train_bound"][0]
    assert int(model.kl_step) == 16


def test_samples_key_is_checked():
    with pytest.raises(aekit.ConfigError, match="samples"):
        small(samples=0)


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_the_logged_bound_is_L_k_whatever_beta_the_loss_weighs(beta, real_batch):
    """A maths review: with beta != 1 the logged "bound" was the log-mean-exp of beta-weighted importance
    weights, no bound on log p(x); it is L_k from the loss's own draws, and the loss keeps beta."""
    model = small(beta=beta).eval()
    x = real_batch[:8]
    with torch.no_grad():
        torch.manual_seed(5)
        terms = model.loss(x, model(x))
        torch.manual_seed(5)
        out = model(x)
        posterior = (out.extras["mu"], out.extras["logvar"])
        log_px_z, log_ratio = model.log_weight_terms(x, model.config.samples, posterior=posterior)
    torch.testing.assert_close(terms["bound"], log_mean_exp(log_px_z + log_ratio).mean())
    torch.testing.assert_close(terms["loss"], -log_mean_exp(log_px_z + beta * log_ratio).mean())
    assert (terms["bound"] == -terms["loss"]) == (beta == 1.0)
