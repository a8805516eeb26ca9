"""The importance-sampled NLL: exact for an exact posterior, an upper bound that tightens with k."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import MultivariateNormal

import aekit
from aekit.analysis.likelihood import binarize, importance_sampled_nll


def linear_gaussian_vae_with_exact_posterior():
    """p(z) = N(0, I), p(x|z) = N(Wz + b, I/2) (aekit's mse likelihood) and q(z|x) set to the true posterior
    N(2 S W^T (x - b), S), S = (I + 2 W^T W)^-1 (diagonal: W's columns are orthogonal)."""
    model = aekit.create_model(
        "vae", input_shape=(4,), hidden=(), code_size=2, recon_loss="mse", output_activation="linear"
    ).eval()
    w = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, -1.0]])  # orthogonal columns
    b = torch.tensor([0.5, -1.0, 0.0, 2.0])
    s = torch.linalg.inv(torch.eye(2) + 2 * w.T @ w)
    with torch.no_grad():
        model.decoder[0].weight.copy_(w)
        model.decoder[0].bias.copy_(b)
        encoder = model.encoder[0]  # (B, 4) -> (B, 4): mu, then logvar
        encoder.weight.zero_()
        encoder.weight[:2] = 2 * s @ w.T
        encoder.bias[:2] = -2 * s @ w.T @ b
        encoder.bias[2:] = torch.log(torch.diagonal(s))
    marginal = MultivariateNormal(b, w @ w.T + 0.5 * torch.eye(4))
    return model, marginal


def test_nll_of_an_exact_posterior_is_the_closed_form_for_any_k():
    model, marginal = linear_gaussian_vae_with_exact_posterior()
    x = marginal.sample((50,))
    expected = -marginal.log_prob(x)
    for k in (1, 7):
        nll = importance_sampled_nll(model, x, k=k, binary=False, batch_size=16, chunk=3)
        torch.testing.assert_close(nll, expected, rtol=1e-4, atol=1e-4)


def test_nll_estimates_tighten_with_k_and_repeat(real_batch):
    model = aekit.create_model("vae", input_shape=(1, 28, 28), hidden=(64,), code_size=4)
    aekit.fit(model, real_batch[:256], epochs=2, batch_size=64, lr=2e-3, progress=False)
    x = real_batch[:32]
    nll = {k: importance_sampled_nll(model, x, k=k, chunk=64).mean().item() for k in (1, 10, 200)}
    assert nll[1] > nll[10] > nll[200], nll  # k = 1 is the negative ELBO (one draw)
    assert nll[200] > 0
    again = importance_sampled_nll(model, x, k=200, chunk=64).mean().item()
    assert again == nll[200]  # seeded: binarisation and draws repeat


def test_binarize_is_seeded_and_keeps_the_mean(real_batch):
    a, b = binarize(real_batch, seed=1), binarize(real_batch, seed=1)
    assert torch.equal(a, b) and set(a.unique().tolist()) <= {0.0, 1.0}
    assert a.mean().item() == pytest.approx(real_batch.mean().item(), abs=0.01)


def test_models_without_a_posterior_are_refused(real_batch):
    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(16,), code_size=2)
    with pytest.raises(aekit.ConfigError, match="probabilistic decoder"):
        importance_sampled_nll(model, real_batch[:4], k=2)


def test_a_bernoulli_nll_of_grey_values_is_refused_wherever_it_is_asked_for():
    """generative-mnist reported an NLL of binarised Fashion-MNIST for models trained on its grey values, where
    `aekit evaluate` refused it; and a Gaussian decoder's density was printed as if a Bernoulli NLL."""
    from aekit.analysis.likelihood import why_no_likelihood
    from aekit.apps.run import format_metrics

    grey, binary = torch.full((4, 1, 4, 4), 0.5), torch.bernoulli(torch.full((4, 1, 4, 4), 0.5))
    bce = aekit.create_model("vae", input_shape=(1, 4, 4), hidden=[8], code_size=2)
    assert why_no_likelihood(bce) is None and why_no_likelihood(bce, binary) is None
    assert why_no_likelihood(bce, grey).startswith("100% of the values lie between 0.25 and 0.75")
    for kind in ({"binarize": True}, {"recon_loss": "mse"}):
        assert why_no_likelihood(aekit.create_model("vae", input_shape=(1, 4, 4), hidden=[8], code_size=2, **kind), grey) is None
    shown = format_metrics({"split": "test", "n": 4, "squared_error_per_sample": 1.0,
                            "nll": {"nats": 3.0, "k": 10, "binarized": False, "n": 4}})
    assert "under a Gaussian decoder of variance 1/2: a density of the [0, 1]-scaled values, not comparable" in shown


