"""A model of one's own, registered in a .py file outside the package: trained, evaluated, resumed and
exported from the command line through the config's `imports`, and named when it is not imported."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch
import yaml

import aekit
from aekit import registry
from aekit.apps.cli import main
from aekit.models.base import Autoencoder, AutoencoderConfig

MODEL_FILE = '''
from dataclasses import dataclass
from torch import nn
import aekit
from aekit.config import positive
from aekit.models.base import Autoencoder, AutoencoderConfig


@aekit.register_model("{name}")
class Mine(Autoencoder):
    """One hidden layer each way."""

    @dataclass(frozen=True, kw_only=True)
    class Config(AutoencoderConfig):
        code_size: int = 4
        width: int = 16

    def __init__(self, config):
        super().__init__(config)
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(config.input_dim, config.width), nn.ReLU(),
                                 nn.Linear(config.width, config.code_size))
        self.dec = nn.Sequential(nn.Linear(config.code_size, config.width), nn.ReLU(),
                                 nn.Linear(config.width, config.input_dim))

    def encode(self, x):
        return self.enc(x)

    def decode_logits(self, z):
        return self.dec(z).view(-1, *self.config.input_shape)
'''


@pytest.fixture
def own_model(tmp_path, monkeypatch):
    """mine_<n>.py in tmp_path registering model "mine-<n>"; the registry and sys.modules restored after."""
    registry.list_models()  # aekit's own registered first: the copy restored afterwards must hold them
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    stem = f"mine_{tmp_path.name[-8:].replace('-', '_')}"
    path = tmp_path / f"{stem}.py"
    path.write_text(MODEL_FILE.replace("{name}", stem.replace("_", "-")))
    yield path, stem.replace("_", "-")
    sys.modules.pop(stem, None)


def test_a_model_of_ones_own_works_from_the_command_line_through_imports(own_model, tmp_path, capsys):
    path, name = own_model
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"imports": [str(path)], "model": {"name": name, "width": 8},
                                      "data": {"name": "digits", "limit": 200}, "train": {"epochs": 1},
                                      "output": {"dir": str(tmp_path), "name": "run"}}))
    assert main(["train", str(config), "--quiet"]) == 0
    run = tmp_path / "run"
    assert yaml.safe_load((run / "config.yaml").read_text())["imports"] == [str(path.resolve())]
    registry._MODELS.pop(name)  # a new process: the run's config.yaml imports it again, and says so
    sys.modules.pop(path.stem)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--quiet"]) == 0
    assert f"aekit: note: importing {path.resolve()}, which {run}'s imports name" in capsys.readouterr().err
    registry._MODELS.pop(name)
    sys.modules.pop(path.stem)
    assert main(["export", str(run), "--format", "torchscript"]) == 0 and (run / "encoder.pt").is_file()
    assert main(["resume", str(run), "--epochs", "2", "--quiet"]) == 0
    registry._MODELS.pop(name)  # in Python, load_model names the file to import (it never runs code itself)
    sys.modules.pop(path.stem)
    with pytest.raises(aekit.CheckpointError, match=rf"holds model '{name}', which .*{path.name} registers: import"):
        aekit.load_model(run)
    registry.import_models([str(path)])
    assert aekit.load_model(run).name == name
    registry.import_models([str(path)])  # imported already: not run again (it would register the model twice)
    shipped = run / "evil.py"  # code that came with a folder is never run by reading the folder
    shipped.write_text("raise SystemExit('ran')")
    for item in (str(shipped), "evil.py"):
        (run / "config.yaml").write_text((run / "config.yaml").read_text().replace(str(path.resolve()), item))
        assert main(["evaluate", str(run), "--quiet"]) == 2
        assert "a folder's settings import only files outside it, named by full path" in capsys.readouterr().err
        (run / "config.yaml").write_text((run / "config.yaml").read_text().replace(item, str(path.resolve())))


def test_an_experiment_with_a_model_of_ones_own_exports_from_the_command_line(own_model, tmp_path, capsys):
    path, name = own_model
    assert main(["experiment", "run", "retrieval-mnist", "--tiny", f"imports=[{path}]", f"model.name={name}",
                 "train.epochs=1", "--out", str(tmp_path / "exps")]) == 0
    folder = next((tmp_path / "exps").iterdir())
    registry._MODELS.pop(name)
    sys.modules.pop(path.stem)
    assert main(["export", str(folder / "model-ae.safetensors"), "--format", "torchscript"]) == 0
    assert (folder / "model-ae-encoder.pt").is_file()


def test_a_file_named_as_an_installed_module_is_imported_beside_it(tmp_path, monkeypatch):
    registry.list_models()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    (tmp_path / "inspect.py").write_text(MODEL_FILE.replace("{name}", "clash-ae"))
    import inspect

    registry.import_models([str(tmp_path / "inspect.py")])
    assert sys.modules["inspect"] is inspect and "clash-ae" in registry._MODELS  # inspect itself left alone
    registry.import_models([str(tmp_path / "inspect.py")])  # and not run a second time
    (tmp_path / "tabnanny.py").write_text(MODEL_FILE.replace("{name}", "clash2-ae"))  # installed, not imported yet
    registry.import_models([str(tmp_path / "tabnanny.py")])
    assert "clash2-ae" in registry._MODELS and "tabnanny" not in sys.modules  # the stdlib's keeps its name


def test_imports_and_a_model_of_ones_own_refuse_bad_settings_in_one_line(own_model, tmp_path, capsys):
    path, name = own_model
    for imports, message in ((["nowhere.py"], f"imports: {Path.cwd() / 'nowhere.py'} does not exist\n"),  # (where it looked)
                             (["no_such_module_x"], "imports: importing no_such_module_x failed: ModuleNotFoundError")):
        assert main(["train", f"imports={imports}", "train.epochs=1", "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert main(["train", "model.name=" + name, "--quiet"]) == 2  # not imported: the message says how
    err = capsys.readouterr().err
    assert f"unknown model '{name}'" in err and "a config names it under imports, and aekit models and export take " \
        "--imports FILE.py" in err
    assert main(["models", name, "--imports", str(path)]) == 0  # an extension trial: models took no imports
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: One hidden layer each way.") and "  width: 16" in out
    assert main(["models", "--imports", str(path)]) == 0  # the listing too (a review: it left them out silently)
    assert f"\nyour own ({path})\n{name}  One hidden layer each way.\n" in capsys.readouterr().out
    from aekit.apps.experiments import settings

    cfg = settings("retrieval-mnist", [f"imports=[{path}]", f"model.name={name}"])  # an experiment takes it too
    assert cfg.model == {"name": name, "code_size": 30} and cfg.imports == (str(path.resolve()),)
    common = [f"imports=[{path}]", "model.name=" + name, "data.name=digits", "train.epochs=1", "--quiet",
              f"output.dir={tmp_path}"]
    assert main(["train", *common, "model.code_size=0"]) == 2
    assert "model.code_size: must be > 0, got 0" in capsys.readouterr().err
    assert main(["train", *common, "model.width=-3"]) == 2  # its constructor's error, not a traceback
    err = capsys.readouterr().err
    assert f"model: building {name} failed, its constructor raised RuntimeError" in err and "Traceback" not in err


def test_a_model_file_beside_a_config_of_ones_own_exports(own_model, tmp_path, capsys, monkeypatch):
    """A project folder: config.yaml naming imports by a relative path, and a saved model: not a run folder."""
    path, name = own_model
    registry.import_models([str(path)])
    model = aekit.create_model(name, input_shape=(1, 8, 8))
    aekit.save_model(model, tmp_path / "mine.safetensors")
    (tmp_path / "config.yaml").write_text(f"imports: [{path.name}]\nmodel: {{name: {name}}}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["export", "mine.safetensors", "--format", "torchscript"]) == 0


def test_a_model_a_script_defined_is_named_so_by_load_model(own_model, tmp_path):
    path, name = own_model
    registry.import_models([str(path)])
    model = aekit.create_model(name, input_shape=(6,), code_size=2)
    type(model).__module__ = "__main__"  # as a class defined in the script that trains it
    aekit.save_model(model, tmp_path / "m.safetensors")
    registry._MODELS.pop(name)
    with pytest.raises(aekit.CheckpointError, match=rf"holds model '{name}', which the script or notebook that saved it "
                                                     r"defined \(__main__\): in a notebook run the cell that defines it "
                                                     r"again; else move its class into a .py file and import"):
        aekit.load_model(tmp_path / "m.safetensors")


def test_export_of_a_model_file_of_ones_own_takes_imports(own_model, tmp_path, capsys):
    path, name = own_model
    registry.import_models([str(path)])
    aekit.save_model(aekit.create_model(name, input_shape=(6,), code_size=2), tmp_path / "m.safetensors")
    registry._MODELS.pop(name)
    sys.modules.pop(path.stem)
    assert main(["export", str(tmp_path / "m.safetensors"), "--format", "torchscript"]) == 2
    assert "aekit export takes --imports FILE.py" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "m.safetensors"), "--format", "torchscript", "--imports", str(path)]) == 0
    assert (tmp_path / "encoder.pt").is_file()


def test_a_folder_fit_trained_a_model_of_ones_own_into_names_its_file_for_the_commands(own_model, tmp_path, capsys):
    """Its config.yaml named no imports: aekit evaluate/export/resume said 'unknown model' in a new process."""
    path, name = own_model
    registry.import_models([str(path)])
    run = tmp_path / "run"
    aekit.fit(aekit.create_model(name, input_shape=(6,), code_size=2), torch.rand(40, 6), epochs=1, run_dir=run,
              progress=False)
    assert yaml.safe_load((run / "config.yaml").read_text())["imports"] == [str(path.resolve())]
    registry._MODELS.pop(name)  # as in a new process
    sys.modules.pop(path.stem)
    assert main(["export", str(run), "--format", "torchscript"]) == 0
    assert (run / "encoder.pt").is_file()


class _Small(Autoencoder):
    name = "small"

    def __init__(self, config):
        super().__init__(config)
        self.enc = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(config.input_dim, 2))
        self.dec = torch.nn.Linear(2, config.input_dim)

    def encode(self, x):
        return self.enc(x)

    def decode_logits(self, z):
        return self.dec(z).view(-1, *self.config.input_shape)


def _broken(**methods):
    config = AutoencoderConfig(input_shape=(1, 4, 4), recon_loss="mse", output_activation="linear")
    return type("Broken", (_Small,), methods)(config)


@pytest.mark.parametrize("methods, says", [
    ({"decode_logits": lambda self, z: self.dec(z)}, r"small: its x_hat must be shaped like its input, \(2, 1, 4, 4\), "
     r"got \(2, 16\); decode_logits returns each sample's reconstruction in the input's shape"),
    ({"encode": Autoencoder.encode}, r"small does not implement encode; a model implements encode and"),
    ({"encode": lambda self, x: self.enc(x)[:, 0]}, r"encode must return one code a sample, shaped \(batch, ...\), got \(2,\)"),
    ({"forward": lambda self, x: (x, x)}, r"forward must return an aekit.models.base.Output, got tuple"),
    ({"loss": lambda self, x, out, y=None: {"recon": out.x_hat.mean()}}, r"must return a dict with a 'loss' entry .*got "
     r"keys \['recon'\]"),
    ({"loss": lambda self, x, out, y=None: {"loss": self.reconstruction_error(x, out.logits)}}, r"loss's 'loss' entry "
     r"must be a tensor of one value \(a mean over the batch\), got 2 values"),
    ({"loss": lambda self, x, out, y=None: {"loss": out.x_hat.mean(), "pen": 0.5}}, r"'pen' entry .* got a float"),
    # an extension trial: the README's loss(x, output) failed in training on y= (TypeError), a NaN loss was put on
    # the data ("scale them"), and a model without parameters met torch's "optimizer got an empty parameter list"
    ({"loss": lambda self, x, out: {"loss": out.x_hat.mean()}}, r"loss must take \(x, output, \*, y=None\), y the labels "
     r"or None; got loss\(x, out\)$"),
    ({"loss": lambda self, x, out, y=None: {"loss": out.x_hat.mean() * float("nan")}}, r"its loss is nan on two training "
     r"samples before any step \(their values are finite, the largest 0.\d+ in size\): look at its forward and loss"),
    ({"__init__": lambda self, config: Autoencoder.__init__(self, config)}, r"small has no parameters to train \(make its "
     r"layers in __init__\)$"),
    # a contributor trial: an error inside encode was "RuntimeError: selected index k out of range (unexpected)"
    ({"encode": lambda self, x: self.enc(x).topk(5, dim=1).values}, r"its encode raised RuntimeError on two training "
     r"samples of shape \(2, 1, 4, 4\): selected index k out of range"),
])
def test_a_model_of_ones_own_that_breaks_the_contract_is_named_before_training(methods, says):
    """An extension trial: a decode_logits of flat logits trained to the end and failed at the evaluation
    (a shape error), a method left out said "NotImplementedError:" alone, and the rest were torch's or Python's
    errors without the method's name."""
    model = _broken(**methods)
    with pytest.raises(aekit.ConfigError, match=r"^model: " + (says if says.startswith("small") else "small: .*" + says)):
        aekit.fit(model, torch.rand(20, 1, 4, 4), epochs=1, progress=False)
    assert model.training  # given back in its mode
    model = _broken()
    assert aekit.fit(model, torch.rand(20, 1, 4, 4), epochs=1, progress=False)["epoch"] == [1]  # as the contract says


