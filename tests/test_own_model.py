"""A model of one's own, registered in a .py file outside the package: trained, evaluated, resumed and
exported from the command line through the config's `imports`, and named when it is not imported."""

from __future__ import annotations

import sys

import pytest
import yaml

import aekit
from aekit import registry
from aekit.apps.cli import main

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
    registry._MODELS.pop(name)  # a new process: the run's config.yaml imports it again
    sys.modules.pop(path.stem)
    assert main(["evaluate", str(run), "--quiet"]) == 0
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


def test_imports_and_a_model_of_ones_own_refuse_bad_settings_in_one_line(own_model, tmp_path, capsys):
    path, name = own_model
    for imports, message in ((["nowhere.py"], "nowhere.py does not exist (a relative path is read from the"),
                             (["no_such_module_x"], "imports: importing no_such_module_x failed: ModuleNotFoundError")):
        assert main(["train", f"imports={imports}", "train.epochs=1", "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert main(["train", "model.name=" + name, "--quiet"]) == 2  # not imported: the message says how
    err = capsys.readouterr().err
    assert f"unknown model '{name}'" in err and "name the .py file that registers it under imports" in err
    from aekit.apps.experiments import settings

    cfg = settings("retrieval-mnist", [f"imports=[{path}]", f"model.name={name}"])  # an experiment takes it too
    assert cfg.model == {"name": name, "code_size": 30} and cfg.imports == (str(path.resolve()),)
    common = [f"imports=[{path}]", "model.name=" + name, "data.name=digits", "train.epochs=1", "--quiet",
              f"output.dir={tmp_path}"]
    assert main(["train", *common, "model.code_size=0"]) == 2
    assert "model.code_size: must be > 0, got 0" in capsys.readouterr().err
    assert main(["train", *common, "model.width=-3"]) == 2  # its constructor's error, not a traceback
    err = capsys.readouterr().err
    assert f"model: {name} cannot be built with these keys: RuntimeError" in err and "Traceback" not in err
