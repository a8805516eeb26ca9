"""The image experiments end to end on their tiny presets: pictures, tables, results, histories, a report."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image

from aekit import ConfigError
from aekit.apps.cli import main
from aekit.apps.experiments import experiment, list_experiments, run_experiment, settings
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
        exp, full, tiny = experiment(name), settings(name), settings(name, tiny=True)
        assert exp.summary and full.data.name == "mnist" and tiny.data.name == "mnist-mini"
        assert tiny.data.limit <= 1000 and tiny.train.epochs <= 2


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

    assert results["tables"]  # tables as data: a title, columns and at least two rows of as many cells
    for t in results["tables"]:
        assert t["title"] and len(t["rows"]) >= 2 and all(len(row) == len(t["columns"]) for row in t["rows"])

    epochs = settings(name, tiny=True).train.epochs
    for tag in models:
        history = json.loads((run_dir / f"history-{tag}.json").read_text())
        assert len(history["train_loss"]) == len(history["val_loss"]) == epochs
        assert all(math.isfinite(v) for v in history["train_loss"])
        assert (run_dir / f"model-{tag}.safetensors").is_file()

    page = (run_dir / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(pngs)
    assert page.count('class="plot curves-plot"') == 1  # the learning curves, drawn in the page
    assert all(f"<h4>{t['title']}</h4>" in page for t in results["tables"])  # the tables, rendered from rows
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


def _map_2d(results):
    ae, pca = results["rows"]  # the table's accuracies in percent, as the summary says them (a surfaces hunt: 0.25
    [table] = results["tables"]  # under "25.0%")
    assert [row[-1] for row in table["rows"]] == [f"{100 * ae['knn5_accuracy']:.1f}%", f"{100 * pca['knn5_accuracy']:.1f}%"]
    assert f"5-NN accuracy {table['rows'][0][-1]} vs {table['rows'][1][-1]}" in results["summary"]


# properties that hold even on the tiny budget
PROPERTIES = {"mnist-2d": _map_2d, "sparse-mnist": _sparse, "tied-mnist": _tied, "mnist-deep-vs-pca": _deep_vs_pca, "denoising-mnist": _denoising}


def test_full_mnist_missing_falls_back_to_mnist_mini_and_says_so(tmp_path, monkeypatch, capsys):
    import aekit.apps.run as runs

    def no_mnist(name, split="train", **kw):
        if name == "mnist":
            raise DataNotFoundError("mnist: missing train-images-idx3-ubyte.gz in /nowhere/mnist")
        return load_dataset(name, split, **kw)

    monkeypatch.setattr(runs, "load_dataset", no_mnist)
    run_dir, results = run_experiment("tied-mnist", ["data.name=mnist", "train.epochs=1", "data.limit=200"], out_dir=tmp_path, tiny=True)
    assert results["data"] == "mnist-mini (full MNIST missing)"
    assert "mnist-mini" in results["summary"]
    assert "full MNIST is missing" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("override", "key"),
    [("train.epochs=0", "train.epochs"), ("data.limit=-5", "data.limit"), ("train.lr=fast", "train.lr"),
     ("data.val_fraction=1", "data.val_fraction"), ("model.hidden=[0]", "hidden"),
     ("epochs=1", "config: unknown key 'epochs'; allowed keys: model, data, train, experiment"),
     ("train.epoch=1", "train: unknown key 'epoch'"), ("experiment.grid=3", "experiment: unknown key 'grid'")],
)
def test_bad_settings_are_one_line_errors_naming_the_key(override, key, tmp_path):
    with pytest.raises(ConfigError, match=key) as err:
        run_experiment("tied-mnist", [override], out_dir=tmp_path, tiny=True)
    assert "\n" not in str(err.value)


def test_experiment_specific_settings_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="model.name: generate-mnist-grid draws the code space of a vae or of a plain autoencoder: 'vae' or 'dense'; got 'tied'"):
        run_experiment("generate-mnist-grid", ["model.name=tied"], out_dir=tmp_path, tiny=True)
    with pytest.raises(ConfigError, match="^experiment.masking_fraction"):
        run_experiment("denoising-mnist", ["experiment.masking_fraction=1.5"], out_dir=tmp_path, tiny=True)
    with pytest.raises(ConfigError, match=r"unknown key 'masking_fraction'.*did you mean experiment.masking_fraction"):
        run_experiment("denoising-mnist", ["masking_fraction=0.3"], out_dir=tmp_path, tiny=True)
    with pytest.raises(ConfigError, match=r"unknown key 'epochs'.*did you mean train.epochs"):  # the old flat keys
        run_experiment("denoising-mnist", ["epochs=1"], out_dir=tmp_path, tiny=True)


def test_experiments_take_the_keys_of_a_run():
    """`aekit experiment run mnist-2d train.epochs=1` as `aekit train c.yaml train.epochs=1`: the same
    sections, typed by the same configs, plus the experiment's own."""
    cfg = settings("mnist-2d", ["train.epochs=1", "model.hidden=[256]", "data.limit=1000", "experiment.grid=5"])
    assert cfg.train.epochs == 1 and cfg.model == {"name": "dense", "hidden": [256], "code_size": 2}
    assert cfg.data.name == "mnist" and cfg.data.limit == 1000 and cfg.experiment.grid == 5
    assert settings("mnist-2d").train.epochs == 10 and settings("mnist-2d", tiny=True).model["hidden"] == [64]
    # another model keeps the defaults' keys it takes and drops the others (linear has no hidden layers)
    assert settings("retrieval-mnist", ["model.name=linear"]).model == {"name": "linear", "code_size": 30}
    with pytest.raises(ConfigError, match=r"^model: linear takes no 'hidden': remove it"):  # given, it is refused, not dropped
        settings("retrieval-mnist", ["model.name=linear", "model.hidden=[4]"])