def test_a_name_registered_twice_names_both_classes(own_model, tmp_path, capsys):
    """An extension trial: registering 'dense' again said "(give a .py file's path, or a module on the Python path)",
    and so did a syntax error in the file, where neither is about the path."""
    (tmp_path / "again.py").write_text(MODEL_FILE.replace("{name}", "dense"))
    assert main(["train", f"imports=[{tmp_path / 'again.py'}]", "--quiet"]) == 2
    assert capsys.readouterr().err.endswith("aekit: error: model 'dense' is registered twice: "
                                            "aekit.models.dense.DenseAutoencoder and again.Mine both register it; give "
                                            "yours another name\n")
    (tmp_path / "broken.py").write_text("x = (\n")
    assert main(["train", f"imports=[{tmp_path / 'broken.py'}]", "--quiet"]) == 2
    assert "SyntaxError" in (err := capsys.readouterr().err) and "module on the Python path" not in err


def test_registering_checks_the_class_and_a_class_defined_again_replaces_its_first(monkeypatch):
    """An extension trial: a bare nn.Module was registered and failed in training ('no attribute check_data'); a
    notebook's cell defining a model, run again, was refused as "__main__.L1AE and __main__.L1AE both register it"."""
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    with pytest.raises(aekit.ConfigError, match=r"^register_model\('bare'\): Bare must subclass "
                                                r"aekit.models.base.Autoencoder \(a model of kind 'autoencoder'\)"):
        aekit.register_model("bare")(type("Bare", (torch.nn.Module,), {"Config": AutoencoderConfig}))
    with pytest.raises(aekit.ConfigError, match=r"^register_model\('plain'\): Plain must subclass aekit.models.classifier."
                                                r"ClassifierMixin \(a model of kind 'classifier'\)"):
        aekit.register_model("plain", kind="classifier")(type("Plain", (torch.nn.Module,), {"Config": AutoencoderConfig}))
    cell = "@aekit.register_model('cell-model')\nclass Cell(_Small):\n    Config = AutoencoderConfig\n"
    for _ in range(2):  # the cell run twice: the second class is the model
        exec(compile(cell, "<cell>", "exec"), space := {"aekit": aekit, "_Small": _Small, "AutoencoderConfig":
                                                         AutoencoderConfig, "__name__": "__main__"})
    assert registry.model_entry("cell-model").cls is space["Cell"]


