"""aekit's models in a user's own PyTorch code (a hunt): half precision, torch.export, torch.compile, inference mode,
frozen weights, subclasses; each as PyTorch users expect it, or refused in one line."""

from __future__ import annotations

import copy
import shutil

import pytest
import torch

import aekit
from aekit import CheckpointError, ConfigError
from aekit.apps.cli import main
from aekit.data import load_dataset
from aekit.models.dense import DenseAutoencoder


@pytest.mark.parametrize("name", ["aae", "iwae"])
def test_a_half_precision_model_takes_its_loss(name):
    """The aae fed float32 codes to its bfloat16 discriminator, the iwae decoded float32 draws: torch's 'mat1 and mat2
    must have the same dtype'."""
    model = aekit.create_model(name, input_shape=(12,), hidden=[8], code_size=2).to(torch.bfloat16)
    x = torch.rand(4, 12, dtype=torch.bfloat16)
    losses = model.loss(x, model(x))
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in losses.values())
    losses["loss"].backward()


@pytest.mark.parametrize(("name", "keys"), [
    ("ladder", {"n_classes": 3, "hidden": [8]}), ("m2", {"n_classes": 3, "hidden": [8], "code_size": 2}),
    ("encoder-classifier", {"n_classes": 3, "autoencoder": "dense",
                            "autoencoder_config": {"input_shape": [12], "hidden": [8], "code_size": 2}})])
def test_every_models_output_is_seen_by_torch_export(name, keys):
    """models.md promises torch.export.export(model, (x,)); the classifiers' outputs were no type it knew."""
    keys = keys if "autoencoder" in keys else {"input_shape": (12,), **keys}
    model = aekit.create_model(name, **keys).eval()
    x = torch.rand(4, 12)
    exported = torch.export.export(model, (x,))
    assert torch.allclose(exported.module()(x).logits, model(x).logits, atol=1e-6)


def test_a_deep_contractive_model_under_inference_mode_and_vmap():
    """Its loss under inference_mode was torch's 'does not require grad'; its eval forward failed under vmap."""
    model = aekit.create_model("contractive", input_shape=(12,), hidden=[8], code_size=2).eval()
    x = torch.rand(4, 12)
    with torch.inference_mode(), pytest.raises(ConfigError, match=r"^contractive: .* compute the loss under torch.no_grad"):
        model.loss(x, model(x))
    with torch.no_grad():
        assert model.loss(x, model(x))["contractive"] > 0
    codes = torch.func.vmap(lambda row: model(row[None]).z[0])(x)
    assert torch.allclose(codes, model.encode(x))


def test_a_frozen_optimiser_group_is_refused_in_one_line():
    model = aekit.create_model("aae", input_shape=(12,), hidden=[8], code_size=2)
    model.discriminator.requires_grad_(False)
    with pytest.raises(ConfigError, match=r"optimiser group 'discriminator_loss' is frozen"):
        aekit.fit(model, torch.rand(32, 12), epochs=1, progress=False)


def test_a_compiled_module_and_an_unregistered_subclass_are_named_before_training(tmp_path):
    """torch.compile(model) given to fit trained, then saved keys under _orig_mod. that nothing loaded; a subclass
    without a name of its own was saved, loaded and resumed as its parent (its own loss lost)."""
    model = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    compiled = torch.compile(model)  # (wrapped only: nothing is compiled until it runs)
    with pytest.raises(ConfigError, match=r"^model: a torch.compile'd model; give fit the model itself"):
        aekit.fit(compiled, torch.rand(32, 12), epochs=1, progress=False)
    assert aekit.load_model(aekit.save_model(compiled, tmp_path / "m.safetensors")).state_dict().keys() == \
        model.state_dict().keys()

    class MyDense(DenseAutoencoder):
        def loss(self, x, output, *, y=None):
            return {"loss": (output.x_hat - x.flatten(1)).abs().sum(1).mean()}

    mine = MyDense(model.config)
    with pytest.raises(CheckpointError, match=r"^MyDense subclasses DenseAutoencoder \('dense'\) without a name of its own"):
        aekit.fit(mine, torch.rand(32, 12), epochs=1, progress=False, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(CheckpointError, match="register it under one"):
        aekit.save_model(mine, tmp_path / "mine.safetensors")
    aekit.fit(mine, torch.rand(32, 12), epochs=1, progress=False)  # without a folder: nothing saved, nothing refused


def test_a_run_trained_with_frozen_weights_resumes(tmp_path, capsys):
    """Its checkpoint's optimiser held fewer weights than the model aekit resume builds: torch's 'doesn't match the
    size of optimizer's group', "unexpected"; in Python the same, now a line naming what the run froze."""
    import numpy as np

    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((64, 12)).astype(np.float32))
    model = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    model.encoder.requires_grad_(False)
    frozen = copy.deepcopy(model.encoder.state_dict())
    data = load_dataset(str(tmp_path / "x.npy"))
    aekit.fit(model, data, epochs=1, progress=False, run_dir=tmp_path / "run")
    again = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    with pytest.raises(CheckpointError, match=r"the run trained 4 weight tensors \(loss\) and this model has 8 .* \(it "
                                              r"froze encoder\.0\.weight, encoder\.0\.bias"):
        aekit.fit(again, data, epochs=2, progress=False, run_dir=tmp_path / "run", resume=True)
    capsys.readouterr()
    assert main(["resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"]) == 0  # frozen again, as it trained
    resumed = aekit.load_model(tmp_path / "run")
    assert all(torch.equal(resumed.encoder.state_dict()[k], v) for k, v in frozen.items())


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None, reason="inductor needs a C++ compiler")
def test_the_vq_codebooks_update_compiles_to_what_it_computes(tmp_path, monkeypatch):
    """torch.compile's CPU code computed buf.add_(A.T @ B, alpha=a) wrongly: a vq-vae trained with compile=True learnt
    a worse codebook, unsaid (its moving sums off by 2.7 after one step)."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # compiled afresh, not from a cache
    torch.manual_seed(0)
    model = aekit.create_model("vq-vae", input_shape=(1, 8, 8), hidden=[16], positions=2, embedding_dim=2,
                               codebook_size=8, restart_below=0.0)
    model.init_from_data(torch.rand(16, 1, 8, 8))
    eager = copy.deepcopy(model)
    z, indices = torch.randn(16, 2, 2), torch.randint(8, (16, 2))
    torch.compile(model._update_codebook)(z, indices)
    eager._update_codebook(z, indices)
    assert torch.allclose(model.ema_sum, eager.ema_sum, atol=1e-5) and torch.allclose(model.codebook, eager.codebook,
                                                                                       atol=1e-5)
