"""Every registered model, tested the moment it is registered (parametrised over list_models())."""

from __future__ import annotations

import pytest
import torch

import aekit

MODELS = aekit.list_models()


@pytest.mark.parametrize("name", MODELS)
def test_shapes(name, real_batch, small_model):
    model = small_model(name)
    x = real_batch[:16]
    out = model(x)
    assert out.x_hat.shape == x.shape
    assert out.z.shape[0] == 16
    assert model.encode(x).shape == out.z.shape
    assert model.decode(out.z).shape == x.shape


@pytest.mark.parametrize("name", MODELS)
def test_loss_falls_on_real_batch(name, real_batch, small_model):
    model = small_model(name)
    x = real_batch[:256]
    model.eval()
    with torch.no_grad():
        before = model.loss(x, model(x))["loss"].item()
    aekit.fit(model, x, epochs=8, batch_size=64, lr=1e-3, progress=False)
    model.eval()
    with torch.no_grad():
        after = model.loss(x, model(x))["loss"].item()
    assert after < 0.9 * before, f"{name}: loss {before:.3f} -> {after:.3f}"


@pytest.mark.parametrize("name", MODELS)
def test_save_load_identical(name, real_batch, tmp_path, small_model):
    model = small_model(name).eval()
    x = real_batch[:8]
    path = aekit.save_model(model, tmp_path / "m.safetensors")
    loaded = aekit.load_model(path).eval()
    assert type(loaded) is type(model)
    with torch.no_grad():
        assert torch.equal(loaded(x).x_hat, model(x).x_hat)


@pytest.mark.parametrize("name", MODELS)
def test_loss_dict_contract(name, real_batch, small_model):
    model = small_model(name)
    terms = model.loss(real_batch[:4], model(real_batch[:4]))
    assert "loss" in terms and terms["loss"].ndim == 0
    assert all(torch.isfinite(v) for v in terms.values())


@pytest.mark.parametrize("name", MODELS)
def test_unknown_config_key_names_it(name):
    with pytest.raises(aekit.ConfigError, match="unknown key 'not_a_key'"):
        aekit.create_model(name, input_shape=(1, 28, 28), not_a_key=1)
