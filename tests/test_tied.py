"""Tied weights: one Parameter per matrix, used by the encoder and (transposed) by the decoder."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import aekit

SHAPE = (1, 28, 28)
WIDTHS = {"hidden": (128, 64), "code_size": 16}


def tied_model(**options):
    return aekit.create_model("tied", input_shape=SHAPE, **{**WIDTHS, **options})


def test_about_half_the_parameters_of_the_untied_net():
    tied = tied_model()
    dense = aekit.create_model("dense", input_shape=SHAPE, **WIDTHS)
    ratio = tied.num_parameters() / dense.num_parameters()
    assert 0.45 < ratio < 0.55, ratio
    # exactly: one matrix per layer instead of two; the same number of biases
    n_matrix = sum(p.numel() for p in dense.encoder.parameters() if p.ndim == 2)
    assert dense.num_parameters() - tied.num_parameters() == n_matrix
    assert [p for p in tied.parameters() if p.ndim == 2] == [m.weight for m in tied.encoder_linears()]


def test_decoder_stays_the_encoder_transposed_after_training(real_batch):
    model = tied_model()
    before = [m.weight.detach().clone() for m in model.encoder_linears()]
    aekit.fit(model, real_batch[:256], epochs=2, batch_size=64, lr=1e-3, progress=False)
    linears = model.encoder_linears()
    assert all(not torch.equal(b, m.weight) for b, m in zip(before, linears))  # training changed them
    for effective, linear in zip(model.decoder_weights(), reversed(linears)):
        assert torch.equal(effective, linear.weight.T)
    # and decode_logits really applies them
    model.eval()
    z = model.encode(real_batch[:8])
    h = z
    for linear, bias in zip(reversed(linears), model.decoder_biases):
        h = F.linear(h, linear.weight.T, bias)
        h = torch.relu(h) if linear is not linears[0] else h
    assert torch.allclose(model.decode_logits(z).reshape(8, -1), h, atol=1e-6)


def test_gradient_is_encoder_plus_decoder_use(real_batch):
    """dL/dW of a tied matrix = the untied net's encoder gradient + its decoder gradient transposed."""
    tied = tied_model()
    dense = aekit.create_model("dense", input_shape=SHAPE, **WIDTHS)
    dense.encoder.load_state_dict(tied.encoder.state_dict())
    dec_linears = [m for m in dense.decoder if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for lin, w, b in zip(dec_linears, tied.decoder_weights(), tied.decoder_biases):
            lin.weight.copy_(w)
            lin.bias.copy_(b + 0.01)  # non-zero decoder biases in both
        for b in tied.decoder_biases:
            b.add_(0.01)
    x = real_batch[:32]
    for model in (tied, dense):
        model.loss(x, model(x))["loss"].backward()
    assert torch.allclose(tied(x).x_hat, dense(x).x_hat, atol=1e-5)
    enc_dense = [m for m in dense.encoder if isinstance(m, nn.Linear)]
    for i, lin in enumerate(tied.encoder_linears()):
        expected = enc_dense[i].weight.grad + dec_linears[-1 - i].weight.grad.T
        assert torch.allclose(lin.weight.grad, expected, rtol=1e-4, atol=1e-5)


def test_weight_l2_counts_each_shared_matrix_once(real_batch):
    model = tied_model(weight_l2=0.01)
    x = real_batch[:8]
    term = model.loss(x, model(x))["weight_l2"].detach()
    expected = 0.01 * sum(float((m.weight.detach().double() ** 2).sum()) for m in model.encoder_linears())
    assert float(term) == pytest.approx(expected, rel=1e-5)


def test_save_load_after_training(real_batch, tmp_path):
    model = tied_model(batch_norm=True, dropout=0.1)
    aekit.fit(model, real_batch[:128], epochs=1, batch_size=64, progress=False)
    state = model.state_dict()
    assert not any(k.startswith("decoder") and v.ndim == 2 for k, v in state.items())  # no stored copies
    path = aekit.save_model(model, tmp_path / "tied.safetensors")
    loaded = aekit.load_model(path).eval()
    model.eval()
    x = real_batch[:16]
    with torch.no_grad():
        assert torch.equal(loaded(x).x_hat, model(x).x_hat)
    for effective, linear in zip(loaded.decoder_weights(), reversed(loaded.encoder_linears())):
        assert torch.equal(effective, linear.weight.T)


def test_batch_norm_and_dropout_mirror_into_the_decoder():
    model = tied_model(batch_norm=[True, False, True], dropout=[0.0, 0.3, 0.0])
    tails = [[type(m).__name__ for m in tail] for tail in model.decoder_tails]
    # decoder hidden layers: width 64 (like encoder layer 2), 128 (like encoder layer 1); then logits
    assert tails == [["ReLU", "Dropout"], ["BatchNorm1d", "ReLU"], []]


def test_decoder_hidden_is_refused():
    with pytest.raises(aekit.ConfigError, match="decoder_hidden: a tied decoder"):
        tied_model(decoder_hidden=(32,))
