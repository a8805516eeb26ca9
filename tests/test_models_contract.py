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
def test_a_model_in_float64_trains_saves_and_loads_in_float64(name, real_batch, tmp_path, small_model):
    """A plain-PyTorch trial: `model.double()` failed in aae, iwae and vq-vae (a loss's or codebook's float32), every
    loss came back in float32 (torch's gradcheck failed on it), and load_model gave a float32 model back."""
    model = small_model(name).double()
    x = real_batch[:8].double()
    for _ in range(2):  # the second step after the first update (vq-vae's codebook, aae's discriminator)
        terms = model.loss(x, model(x))
        assert terms["loss"].dtype == torch.float64
        model.zero_grad()
        terms["loss"].backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 1e-3 * (p.grad if p.grad is not None else 0)
    loaded = aekit.load_model(aekit.save_model(model.eval(), tmp_path / "m.safetensors"))
    assert {p.dtype for p in loaded.parameters()} == {torch.float64}
    with torch.no_grad():
        assert torch.equal(loaded(x).x_hat, model(x).x_hat)


def test_the_tools_take_a_float64_model():
    """evaluate, the likelihood, latent grids, interpolation and classifiers on a float64 model (documented) raised
    torch's "mat1 and mat2 must have the same dtype" (a bug hunt): their inputs and dry runs were float32."""
    from aekit.analysis.generate import interpolate, latent_grid
    from aekit.analysis.likelihood import importance_sampled_nll
    from aekit.models.classifier import EncoderClassifier
    from aekit.models.m2 import M2
    from aekit.training.loop import evaluate

    torch.manual_seed(0)
    vae = aekit.create_model("vae", input_shape=(20,), hidden=(8,), code_size=2).double()
    x = torch.bernoulli(torch.rand(12, 20))
    assert set(evaluate(vae, x)) >= {"loss"}
    assert importance_sampled_nll(vae, x, k=4).shape == (12,)
    assert latent_grid(vae, n=3, limits=(-2.0, 2.0))[0].shape == (3, 3, 20)
    assert interpolate(vae, x[0], x[1], steps=3)[0].shape == (3, 20)
    for classifier in (EncoderClassifier.on(vae, 3), M2.on(vae, 3)):
        assert {p.dtype for p in classifier.parameters()} == {torch.float64}
        assert classifier.predict(x).shape == (12,)


def test_sampling_leaves_a_training_model_as_it_was():
    """sample() in train mode fed the prior's draws to a wae's batch norm (its running statistics moved), and
    sample(1) raised "Expected more than 1 value per channel when training" (a bug hunt)."""
    torch.manual_seed(0)
    for name in ("wae", "aae"):
        model = aekit.create_model(name, input_shape=(20,), hidden=(8,), code_size=2, batch_norm=True).train()
        before = {k: v.clone() for k, v in model.state_dict().items()}
        assert model.sample(16).shape == (16, 20) and model.sample(1).shape == (1, 20)
        assert model.training and all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_accuracy_counts_the_labelled_samples():
    """-1 marks an unlabelled sample (ladder, m2): accuracy counted each as misclassified (0.125 for 0.5)."""
    from aekit.models.classifier import EncoderClassifier

    torch.manual_seed(0)
    clf = EncoderClassifier.on(aekit.create_model("dense", input_shape=(20,), hidden=(8,), code_size=2), 3)
    x, y = torch.rand(40, 20), torch.randint(0, 3, (40,))
    some = y.clone()
    some[10:] = -1
    assert clf.accuracy((x, some)) == pytest.approx(float((clf.predict(x[:10]) == y[:10]).float().mean()))
    with pytest.raises(aekit.DataError, match=r"^accuracy needs labelled samples: every label is -1 \(unlabelled\)$"):
        clf.accuracy((x, torch.full((40,), -1)))

@pytest.mark.parametrize("name", MODELS)
def test_an_empty_batch_gives_empty_outputs(name, real_batch, small_model):
    """A plain-PyTorch trial: `model(x[:0])` failed in reshape on every dense model (torch's layers take it)."""
    model = small_model(name).eval()
    with torch.no_grad():
        out = model(real_batch[:0])
        assert out.x_hat.shape == (0, *real_batch.shape[1:])
        assert model.encode(real_batch[:0]).shape[0] == 0


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


def test_keys_a_model_would_ignore_are_refused_in_one_line():
    """From a model-zoo trial: linear_path was taken by tied (ignored) and contractive (whose forward then trained
    another network than encode); batch_norm and dropout on a model without hidden layers did nothing; code_l2 on
    vq-vae penalised codebook entries it cannot move; weight_l2 crashed a 1-d conv (no Conv1d among its weights)."""
    shape = {"input_shape": (784,), "code_size": 50}
    for name, keys, says in (
            ("tied", {"linear_path": True}, r"^model.linear_path: not available for tied"),
            ("contractive", {"linear_path": True}, r"^model.linear_path: not available for contractive"),
            ("sparse-kl", {"linear_path": True}, r"^model.linear_path: not available for sparse-kl"),
            ("sparse-l1", {"batch_norm": True}, r"^model.batch_norm: applies to hidden layers, and hidden is \[\]; "
                                                r"\[true\] puts it on the code layer"),
            ("sparse-l1", {"decoder_dropout": 0.2}, r"^model.decoder_dropout: applies to hidden layers"),
            ("contractive", {"batch_norm": True}, r"^model.batch_norm: not allowed in a contractive encoder")):
        with pytest.raises(aekit.ConfigError, match=says):
            aekit.create_model(name, **shape, **keys)
    assert aekit.create_model("sparse-l1", **shape, batch_norm=[True], dropout=[0.2])  # the code layer's, as a list
    with pytest.raises(aekit.ConfigError, match=r"^model.code_l2: not available for vq-vae"):
        aekit.create_model("vq-vae", input_shape=(1, 28, 28), code_l2=1.0)
    with pytest.raises(aekit.ConfigError, match=r"^n: must be a whole number > 0, got 2.5"):
        aekit.create_model("vq-vae", input_shape=(1, 28, 28)).sample_indices(2.5)
    conv = aekit.create_model("conv", input_shape=(3, 64), channels=(4, 8), weight_l2=0.1)
    assert len(conv.penalised_weights()) == 4  # two convolutions down, two up
    x = torch.rand(4, 3, 64)
    assert conv.loss(x, conv(x))["weight_l2"].requires_grad


@pytest.mark.parametrize("name", MODELS)
def test_torch_export_takes_every_model_and_gives_its_output_back(name, real_batch, small_model, tmp_path):
    """A plain-PyTorch trial: torch.export failed on every model ('Output ... is not a known type')."""
    model = small_model(name).eval()
    x = real_batch[:2]
    program = torch.export.export(model, (x,))
    torch.export.save(program, tmp_path / "m.pt2")
    out, want = torch.export.load(tmp_path / "m.pt2").module()(x), model(x)
    assert type(out) is type(want) and set(out.extras) <= set(want.extras)  # (traced, a contractive keeps no x_flat)
    assert torch.allclose(out.x_hat, want.x_hat, atol=1e-6) and torch.allclose(out.z, want.z, atol=1e-6)
