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
    with pytest.raises(CheckpointError, match=r"its optimiser \(loss\) stepped weights this model does not train "
                                              r"\(requires_grad\), or the reverse: only this model trains encoder\.0\.bias, "
                                              r"encoder\.0\.weight"):
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


def test_weights_a_callback_froze_after_the_optimiser_was_made_resume_as_they_were(tmp_path, capsys):
    """A review: a run whose callback froze the encoder after epoch 1 (its optimiser holding all 8 weights) was
    refused by aekit resume; the same number of other weights frozen in a Python resume segfaulted in a fused step."""
    import numpy as np

    from aekit.training.callbacks import Callback

    class Freeze(Callback):
        def on_epoch_end(self, trainer, logs):
            trainer.model.encoder.requires_grad_(False)

    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((64, 12)).astype(np.float32))
    data = load_dataset(str(tmp_path / "x.npy"))
    model = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    aekit.fit(model, data, epochs=2, progress=False, run_dir=tmp_path / "run", callbacks=[Freeze()])
    frozen = copy.deepcopy(model.encoder.state_dict())
    capsys.readouterr()
    assert main(["resume", str(tmp_path / "run"), "--epochs", "3", "--quiet"]) == 0, capsys.readouterr().err
    resumed = aekit.load_model(tmp_path / "run")
    assert all(torch.equal(resumed.encoder.state_dict()[k], v) for k, v in frozen.items())  # frozen as it trained
    other = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    other.decoder.requires_grad_(False)  # other weights frozen than the run's
    with pytest.raises(CheckpointError, match=r"or the reverse: only the run trained decoder\.0\.bias, .*; make the same "
                                              r"ones trainable to resume it"):
        aekit.fit(other, data, epochs=4, progress=False, run_dir=tmp_path / "run", resume=True)


def test_an_unregistered_subclass_inside_a_classifier_and_a_class_defined_again(tmp_path, monkeypatch):
    """A review: an unregistered subclass inside an encoder-classifier was saved and loaded as its parent; a notebook
    hunt: a model made before its class's cell ran again (a layer more) trained and saved a folder nothing loaded."""
    import types

    from aekit import registry
    from aekit.models.classifier import EncoderClassifier

    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))  # the cells' models left out of later tests

    class Scaled(DenseAutoencoder):
        def encode(self, x):
            return 2 * super().encode(x)

    inner = Scaled(aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2).config)
    with pytest.raises(CheckpointError, match=r"^Scaled subclasses DenseAutoencoder \('dense'\)"):
        aekit.save_model(EncoderClassifier.on(inner, 3), tmp_path / "c.safetensors")

    cell = types.ModuleType("notebook_cell")  # a notebook's __main__: the class cell run twice
    source = '''
import aekit
from torch import nn
from aekit.models.dense import DenseAutoencoder

@aekit.register_model("cell-model-{tag}")
class CellModel(DenseAutoencoder):
    def __init__(self, config):
        super().__init__(config)
        self.extra = nn.Linear(2, 2) if {more} else None
'''
    for tag in ("a", "b"):
        exec(source.format(tag=tag, more=False), cell.__dict__)
        first = cell.CellModel(cell.CellModel.Config(input_shape=(12,), hidden=(8,), code_size=2))
        exec(source.format(tag=tag, more=tag == "b"), cell.__dict__)  # run again: "b" with a layer more
        if tag == "a":
            with pytest.warns(UserWarning, match="was made before its class CellModel was defined again"):
                aekit.save_model(first, tmp_path / "a.safetensors")
        else:
            with pytest.raises(CheckpointError, match=r"its weights do not fit the class as it is now: make the model"):
                aekit.save_model(first, tmp_path / "b.safetensors")


def test_a_model_file_imported_under_two_module_names_saves(tmp_path):
    """A review: register_model takes one file imported twice (aekit's import of a run's file, then the user's own),
    and the new check refused its models as 'HModel subclasses HModel'."""
    import importlib.util
    import sys

    from aekit import registry

    path = tmp_path / "twice_model.py"
    path.write_text("import aekit\nfrom aekit.models.dense import DenseAutoencoder\n\n\n"
                    "@aekit.register_model('twice-model')\nclass HModel(DenseAutoencoder):\n    pass\n")
    registry.import_models([str(path)])
    first = aekit.create_model("twice-model", input_shape=(12,), hidden=[8], code_size=2)
    spec = importlib.util.spec_from_file_location("another_name", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["another_name"] = module
    try:
        spec.loader.exec_module(module)  # the same class, registered again from another module name
        assert aekit.load_model(aekit.save_model(first, tmp_path / "m.safetensors")).name == "twice-model"
    finally:
        sys.modules.pop("another_name", None)
        registry._MODELS.pop("twice-model", None)


def test_a_stop_line_in_a_notebook_goes_to_its_own_stream(monkeypatch):
    """A notebook hunt: written to file 2, ipykernel showed it under an earlier, finished cell too."""
    import signal
    import sys

    from aekit.training.stops import StopSignals

    written = []
    stream = type("OutStream", (), {"__module__": "ipykernel.iostream", "write": lambda self, s: written.append(s)})()
    monkeypatch.setattr(sys, "stderr", stream)
    stops = StopSignals(say=True)
    stops.on = True
    stops._put_off(signal.SIGINT, None)
    assert written == ["aekit: stopping as this epoch ends, once its validation and checkpoint are done (again to "
                       "stop at once)\n"]


def test_an_interrupt_in_the_first_fits_import_of_torch_dynamo_leaves_torch_whole(tmp_path):
    """A notebook hunt: an interrupt in the first fit landed in torch's first optimiser's import of torch._dynamo
    (seconds, with sympy), and every later fit failed on half-imported modules until the kernel restarted."""
    import os
    import subprocess
    import sys

    script = """
import importlib, os, signal, sys
import aekit, torch
real = importlib.import_module
def interrupted(name, *args, **kwargs):
    if name == "torch._dynamo":
        os.kill(os.getpid(), signal.SIGINT)  # as the import starts
    return real(name, *args, **kwargs)
importlib.import_module = interrupted
model = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
try:
    aekit.fit(model, torch.rand(32, 12), epochs=1, progress=False)
except KeyboardInterrupt:
    print("interrupted", "torch._dynamo" in sys.modules)
importlib.import_module = real
aekit.fit(model, torch.rand(32, 12), epochs=1, progress=False)
print("trained again")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout == "interrupted True\ntrained again\n", proc.stderr[-2000:]


def test_a_checkpoint_that_names_no_trained_weights_is_checked_by_the_moments_shapes(tmp_path, monkeypatch):
    """A review: a checkpoint of before the names were recorded, resumed with other weights frozen than its run's
    (as many), segfaulted in a fused Adam step; its moments' shapes say they do not fit."""
    from aekit.training import checkpoint as ckpt

    model = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    model.encoder.requires_grad_(False)
    aekit.fit(model, torch.rand(32, 12), epochs=1, progress=False, run_dir=tmp_path / "run")
    read = ckpt.read

    def before(path, *args, **kwargs):  # as a checkpoint written before "trained" was
        tensors, meta = read(path, *args, **kwargs)
        return tensors, {k: v for k, v in meta.items() if k not in ("trained", "frozen")}

    monkeypatch.setattr(ckpt, "read", before)
    other = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    other.decoder.requires_grad_(False)  # as many weights as the run trained, of other shapes
    with pytest.raises(CheckpointError, match=r"checkpoint.safetensors: the optimiser's saved state \(loss\) does not fit"):
        aekit.fit(other, torch.rand(32, 12), epochs=2, progress=False, run_dir=tmp_path / "run", resume=True)
