"""The retrieval, text and CIFAR experiments end to end on their tiny presets, on real data where it exists."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from aekit import ConfigError
from aekit.analysis.retrieval import compare_retrieval
from aekit.apps.cli import main
from aekit.apps.experiments import list_experiments, run_experiment
from aekit.config import EXAMPLES
from aekit.data.text import BBC_FILE
from aekit.errors import DataNotFoundError
from aekit.training.checkpoint import load_model

NAMES = ("retrieval-mnist", "retrieval-bbc", "imdb-bn-dropout", "cifar-deep")


def bbc_dir() -> Path | None:
    env = os.environ.get("AEKIT_DATA_DIR")
    for candidate in ([Path(env)] if env else []) + [Path(__file__).resolve().parents[2] / "shared" / "data"]:
        if (candidate / "bbc-news" / BBC_FILE).is_file():
            return candidate
    return None


@pytest.fixture
def bbc_root(monkeypatch):
    root = bbc_dir()
    if root is None:
        pytest.skip("../shared/data/bbc-news/bbc-news.jsonl.gz is absent")
    monkeypatch.setenv("AEKIT_DATA_DIR", str(root))
    return root


@pytest.fixture
def offline(monkeypatch):
    """No downloads: pooch.retrieve fails as it does without a network."""
    import pooch

    def fail(*args, **kwargs):
        raise ConnectionError("no network in tests")

    monkeypatch.setattr(pooch, "retrieve", fail)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, after checking its signature and IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def check_run(run_dir: Path, results: dict, pictures: list[str], histories: list[str]) -> dict:
    for name in pictures:
        width, height = png_size(run_dir / name)
        assert width >= 300 and height >= 200, (name, width, height)
    for tag in histories:
        history = json.loads((run_dir / f"history-{tag}.json").read_text())
        assert len(history["train_loss"]) == len(history["epoch"]) >= 1
        assert (run_dir / f"model-{tag}.safetensors").is_file()
    saved = json.loads((run_dir / "results.json").read_text())
    assert saved["summary"] == results["summary"] and "\n" not in saved["summary"]
    assert set(saved["figures"]) == set(pictures)  # a caption for every picture, and no picture left out
    assert sorted(p.name for p in run_dir.glob("*.png")) == sorted(pictures)
    assert saved["tables"] and all(t["title"] and t["rows"] for t in saved["tables"])  # tables as data
    page = (run_dir / "report.html").read_text()  # every experiment gets the HTML report, text ones too
    assert page.startswith("<!DOCTYPE html>") and run_dir.name in page
    return saved


def test_experiments_are_registered():
    assert set(NAMES) <= set(list_experiments())


def test_retrieval_mnist_tiny(tmp_path):
    run_dir, results = run_experiment("retrieval-mnist", out_dir=tmp_path, tiny=True)
    saved = check_run(run_dir, results, ["precision-at-k.png", "learning-curves.png", "neighbours.png"], ["ae"])
    rows = saved["rows"]
    assert [(r["method"], r["metric"]) for r in rows] == [
        (m, metric) for metric in ("cosine", "euclidean") for m in ("raw pixels", "PCA-8", "autoencoder-8")
    ]
    assert [r["dim"] for r in rows[:3]] == [784, 8, 8]
    for row in rows:
        assert 0 <= row["precision@10"] <= 1 and 0 < row["map"] <= 1
        curve = np.array(saved["curves"][f"{row['method']} ({row['metric']})"])
        assert curve.shape == (20,) and ((0 <= curve) & (curve <= 1)).all()
        # the curve (top-20 neighbours) and the table (full ranking) are computed apart and must agree
        assert curve[9] == pytest.approx(row["precision@10"])
    raw = rows[0]
    assert raw["precision@10"] > 0.5  # real digits by raw pixels: far above chance (about 0.1)
    # the table's autoencoder and raw rows are what compare_retrieval gives for the saved model
    model = load_model(run_dir / "model-ae.safetensors")
    from aekit.data import load_dataset

    index = load_dataset("mnist-mini", "test").take(300, seed=0)
    expected = compare_retrieval(model, index, k=10, metric="cosine", methods=("raw", "ae"), max_queries=60)
    assert rows[0]["map"] == pytest.approx(expected[0]["map"]) and rows[2]["map"] == pytest.approx(expected[1]["map"])
    assert rows[2]["precision@10"] == pytest.approx(expected[1]["precision@10"])


def test_retrieval_bbc_tiny(tmp_path, bbc_root):
    run_dir, results = run_experiment("retrieval-bbc", out_dir=tmp_path, tiny=True)
    saved = check_run(run_dir, results, ["precision-at-k.png", "learning-curves.png", "codes-map.png"], ["ae"])
    rows = saved["rows"]
    assert [r["method"] for r in rows] == ["TF-IDF (300-d)", "LSA-10", "LSA-50", "autoencoder-10"]
    assert [r["dim"] for r in rows] == [300, 10, 50, 10]
    assert saved["n_database"] == 1780 and saved["n_queries"] == 445
    for row in rows:
        assert 0 <= row["precision@10"] <= 1 and 0 < row["map"] <= 1
        curve = np.array(saved["curves"][row["method"]])
        assert curve.shape == (20,) and curve[9] == pytest.approx(row["precision@10"])
    assert rows[0]["precision@10"] > 0.6  # TF-IDF cosine separates the 5 topics well (chance about 0.23)
    assert "LSA-50" in saved["verdict"] and saved["verdict"] in saved["summary"]
    assert any("Hinton & Salakhutdinov" in note for note in saved["tables"][0]["notes"])


def test_verdict_weighs_map_and_precision():
    from aekit.apps.experiments.text import _verdict

    lsa = {"map": 0.70, "precision@10": 0.95}
    assert "better than LSA-50" in _verdict({"map": 0.75, "precision@10": 0.98}, lsa, "LSA-50", "precision@10")
    assert "about as well as LSA-50" in _verdict({"map": 0.71, "precision@10": 0.94}, lsa, "LSA-50", "precision@10")
    assert "worse than LSA-50" in _verdict({"map": 0.60, "precision@10": 0.90}, lsa, "LSA-50", "precision@10")
    mixed = _verdict({"map": 0.74, "precision@10": 0.90}, lsa, "LSA-50", "precision@10")
    assert mixed.startswith("mixed against LSA-50: higher MAP, lower precision@10")


def test_imdb_experiment_falls_back_to_bbc_when_imdb_is_absent(tmp_path, bbc_root, capsys):
    assert not (bbc_root / "imdb").exists()
    run_dir, results = run_experiment("imdb-bn-dropout", out_dir=tmp_path, tiny=True)
    tags = ["plain", "batch-norm", "dropout", "adagrad"]
    saved = check_run(run_dir, results, ["batch-norm.png", "dropout.png", "optimizer.png"], tags)
    assert saved["dataset"] == "bbc-news-sequences"
    assert "IMDb absent" in saved["summary"] and "bbc-news-sequences" in saved["summary"]
    said = [line for line in capsys.readouterr().out.splitlines() if "IMDb is not here" in line]
    assert len(said) == 1 and "imdb.npz" in said[0] and "aclImdb" in said[0]
    assert "IMDb is not here" in saved["tables"][0]["notes"][0]
    assert [r["run"] for r in saved["rows"]] == ["plain (adam)", "batch norm", "dropout", "adagrad"]
    assert saved["rows"][3]["optimizer"] == "adagrad" and saved["n_train"] == 320 and saved["n_val"] == 80
    for row in saved["rows"]:
        assert np.isfinite(row["final val loss"]) and row["final val loss"] > 0
    # the batch-norm run really has batch norm and the dropout run dropout; the plain run neither
    modules = {t: {type(m).__name__ for m in load_model(run_dir / f"model-{t}.safetensors").modules()} for t in tags}
    assert "BatchNorm1d" in modules["batch-norm"] and "Dropout" in modules["dropout"]
    assert not {"BatchNorm1d", "Dropout"} & modules["plain"]
    from aekit.apps.report import _what, read_run_folder

    assert _what(read_run_folder(run_dir))[2].startswith("bbc-news-sequences (in place of imdb")  # (a bug hunt: "imdb")


def write_imdb(root: Path, n: int = 60) -> None:
    """Keras' imdb.npz layout (object arrays of word-rank lists) with `n` random reviews a split."""
    rng = np.random.default_rng(0)

    def reviews():
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = rng.integers(1, 500, size=rng.integers(5, 80)).tolist()
        return out

    (root / "imdb").mkdir(parents=True)
    np.savez(root / "imdb" / "imdb.npz", x_train=reviews(), y_train=np.arange(n) % 2,
             x_test=reviews(), y_test=np.arange(n) % 2)