def test_a_long_nll_says_how_far_it_is_where_no_bar_shows(monkeypatch, capsys):
    """In a log file the bar is off, and k = 5000 on 10,000 digits was ~11 silent minutes: a line every 30 s."""
    import types

    from aekit.analysis import likelihood

    clock = [0.0]
    monkeypatch.setattr(likelihood, "time", types.SimpleNamespace(perf_counter=lambda: clock.__setitem__(0, clock[0] + 20)
                                                                  or clock[0]))
    model = aekit.create_model("vae", input_shape=(1, 28, 28), hidden=(16,), code_size=2)
    likelihood.importance_sampled_nll(model, torch.rand(500, 1, 28, 28), k=4, progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("  test NLL: ") and " of 500 inputs (" in line for line in lines)


def test_the_draws_of_z_are_not_the_stream_that_binarised_the_pixels(monkeypatch, real_batch):
    """Both generators were seeded with `seed`: randn is a transform of the very uniforms bernoulli drew the
    pixels with, so each z depended on its image's pixels (11 standard errors off on a 16-pixel check)."""
    from aekit.analysis import likelihood

    model = aekit.create_model("vae", input_shape=(1, 28, 28), hidden=(16,), code_size=2)
    seeds = {}
    binarizing = likelihood.binarize
    monkeypatch.setattr(likelihood, "binarize", lambda x, *, seed: seeds.setdefault("pixels", seed) and binarizing(x, seed=seed))
    drawing = model.log_importance_weights

    def recorded(x, k, **kw):
        seeds["z"] = kw["generator"].initial_seed()
        return drawing(x, k, **kw)

    monkeypatch.setattr(model, "log_importance_weights", recorded)
    first = importance_sampled_nll(model, real_batch[:4], k=3, seed=7)
    assert seeds["pixels"] != seeds["z"]
    assert torch.equal(first, importance_sampled_nll(model, real_batch[:4], k=3, seed=7))  # still seeded
    pixels, z = seeds.pop("pixels"), seeds.pop("z")
    importance_sampled_nll(model, real_batch[:4], k=3, seed=0)
    # one binarised set whatever the seed (a bug hunt: runs of another train.seed measured other binarised digits)
    assert seeds["pixels"] == pixels and seeds["z"] != z


def test_a_gaussian_decoder_is_not_measured_on_binarised_data_by_default():
    """binary defaulted to True whatever the model: a Gaussian (mse) decoder's density was taken of binarised
    values, other data than the user's."""
    model = aekit.create_model("vae", input_shape=(6,), hidden=(8,), code_size=2, recon_loss="mse",
                               output_activation="linear")
    x = torch.full((5, 6), 0.4)
    assert torch.equal(importance_sampled_nll(model, x, k=4), importance_sampled_nll(model, x, k=4, binary=False))
    cvae = aekit.create_model("cvae", input_shape=(6,), hidden=(8,), code_size=2, n_classes=2)
    with pytest.raises(aekit.ConfigError, match=r"^importance_sampled_nll: model 'cvae' is conditional"):
        importance_sampled_nll(cvae, x, k=2)


def test_the_negative_elbo_is_a_looser_bound_than_the_nll_of_the_same_draws(real_batch):
    """The generate-mnist-grid experiment reported recon(mu) + KL, the evaluation loss at the mean code, as the
    negative ELBO; the ELBO averages over draws of z, and by Jensen's inequality it lies below the IWAE bound
    of the same draws."""
    from aekit.analysis.likelihood import negative_elbo

    model = aekit.create_model("vae", input_shape=(1, 28, 28), hidden=(16,), code_size=2)
    elbo = negative_elbo(model, real_batch[:16], samples=20, seed=3)
    nll = importance_sampled_nll(model, real_batch[:16], k=20, seed=3)
    assert elbo.shape == (16,) and bool((elbo >= nll - 1e-4).all()) and float((elbo - nll).mean()) > 0.01
    one = importance_sampled_nll(model, real_batch[:16], k=1, seed=3)
    assert torch.allclose(negative_elbo(model, real_batch[:16], samples=1, seed=3), one)  # k = 1: the same estimate


def test_the_estimators_name_their_own_arguments():
    """negative_elbo(samples=0) was refused as "k", and a negative seed raised numpy's raw ValueError."""
    from aekit.analysis.likelihood import negative_elbo

    model = aekit.create_model("vae", input_shape=(4,), hidden=(4,), code_size=2)
    with pytest.raises(aekit.ConfigError, match=r"^samples: must be a whole number > 0, got 0$"):
        negative_elbo(model, torch.rand(3, 4), samples=0)
    with pytest.raises(aekit.ConfigError, match=r"^seed: must be a whole number >= 0, got -1$"):
        importance_sampled_nll(model, torch.rand(3, 4), seed=-1)
