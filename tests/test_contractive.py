"""Contractive autoencoder: the Jacobian penalty against torch.autograd.functional.jacobian."""

from __future__ import annotations

import pytest
import torch
from torch.autograd.functional import jacobian

import aekit

SHAPE = (1, 28, 28)


def reference_norm(model, x):
    """mean_b ||dz_b/dx_b||_F^2, one sample at a time, differentiable in the weights."""
    norms = []
    for xb in x.reshape(x.shape[0], -1):
        jac = jacobian(lambda v: model.encode(v[None])[0], xb, create_graph=True)  # (k, D)
        norms.append(jac.pow(2).sum())
    return torch.stack(norms).mean()


def weight_grads(model, value):
    params = [p for p in model.encoder.parameters()]
    return torch.autograd.grad(value, params, allow_unused=True, materialize_grads=True)


def check_against_reference(model, x, penalty):
    ref = reference_norm(model, x)
    assert float(penalty.detach()) == pytest.approx(float(ref.detach()), rel=1e-4)
    for got, want in zip(weight_grads(model, penalty), weight_grads(model, ref)):
        assert torch.allclose(got, want, rtol=1e-3, atol=1e-6)


def test_shallow_sigmoid_closed_form_matches_autograd(real_batch):
    model = aekit.create_model("contractive", input_shape=SHAPE, code_size=24)
    assert model.closed_form
    x = real_batch[:6]
    check_against_reference(model, x, model.jacobian_norm(x, model(x)))


@pytest.mark.parametrize("code_activation", ["tanh", "linear"])
def test_other_closed_forms(real_batch, code_activation):
    model = aekit.create_model("contractive", input_shape=SHAPE, code_size=12, code_activation=code_activation)
    assert model.closed_form
    x = real_batch[:4]
    check_against_reference(model, x, model.jacobian_norm(x))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_deep_encoder_batched_autograd_matches(real_batch, activation):
    model = aekit.create_model(
        "contractive", input_shape=SHAPE, hidden=(32, 16), code_size=8,
        activation=activation, code_activation="tanh",
    )
    assert not model.closed_form
    x = real_batch[:6]
    # from the training forward pass (one graph for loss and penalty) ...
    out = model.train()(x)
    terms = model.loss(x, out)
    check_against_reference(model, x, terms["contractive"] / model.config.contractive_weight)
    # ... and when no graph from x exists (evaluation under no_grad)
    model.eval()
    with torch.no_grad():
        evaluated = model.loss(x, model(x))["contractive"]
    assert float(evaluated) == pytest.approx(float(terms["contractive"].detach()), rel=1e-4)


def test_deep_encoder_with_dropout_trains(real_batch):
    model = aekit.create_model("contractive", input_shape=SHAPE, hidden=(32,), code_size=8, dropout=[0.2, 0.0])
    assert not model.closed_form
    history = aekit.fit(model, real_batch[:128], epochs=2, batch_size=64, progress=False)
    assert all(v > 0 for v in history["train_contractive"])


def test_penalty_shrinks_the_jacobian(mnist_mini):
    x, held_out = mnist_mini.x[:1024], mnist_mini.x[2000:2256]
    norms, recons = [], []
    for weight in (0.0, 1.0):
        torch.manual_seed(0)  # the same initial weights for both
        model = aekit.create_model("contractive", input_shape=SHAPE, code_size=64, contractive_weight=weight)
        history = aekit.fit(model, x, epochs=6, batch_size=64, lr=1e-2, progress=False)
        model.eval()
        with torch.no_grad():
            norms.append(float(model.jacobian_norm(held_out)))
        recons.append(history["train_recon"][-1])
    without, with_penalty = norms
    # measured ratio 0.38-0.44 over seeds
    assert with_penalty < 0.6 * without, f"||J||^2 {without:.2f} without the penalty, {with_penalty:.2f} with"
    assert recons[1] < 1.5 * recons[0]  # still an autoencoder, not a constant


def test_config_errors():
    with pytest.raises(aekit.ConfigError, match="batch_norm: not allowed in a contractive encoder"):
        aekit.create_model("contractive", input_shape=SHAPE, hidden=(32,), batch_norm=True)
    with pytest.raises(aekit.ConfigError, match="contractive_weight: must be >= 0"):
        aekit.create_model("contractive", input_shape=SHAPE, contractive_weight=-1.0)
    model = aekit.create_model("contractive", input_shape=SHAPE, hidden=(32,), decoder_batch_norm=True)
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in model.decoder)


def test_no_penalty_term_when_weight_is_zero(real_batch):
    model = aekit.create_model("contractive", input_shape=SHAPE, code_size=8, contractive_weight=0.0)
    assert "contractive" not in model.loss(real_batch[:4], model(real_batch[:4]))