@pytest.fixture
def datasets_kept():
    """The data set registry as it was, after a test that registers some (datasets.py holds the dict itself)."""
    from aekit.data import core

    saved = dict(core._DATASETS)
    yield core
    core._DATASETS.clear()
    core._DATASETS.update(saved)


def test_a_data_set_of_ones_own_is_checked_when_registered_and_loaded(tmp_path, monkeypatch, capsys, datasets_kept):
    """An extension trial: a file registering 'mnist' replaced it silently (the run trained on its 100 rows), a
    loader returning an array said "'numpy.ndarray' object has no attribute 'source' (unexpected)", and a loader
    taking (split) alone a TypeError; a file under imports could not import a helper module beside it."""
    from aekit.data import load_dataset

    core = datasets_kept
    with pytest.raises(aekit.ConfigError, match=r"^data set 'mnist' is registered twice: aekit.data.datasets._load_idx_family\(\{'name': 'mnist'\}\) "
                                                r"and .*<lambda> both register it; give yours another name$"):
        core.register_dataset("mnist")(lambda split, folder: None)
    with pytest.raises(aekit.ConfigError, match=r"^register_dataset\('one'\): decorates a loader taking \(split, "
                                                r"folder\) and returning a Dataset, got '.*<lambda>'$"):
        core.register_dataset("one")(lambda split: None)
    class Loader:  # a callable object, registered again as a notebook's cell run again would (a review)
        def __call__(self, split, folder):
            return torch.rand(8, 4).numpy()

    core.register_dataset("flat")(Loader())
    core.register_dataset("flat")(Loader())
    with pytest.raises(aekit.DataError, match=r"^data set 'flat': its loader returned a ndarray; a loader returns an "
                                              r"aekit.data.Dataset\(x, y\)"):
        load_dataset("flat")
    (tmp_path / "shapes.py").write_text("ROWS = 24\n")  # helpers beside the file, imported as beside a script
    (tmp_path / "steps.py").write_text("STEPS = 16\n")  # (and in a function, later: a review found it missing then)
    (tmp_path / "sines.py").write_text(
        "import torch\nfrom shapes import ROWS\nfrom aekit.data import Dataset\nfrom aekit.data.core import "
        "register_dataset\n\n@register_dataset('sines')\ndef sines(split, folder):\n    from steps import STEPS\n"
        "    t = torch.linspace(0, 6, STEPS)\n"
        "    return Dataset((torch.sin(t + torch.rand(ROWS, 1) * 6) + 1) / 2, name='sines')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert main(["train", "imports=[sines.py]", "data.name=sines", "train.epochs=1", "--quiet"]) == 0, capsys.readouterr().err
    assert main(["datasets", "--imports", "sines.py"]) == 0  # listed, as `aekit models --imports` lists models
    listed = capsys.readouterr().out
    assert "\nyour own (sines.py)\n" in listed and "\nsines  (no summary)\n" in listed and "\nmnist " not in listed[
        listed.index("your own"):]  # ('flat' above is one too, in this process)
    for module in ("sines", "shapes", "steps"):
        sys.modules.pop(module, None)


def test_the_contract_check_lets_a_loss_take_gradients_and_names_float64_first():
    """A review: the check ran the loss without gradients, refusing a loss that takes torch.autograd.grad (a
    contractive penalty written plainly), and it came before the float64 refusal, which it hid behind torch's error."""

    def loss(self, x, out, y=None):
        xr = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self.encode(xr).sum(), xr, create_graph=True)
        return {"loss": self.reconstruction_loss(x, out) + 1e-3 * g.pow(2).sum() / len(x)}

    assert aekit.fit(_broken(loss=loss), torch.rand(20, 1, 4, 4), epochs=1, progress=False)["epoch"] == [1]
    with pytest.raises(aekit.ConfigError, match=r"parameters are float64"):
        aekit.fit(_broken().double(), torch.rand(20, 1, 4, 4), epochs=1, progress=False)