def test_cli_runs_an_image_experiment(tmp_path, capsys):
    assert main(["experiment", "run", "generate-mnist-grid", "model.name=dense", "train.epochs=1", "--tiny", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "dense with a 2-d code on mnist-mini" in printed and "run folder:" in printed
    run_dir = next(tmp_path.iterdir())
    assert (run_dir / "samples.png").is_file() and (run_dir / "report.html").is_file()


@pytest.mark.parametrize(("experiment", "override", "match"), [
    ("tied-mnist", "model.name=vae", r"^model.name: tied-mnist compares the dense model with its tied twin; .* got 'vae'$"),
    ("denoising-mnist", "model.name=tied", r"^model.name: denoising-mnist compares the dense model with its denoising"),
    ("mnist-2d", "model.code_size=3", r"^model.code_size: must be 2 \(a whole number\): mnist-2d maps the codes themselves"),
    ("mnist-2d", "model.code_size=2.5", r"^model.code_size: 2.5 must be an integer$"),  # (as aekit train says it)
    # a config trial: model.name was ignored (generative-mnist), or refused as a key never given (the others)
    ("generative-mnist", "model.name=dense", r"^model.name: generative-mnist trains the models experiment.models names"),
    ("sparse-mnist", "model.name=dense", r"^model.name: sparse-mnist .* it trains sparse-kl only; got 'dense'$"),
    ("conv-mnist", "model.name=dense", r"^model.name: conv-mnist .* it trains conv only; got 'dense'$"),
    ("semi-supervised-mnist", "model.name=dense", r"^model.name: semi-supervised-mnist trains the methods experiment.methods"),
    ("mnist-2d", "train.log=[csv]", r"^train.log: an experiment keeps no training logs"),  # it failed after training
    ("tied-mnist", "train.checkpoint_minutes=0.05", r"^train.checkpoint_minutes: an experiment writes no training "
                                                    r"checkpoints \(its models train side by side in one folder\); "),
    ("pretrain-mnist", "train.checkpoint_every=2", r"^train.checkpoint_every: .*; its finished models are kept as they "
                                                   r"end \(aekit experiment resume\)\); remove it"),  # (a review: unsaid)
    ("generative-mnist", "experiment.classifier=foo", r"^experiment.classifier: must be one of mnist, "),  # said data.name
    ("imdb-bn-dropout", "model.name=vae", r"^model.name: imdb-bn-dropout .* it trains dense only; got 'vae'$"),
    # a command-line fuzz: numpy's crash (seeds), or refused after models had trained (dropout, grid)
    ("pretrain-mnist", "experiment.seeds=[-5]", r"^experiment.seeds: must be in \[0, 4294967295\], got \[-5\]$"),
    ("semi-supervised-mnist", "experiment.seeds=[0, 4294967296]", r"^experiment.seeds: must be in \[0, 4294967295\], "),
    ("pretrain-mnist", "experiment.noise_fraction=-1", r"^experiment.noise_fraction: must be in \[0, 1\), got -1.0$"),
    ("semi-supervised-mnist", "experiment.sda.noise_fraction=[0.2, 1.5, 0.2]", r"^experiment.sda.noise_fraction: must be"),
    ("self-taught-mnist", "experiment.threads=-1", r"^experiment.threads: must be >= 0 \(0: leave torch's\), got -1$"),
    ("imdb-bn-dropout", "experiment.dropout=2.5", r"^experiment.dropout: must be a probability in \[0, 1\), got 2.5$"),
    ("mnist-2d", "experiment.grid=1000000000000", r"^experiment.grid: must be a whole number >= 2 and <= 100"),
    ("mnist-2d", "experiment.grid=0", r"^experiment.grid: must be a whole number >= 2 and <= 100, got 0$"),  # (one rule)
    ("generate-mnist-grid", "experiment.steps=0", r"^experiment.steps: must be a whole number >= 2, got 0$"),
    # an experiments trial: keys taken and then not used (generative-mnist's beta; pretrain-mnist's activation on the
    # scratch network alone, a comparison no longer fair; train.seed, where experiment.seeds decide)
    ("generative-mnist", "model.beta=4", r"^model.beta: generative-mnist does not read it \(every model .*\); it reads "
                                         r"model.name, model.hidden, model.code_size$"),
    ("pretrain-mnist", "model.activation=relu", r"^model.activation: pretrain-mnist does not read it \(the SdA's sigmoid"),
    ("pretrain-mnist", "train.seed=5", r"^train.seed: pretrain-mnist does not read it; each seed of experiment.seeds"),
    ("semi-supervised-mnist", "train.seed=7", r"^train.seed: semi-supervised-mnist does not read it; each seed of "),
    ("semi-supervised-mnist", "data.val_split=last", r"^data.val_split: semi-supervised-mnist does not read it; each "),
    # a bug hunt: settings taken and then ignored or mislabelled, or refused only after a model had trained
    ("conv-mnist", "model.decoder=transpose", r"^model.decoder: conv-mnist does not read it; experiment.decoders lists"),
    ("imdb-bn-dropout", "model.dropout=0.5", r"^model.dropout: imdb-bn-dropout does not read it; experiment.dropout sets"),
    ("imdb-bn-dropout", "model.batch_norm=true", r"^model.batch_norm: imdb-bn-dropout does not read it; experiment.batch_norm"),
    ("generative-mnist", "experiment.samples=3", r"^experiment.samples: must be 4 or more \(precision and recall take 3 "),
    ("pretrain-mnist", "experiment.seeds=[0,0]", r"^experiment.seeds: must differ \(a spread over one seed twice is no "),
    ("semi-supervised-mnist", "experiment.seeds=[1,1]", r"^experiment.seeds: must differ"),
    # a bug hunt: taken, recorded in experiment.yaml, and read by no method run (kmnist: never run, unsaid)
    ("semi-supervised-mnist", "experiment.fashion_data=kmnist", r"^experiment.fashion_data: semi-supervised-mnist does "
     r"not read it here: the second data set is run with experiment.fashion_label_counts \(none given\)$"),
    ("semi-supervised-mnist", ["experiment.methods=[supervised]", "experiment.m2.model.alpha=5.0"],
     r"^experiment.m2.model.alpha: .* here: only m2 or m1m2 reads it, and experiment.methods is \[supervised\]$"),
    ("semi-supervised-mnist", ["experiment.methods=[m2]", "model.hidden=[8]"], r"^model.hidden: .* only ladder or supervised"),
    ("semi-supervised-mnist", ["experiment.methods=[ladder]", "experiment.sda={widths: [8]}"], r"^experiment.sda.widths: "),
])
def test_settings_an_experiment_cannot_show_are_refused(experiment, override, match, tmp_path):
    """tied-mnist trained a VAE as its 'untied' arm, and mnist-2d mapped 2 of 3 coordinates as '2-d codes'."""
    with pytest.raises(ConfigError, match=match):
        run_experiment(experiment, [override] if isinstance(override, str) else override, out_dir=tmp_path, tiny=True)
    assert not list(tmp_path.iterdir())


def test_an_experiment_takes_a_config_file_of_its_sections_or_a_run_folders_experiment_yaml(tmp_path, capsys):
    """`aekit experiment run mnist-2d exp.yaml` was "give one experiment name ...; got mnist-2d, exp.yaml": the
    one config system held for the command line alone."""
    import yaml

    (tmp_path / "exp.yaml").write_text("model: {hidden: [64]}\ntrain: {epochs: 2}\nexperiment: {grid: 7}\n")
    cfg = settings("mnist-2d", ["train.epochs=3"], tiny=True, file=tmp_path / "exp.yaml")
    assert (cfg.model["hidden"], cfg.train.epochs, cfg.experiment.grid) == ([64], 3, 7)  # the file, then overrides
    assert main(["experiment", "show", "mnist-2d", str(tmp_path / "exp.yaml"), "--tiny"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["experiment"]["grid"] == 7
    saved = {"experiment": "mnist-2d", "settings": yaml.safe_load(yaml.safe_dump(
        __import__("aekit.config", fromlist=["to_dict"]).to_dict(cfg)))}
    (tmp_path / "experiment.yaml").write_text(yaml.safe_dump(saved))
    assert settings("mnist-2d", file=tmp_path / "experiment.yaml") == cfg  # a run's settings, whole
    with pytest.warns(UserWarning, match=r"^--tiny: .*experiment.yaml is a run's experiment.yaml, whose settings are "
                                         r"taken whole; --tiny changes none of them$"):  # (a bug hunt: unsaid)
        assert settings("mnist-2d", tiny=True, file=tmp_path / "experiment.yaml") == cfg
    with pytest.raises(ConfigError, match=r"experiment.yaml holds the settings of experiment mnist-2d, not tied-mnist"):
        settings("tied-mnist", file=tmp_path / "experiment.yaml")


def test_epochs_beside_an_experiments_time_budget_are_refused_as_aekit_train_refuses_them():
    """semi-supervised-mnist train.epochs=3 trained 20 minutes, silently (a config trial); a budget given beside
    them, and the SdA's epochs_per_layer beside its seconds_per_layer, were ignored alike (a review)."""
    for key in ("train", "experiment.m1.train"):
        for budget in ([], [f"{key}.time_budget=30"]):
            with pytest.raises(ConfigError, match=rf"^{key}.epochs: semi-supervised-mnist trains for {key}.time_budget="
                                                  rf"\S+ seconds, .* add {key}.time_budget=null to train by epochs$"):
                settings("semi-supervised-mnist", [*budget, f"{key}.epochs=3"])
        assert settings("semi-supervised-mnist", [f"{key}.epochs=3", f"{key}.time_budget=null"])
    with pytest.raises(ConfigError, match=r"^experiment.sda.pretrain.epochs_per_layer: .*\.seconds_per_layer=500 seconds"):
        settings("semi-supervised-mnist", ["experiment.sda.pretrain.epochs_per_layer=3"])
    assert settings("pretrain-mnist", ["experiment.pretrain.epochs_per_layer=3"])  # no budget there


def test_what_show_prints_is_taken_back_as_a_file_by_every_experiment(tmp_path):
    """A review: four experiments refused their own `show` output (its data.* keys at their defaults counted as
    given, and were keys they do not read); a config trial: semi-supervised-mnist's, with --tiny beside it (which
    changes nothing there, README), was refused epochs beside its time budget."""
    import yaml

    from aekit.config import to_dict

    for name in list_experiments():
        for tiny in (False, True):
            shown = to_dict(settings(name, tiny=tiny))
            (tmp_path / "s.yaml").write_text(yaml.safe_dump(shown))
            settings(name, file=tmp_path / "s.yaml", tiny=not tiny)  # not refused keys it did not give
            (tmp_path / "experiment.yaml").write_text(yaml.safe_dump({"experiment": name, "settings": shown}))
            for beside in (False, True):  # a run's experiment.yaml: --tiny beside it changes nothing (README)
                assert to_dict(settings(name, file=tmp_path / "experiment.yaml", tiny=beside)) == shown, (name, tiny)


def test_interpolation_pairs_are_chosen_by_label_and_named():
    """A bug hunt: generate-mnist-grid picked pairs by position among one image a class, so with no 0 in the test part
    the row "0 -> 1" showed a 1 and a 3."""
    from aekit.apps.experiments.images import interpolation_pairs
    from aekit.data.core import Dataset

    y = torch.tensor([9, 1, 3, 7, 4, 8, 1, 3])  # no 0 and no 2
    pairs = interpolation_pairs(Dataset(torch.rand(8, 4), y, "t"))
    assert [(int(y[a]), int(y[b]), label) for a, b, label in pairs] == [(4, 9, "4 -> 9"), (3, 8, "3 -> 8")]
    named = interpolation_pairs(Dataset(torch.rand(4, 4), torch.tensor([3, 5, 3, 6]), "t",
                                        classes=["a", "b", "c", "dress", "e", "shirt", "coat"]))
    assert [label for *_, label in named] == ["dress -> shirt"]  # no listed pair: the classes there, two by two
    assert [label for *_, label in interpolation_pairs(Dataset(torch.rand(6, 4), None, "t"))] == ["pair 1", "pair 2", "pair 3"]
    unlabelled = interpolation_pairs(Dataset(torch.rand(6, 4), torch.tensor([-1, 5, 6, -1, 5, 7]), "t"))
    assert [label for *_, label in unlabelled] == ["5 -> 6"]  # -1 is no class (a review: '-1 -> 5')
