"""The image experiments end to end on their tiny presets: pictures, tables, results, histories, a report."""

from __future__ import annotations

import json
import math

import pytest
from PIL import Image

from aekit import ConfigError
from aekit.apps.cli import main
from aekit.apps.experiments import experiment, list_experiments, run_experiment
from aekit.data import load_dataset
from aekit.errors import DataNotFoundError

# experiment -> (its pictures, its trained models)
EXPECTED = {
    "mnist-2d": ({"code-maps.png", "latent-grid.png", "reconstructions.png"}, {"autoencoder"}),
    "mnist-deep-vs-pca": ({"originals-ae-pca.png"}, {"deep"}),
    "denoising-mnist": (
        {"denoising-gaussian.png", "denoising-masking.png", "denoising-salt-and-pepper.png"},
        {"plain", "denoising-gaussian", "denoising-masking", "denoising-salt-and-pepper"},
    ),
    "sparse-mnist": ({"weights-sparse.png", "weights-not-sparse.png", "activations.png"}, {"sparse", "not-sparse"}),
    "tied-mnist": ({"learning-curves.png", "reconstructions.png"}, {"tied", "untied"}),
    "conv-mnist": ({"reconstructions.png"}, {"upsample", "transpose", "unpool"}),
    "generate-mnist-grid": ({"latent-grid.png", "samples.png", "code-map.png", "interpolation.png"}, {"vae"}),
}


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000, path.name
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and min(im.size) >= 150, (path.name, im.size)


def test_every_image_experiment_is_registered_with_full_and_tiny_settings():
    names = set(list_experiments())
    assert set(EXPECTED) <= names
    for name in EXPECTED:
        exp = experiment(name)
        assert exp.summary and exp.defaults["data"] == "mnist" and exp.tiny["data"] == "mnist-mini"
        assert exp.tiny["train_limit"] <= 1000 and exp.tiny["epochs"] <= 2


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tiny_run_writes_pictures_tables_histories_and_a_report(name, tmp_path, capsys):
    run_dir, results = run_experiment(name, out_dir=tmp_path, tiny=True)
    pictures, models = EXPECTED[name]

    summary = results["summary"]
    assert isinstance(summary, str) and summary and "\n" not in summary
    assert results["data"] == "mnist-mini"
    assert json.loads((run_dir / "results.json").read_text()) == json.loads(json.dumps(results, default=float))

    pngs = sorted(run_dir.glob("*.png"))
    assert {p.name for p in pngs} == pictures
    for png in pngs:
        assert_png(png)
    assert set(results["figures"]) == pictures and all(results["figures"].values())  # every picture captioned

    table = (run_dir / "table.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert len(rows) >= 4 and set(rows[1]) <= set("|-")  # header, rule, at least two rows

    epochs = experiment(name).tiny["epochs"]
    for tag in models:
        history = json.loads((run_dir / f"history-{tag}.json").read_text())
        assert len(history["train_loss"]) == len(history["val_loss"]) == epochs
        assert all(math.isfinite(v) for v in history["train_loss"])
        assert (run_dir / f"model-{tag}.safetensors").is_file()

    page = (run_dir / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(pngs)
    assert page.count('class="plot curves-plot"') == 1  # the learning curves, drawn in the page
    assert "http://" not in page.replace('"http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "  training" in capsys.readouterr().out  # progress, one line per model
    PROPERTIES.get(name, lambda r: None)(results)


def _sparse(results):
    with_penalty, without = results["rows"]
    assert with_penalty["model"] == "sparse" and with_penalty["mean_activation"] < without["mean_activation"]


def _tied(results):
    untied, tied = results["rows"]
    assert tied["parameters"] < 0.6 * untied["parameters"]  # one matrix per layer pair instead of two


def _deep_vs_pca(results):
    ae, pca = results["rows"]
    assert ae["code_size"] == pca["code_size"] and ae["squared_error_per_image"] > 0 and pca["squared_error_per_image"] > 0
    assert len(results["per_class"]) == 10


def _denoising(results):
    assert [r["noise"] for r in results["rows"]] == ["gaussian", "masking", "salt-and-pepper"]
    assert all(0 < r["psnr_noisy"] < 30 for r in results["rows"])


# properties that hold even on the tiny budget
PROPERTIES = {"sparse-mnist": _sparse, "tied-mnist": _tied, "mnist-deep-vs-pca": _deep_vs_pca, "denoising-mnist": _denoising}


def test_full_mnist_missing_falls_back_to_mnist_mini_and_says_so(tmp_path, monkeypatch, capsys):
    import aekit.apps.experiments.images as images

    def no_mnist(name, split="train", **kw):
        if name == "mnist":
            raise DataNotFoundError("mnist: missing train-images-idx3-ubyte.gz in /nowhere/mnist")
        return load_dataset(name, split, **kw)

    monkeypatch.setattr(images, "load_dataset", no_mnist)
    run_dir, results = run_experiment("tied-mnist", ["data=mnist", "epochs=1", "train_limit=200"], out_dir=tmp_path, tiny=True)
    assert results["data"] == "mnist-mini (full MNIST missing)"
    assert "mnist-mini" in results["summary"]
    assert "full MNIST is missing" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("override", "key"),
    [("epochs=0", "epochs"), ("train_limit=-5", "train_limit"), ("lr=fast", "lr"), ("val_fraction=1", "val_fraction")],
)
def test_bad_settings_are_one_line_errors_naming_the_key(override, key, tmp_path):
    with pytest.raises(ConfigError, match=key) as err:
        run_experiment("tied-mnist", [override], out_dir=tmp_path, tiny=True)
    assert "\n" not in str(err.value)


def test_experiment_specific_settings_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="model"):
        run_experiment("generate-mnist-grid", ["model=pca"], out_dir=tmp_path, tiny=True)
    with pytest.raises(ConfigError, match="masking_fraction"):
        run_experiment("denoising-mnist", ["masking_fraction=1.5"], out_dir=tmp_path, tiny=True)


def test_cli_runs_an_image_experiment(tmp_path, capsys):
    assert main(["experiment", "run", "generate-mnist-grid", "model=dense", "epochs=1", "--tiny", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "dense with a 2-d code on mnist-mini" in printed and "run folder:" in printed
    run_dir = next(tmp_path.iterdir())
    assert (run_dir / "samples.png").is_file() and (run_dir / "report.html").is_file()