def test_imdb_experiment_uses_imdb_when_present(tmp_path, monkeypatch, capsys):
    write_imdb(tmp_path / "data")
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path / "data"))
    run_dir, results = run_experiment("imdb-bn-dropout", ["train.epochs=1"], out_dir=tmp_path / "runs", tiny=True)
    assert results["dataset"] == "imdb" and results["fallback_note"] is None
    assert "IMDb absent" not in results["summary"] and "IMDb is not here" not in capsys.readouterr().out
    assert results["n_train"] + results["n_val"] == 60
    assert png_size(run_dir / "optimizer.png")[0] >= 300


def test_imdb_experiment_finds_aclimdb_unpacked_straight_into_the_data_folder(tmp_path, monkeypatch, capsys):
    from test_data_loaders import write_acl_imdb

    write_acl_imdb(tmp_path / "unpacked")  # writes unpacked/imdb/aclImdb: move it up, as the archive unpacks
    (tmp_path / "data").mkdir()
    (tmp_path / "unpacked" / "imdb" / "aclImdb").rename(tmp_path / "data" / "aclImdb")
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path / "data"))
    _, results = run_experiment("imdb-bn-dropout", ["train.epochs=1", "train.batch_size=2", "data.val_fraction=0.5"],
                                out_dir=tmp_path / "runs", tiny=True)
    assert results["dataset"] == "imdb" and results["fallback_note"] is None  # not BBC in its place
    assert "IMDb is not here" not in capsys.readouterr().out