def test_a_model_with_every_parameter_frozen_is_named_so():
    """A plain-PyTorch trial: a frozen model was said to have 'no parameters to train (make its layers in
    __init__)'."""
    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2).requires_grad_(False)
    with pytest.raises(aekit.ConfigError, match=r"every parameter of dense is frozen.*requires_grad_\(True\)"):
        aekit.fit(model, torch.rand(8, 6), epochs=1, progress=False)


def test_a_config_subclass_without_dataclass_is_refused_at_registration():
    """A contributor trial: a Config subclass without @dataclass was registered, and its key then read as unknown
    ('model: unknown key 'k''), with no word of why."""
    from aekit.models.dense import DenseAutoencoder, DenseConfig

    class Loose(DenseConfig):
        k: int = 25

    class Model(DenseAutoencoder):
        Config = Loose

    with pytest.raises(aekit.ConfigError, match=r"Model.Config declares k, which is no key of it: decorate it with "
                                                r"@dataclass\(frozen=True, kw_only=True\)"):
        aekit.register_model("loose-config")(Model)
    assert "loose-config" not in aekit.list_models()


def test_a_data_set_of_ones_own_through_fit_and_the_commands(tmp_path, monkeypatch, capsys, request):
    """An own-data-set hunt: a run aekit.fit trained on a registered set of one's own was not found by evaluate or
    resume in a new process ("not there (moved?)"); float or 2-d labels failed late or were written to scores.csv as
    fractions; a loader's own error named nothing; --data with a set the run does not import read "does not exist"."""
    import subprocess

    import numpy as np

    from aekit.data import Dataset, core, load_dataset
    from aekit.errors import DataError

    request.addfinalizer(lambda: [core._DATASETS.pop(n, None) for n in ("blobs-own", "broken-own")])  # (the catalog's
    request.addfinalizer(lambda: sys.modules.pop("blobs_own", None))  # test compares the registry with it)
    (tmp_path / "blobs_own.py").write_text(
        "import numpy as np\nfrom aekit.data import Dataset\nfrom aekit.data.core import register_dataset\n\n"
        "@register_dataset('blobs-own')\ndef blobs(split, folder):\n    '''Grey blobs of three kinds.'''\n"
        "    g = np.random.default_rng(0 if split == 'train' else 1)\n"
        "    return Dataset(g.random((60, 1, 8, 8)).astype(np.float32), np.arange(60) % 3, name='blobs-own')\n\n"
        "@register_dataset('broken-own')\ndef broken(split, folder):\n    return {}['x']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import blobs_own  # noqa: F401  (registers them, as the docs say: import its file)

    aekit.fit(aekit.create_model("dense", input_shape=(1, 8, 8), hidden=[8], code_size=2), load_dataset("blobs-own"),
              epochs=1, run_dir=tmp_path / "run", progress=False)
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["imports"] == [str(tmp_path / "blobs_own.py")]
    done = subprocess.run([sys.executable, "-m", "aekit", "evaluate", str(tmp_path / "run"), "--quiet"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path.parent)
    assert done.returncode == 0 and "squared error per sample" in done.stdout, done.stderr
    with pytest.raises(DataError, match=r"data set 'broken-own': its loader blobs_own.broken raised KeyError: 'x' "):
        load_dataset("broken-own")
    assert main(["evaluate", str(tmp_path / "run"), "--data", "other-own", "--quiet"]) == 2
    assert "--data other-own: neither a data set aekit knows (`aekit datasets` lists them; one of your own: " \
        "--imports FILE.py) nor a file here" in capsys.readouterr().err
    x = np.zeros((4, 3), np.float32)
    assert Dataset(x, np.array([0.0, 1.0, 2.0, 1.0])).y.dtype == torch.int64  # whole numbers: class indices
    with pytest.raises(DataError, match="labels are class indices, whole numbers; got 0.5"):
        Dataset(x, np.array([0.0, 0.5, 1.0, 1.0]))
    with pytest.raises(DataError, match=r"labels are one class index a sample, of shape \(4,\), got shape \(4, 2\) "
                                        r"\(one-hot: y.argmax\(1\)\)"):
        Dataset(x, np.eye(2)[[0, 1, 0, 1]])
    with pytest.raises(DataError, match=r"got shape \(4, 1\) \(a column: y.ravel\(\)\)"):
        Dataset(x, np.zeros((4, 1)))
    assert Dataset(x, np.array([True, False, True, False])).y.tolist() == [1, 0, 1, 0]  # (a review: bool crashed)
    with pytest.raises(DataError, match="whole numbers; got 1e"):
        Dataset(x, np.array([0.0, 1e30, 1.0, 1.0]))


def test_a_cache_that_cannot_record_a_file_as_yours_names_the_way_through(own_model, tmp_path, capsys, monkeypatch):
    """A locked-down trial: with aekit's cache read-only (a file in the way here), a run of one's own model could not
    be resumed: the refusal advised `aekit models --imports`, which could not record it either, and resume and report
    took no --imports."""
    path, name = own_model
    assert main(["train", f"imports=[{path}]", f"model.name={name}", "data.name=digits", "data.limit=200",
                 "train.epochs=1", f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    run = tmp_path / "run"
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # its trust marks unreadable and unwritable
    for command in (["evaluate", str(run), "--quiet"], ["resume", str(run), "--epochs", "2", "--quiet"],
                    ["report", str(run), "--quiet"], ["export", str(run)]):
        registry._MODELS.pop(name, None)  # a new process
        sys.modules.pop(path.stem, None)
        assert main(command) == (0 if command[0] == "report" else 2), command  # a report: its map left out, said
        err = capsys.readouterr().err
        assert "aekit's cache cannot record it as yours" in err and f"give this command --imports {path}" in err, err
        assert "XDG_CACHE_HOME" in err and err.count("\n") == 1, err
        registry._MODELS.pop(name, None)
        sys.modules.pop(path.stem, None)
        registry._UNRECORDED.clear()  # a new process
        assert main([*command, "--imports", str(path)]) == 0, command  # the way it names
        assert capsys.readouterr().err.count("could not be recorded as yours") == 1  # why it is needed: once (a review)
    assert json.loads((run / "history.json").read_text())["epoch"][-1] == 2
    registry._MODELS.pop(name, None)
    sys.modules.pop(path.stem, None)
    registry._UNRECORDED.clear()
    with pytest.warns(UserWarning, match=rf"could not be recorded as yours in aekit's cache .*takes --imports {path}"):
        registry.import_models([str(path)])


def test_no_home_for_a_cache_is_one_line_and_trust_marks_are_the_users_alone(own_model, tmp_path, monkeypatch):
    """A locked-down trial: without HOME and a home in the user database, platformdirs' RuntimeError reached the user
    as "unexpected"; under umask 000 the trust marks' folder was anyone's to write markers into."""
    import pooch

    from aekit.catalog import cache_dir
    from aekit.training.feature_classifier import classifier_files

    path, _ = own_model
    with monkeypatch.context() as m:
        m.setattr(pooch, "os_cache", lambda name: (_ for _ in ()).throw(RuntimeError("could not determine the home")))
        for call in (cache_dir, lambda: classifier_files("mnist")):
            with pytest.raises(aekit.ConfigError, match=r"^aekit's cache folder: this user has no home folder .*HOME"):
                call()
        with pytest.warns(UserWarning, match="this user has no home folder"):
            registry.trust([path])
        assert not registry.known(path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    old = os.umask(0)
    try:
        registry.trust([path])
    finally:
        os.umask(old)
    marks = tmp_path / "cache" / "aekit" / "trusted-imports"
    assert marks.stat().st_mode & 0o777 == 0o700 and registry.trusted(path)
    marks.chmod(0o775)  # umask 002's: written by the user's own private group alone (a review: refused)
    assert registry.trusted(path) == registry._own_group(marks.stat().st_gid)
    marks.chmod(0o777)  # a folder another user could write into: its marks are no one's
    assert not registry.trusted(path)
    registry.trust([path])  # recorded again: the folder made the user's alone
    assert marks.stat().st_mode & 0o777 == 0o700 and registry.trusted(path)


def test_a_models_own_seed_key_is_not_taken_by_create_models_seed(monkeypatch):
    """A review: create_model's seed= (the initial weights' generator) took the value meant for a model config's own
    `seed` key, which then stayed at its default, and a saved and loaded model came back with another config."""
    from dataclasses import dataclass

    registry.list_models()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))

    @aekit.register_model("seeded-own")
    class Seeded(Autoencoder):
        @dataclass(frozen=True, kw_only=True)
        class Config(AutoencoderConfig):
            code_size: int = 2
            seed: int = 0

        def __init__(self, config):
            super().__init__(config)
            self.enc, self.dec = torch.nn.Linear(config.input_dim, 2), torch.nn.Linear(2, config.input_dim)

        def encode(self, x):
            return self.enc(x.flatten(1))

        def decode_logits(self, z):
            return self.dec(z).view(-1, *self.config.input_shape)

    model = aekit.create_model("seeded-own", input_shape=(4,), seed=3)
    assert model.config.seed == 3