def test_imdb_experiment_without_fallback_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        run_experiment("imdb-bn-dropout", ["experiment.fallback=null"], out_dir=tmp_path / "runs", tiny=True)
    assert "\n" not in str(info.value) and "imdb.npz" in str(info.value)
    assert not (tmp_path / "imdb").exists()  # no download was tried
    with pytest.raises(ConfigError, match="data.name: 'reuters' is not allowed"):
        run_experiment("imdb-bn-dropout", ["data.name=reuters"], out_dir=tmp_path / "runs", tiny=True)


def write_cifar(root: Path, n: int = 20) -> None:
    """Batches in the cifar-10-batches-py format: pickled dicts with b'data' (n, 3072) uint8 and b'labels'."""
    folder = root / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        # smooth random colour images: a per-image colour plus a little noise, so there is something to learn
        base = rng.integers(40, 216, size=(n, 3, 1))
        data = np.clip(base + rng.integers(-30, 31, size=(n, 3, 1024)), 0, 255).astype(np.uint8).reshape(n, 3072)
        entry = {b"batch_label": name.encode(), b"labels": [(i + j) % 10 for j in range(n)], b"data": data}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))


def test_cifar_deep_tiny(tmp_path, monkeypatch):
    write_cifar(tmp_path / "data")
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path / "data"))
    run_dir, results = run_experiment("cifar-deep", out_dir=tmp_path / "runs", tiny=True)
    saved = check_run(run_dir, results, ["reconstructions.png", "codes-map.png", "learning-curves.png"], ["ae"])
    assert saved["n_train"] == 90 and saved["n_test"] == 20
    assert saved["map_method"] in ("umap", "tsne")
    assert ("t-SNE" if saved["map_method"] == "tsne" else "UMAP") in saved["summary"]
    assert saved["squared_error_per_image"] > 0 and saved["pca_squared_error_per_image"] >= 0
    model = load_model(run_dir / "model-ae.safetensors")
    names = [type(m).__name__ for m in model.encoder]
    assert names.count("BatchNorm1d") == 2 and names.count("Dropout") == 1 and names[-1] == "Tanh"


def test_cifar_deep_says_cifar_is_missing(tmp_path, monkeypatch, offline, capsys):
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path / "data"))
    assert main(["experiment", "run", "cifar-deep", "--tiny", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cifar10" in err and "data_batch_1" in err


def test_cifar_deep_defaults_are_the_config_file_model():
    import yaml

    from aekit.apps.experiments import experiment

    config = Path(EXAMPLES) / "cifar-deep.yaml"
    if not config.is_file():
        pytest.skip("configs/cifar-deep.yaml is absent")
    file_model = yaml.safe_load(config.read_text())["model"]
    assert experiment("cifar-deep").defaults["model"] == file_model


def test_overrides_leave_the_tiny_preset_alone(tmp_path):
    from aekit.apps.experiments import experiment, settings

    before = json.dumps(experiment("retrieval-mnist").tiny)
    assert settings("retrieval-mnist", ["model.code_size=5", "train.epochs=1"], tiny=True).model["code_size"] == 5
    assert json.dumps(experiment("retrieval-mnist").tiny) == before
    with pytest.raises(ConfigError, match="experiment.curve_k: must be an integer between 1 and 299"):
        run_experiment("retrieval-mnist", ["experiment.curve_k=300"], out_dir=tmp_path, tiny=True)
    assert not list(tmp_path.glob("*/history-ae.json"))  # refused before training


def test_a_data_key_an_experiment_never_reads_is_refused_before_any_work(tmp_path, capsys):
    from aekit.apps.experiments import settings

    with pytest.raises(ConfigError, match=r"^data.limit: retrieval-bbc does not read it; it reads data.name, "
                                          r"data.val_fraction$"):
        settings("retrieval-bbc", ["data.limit=300"], tiny=True)
    assert settings("retrieval-bbc", ["data.val_fraction=0.2"]).data.val_fraction == 0.2  # what it reads is taken
    with pytest.raises(ConfigError, match="^data.test_limit: imdb-bn-dropout does not read it"):
        settings("imdb-bn-dropout", ["data.test_limit=5"])
    assert main(["experiment", "run", "imdb-bn-dropout", "--tiny", "data.val_fraction=0", "--out", str(tmp_path)]) == 2
    assert "data.val_fraction: imdb-bn-dropout draws validation curves" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_the_precision_curve_is_as_deep_as_a_small_index_allows_unless_given():
    from aekit.apps.experiments.text import check_depths

    assert check_depths(10, None, 79) == 79 and check_depths(10, None, 5000) == 100  # retrieval on 80 images ran
    assert check_depths(10, 20, 79) == 20
    with pytest.raises(ConfigError, match="experiment.curve_k: must be an integer between 1 and 79"):
        check_depths(10, 100, 79)  # given: never shortened silently


def test_a_comparison_of_variants_refuses_one_the_data_cannot_take_before_any_is_saved(bbc_root, tmp_path, capsys):
    """imdb-bn-dropout trained and saved its plain model, then refused the batch-norm one (a batch of 1): the
    one experiment of several variants that did not check them all first."""
    from aekit.apps.cli import main

    code = main(["experiment", "run", "imdb-bn-dropout", "--tiny", "data.limit=401", "--out", str(tmp_path / "e")])
    assert code == 2 and "leave a batch of 1 sample, which batch norm cannot train on" in capsys.readouterr().err
    assert not list(tmp_path.rglob("model-*.safetensors"))
