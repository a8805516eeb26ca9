"""`init_from`: a run that starts from another run's trained model (a warm start on new data), from the command line."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
import yaml

import aekit
import aekit.training.checkpoint
from aekit.apps.cli import main


def write_csv(path, rows: int, seed: int, spread: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3)) @ rng.normal(size=(3, 6)) * spread + 5  # six columns on a 3-d plane
    np.savetxt(path, x, delimiter=",", fmt="%.5f")


@pytest.fixture
def first(tmp_path, monkeypatch):
    """runs/m1: the automatic model trained on m1.csv; m2.csv holds other rows, spread twice as wide."""
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "m1.csv", 80, 0, 1.0)
    write_csv(tmp_path / "m2.csv", 60, 1, 2.0)
    assert main(["train", "data.name=m1.csv", "model.code_size=2", "train.epochs=2", "output.name=m1", "--quiet"]) == 0
    return tmp_path / "runs"


def test_a_run_starts_from_another_runs_model_and_reads_its_data_as_that_run_did(first, capsys):
    assert main(["train", "data.name=m2.csv", f"init_from={first / 'm1'}", "train.epochs=1", "train.lr=1e-9",
                 "output.name=m2"]) == 0
    said = capsys.readouterr().out
    assert f"parameters, from {first / 'm1'}'s trained weights) on m2.csv: 54 training samples" in said
    m1, m2 = aekit.load_model(first / "m1"), aekit.load_model(first / "m2")
    for (name, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), name  # an lr of 1e-9: m1's weights, barely moved
    config = yaml.safe_load((first / "m2" / "config.yaml").read_text())
    assert config["init_from"] == str(first / "m1") and config["model"]["code_size"] == 2
    maps = [json.loads((first / run / "scaling.json").read_text()) for run in ("m1", "m2")]
    assert maps[1]["offset"] == maps[0]["offset"] and maps[1]["divisor"] == maps[0]["divisor"]  # m1's, not m2.csv's
    assert maps[1]["samples"] == 60 and maps[0]["samples"] == 80  # (m2's own count: its resume reads m2.csv so)
    assert main(["train", "data.name=m2.csv", "train.epochs=1", "model.code_size=2", "output.name=fresh", "--quiet"]) == 0
    fresh = json.loads((first / "fresh" / "scaling.json").read_text())
    assert fresh["divisor"] != maps[0]["divisor"]  # without init_from, m2.csv's own range
    from aekit.apps.report import write_report

    page = write_report([first / "m2"], first / "m2.html").read_text()
    assert "dense (256-128-2, mse), from m1&#39;s weights" in page  # whose model it began as
    assert main(["train", str(first / "m2" / "config.yaml"), "output.name=again", "--quiet"]) == 0  # its config, rerun
    assert main(["resume", str(first / "m2"), "--epochs", "2", "--quiet"]) == 0


@pytest.mark.parametrize("words, message", [
    (["init_from=runs/nowhere"], "init_from: .*runs/nowhere does not exist; give a run folder made by `aekit train`"),
    (["init_from=runs"], "init_from: .*runs is not a run folder: it has no config.yaml"),
    (["init_from=runs/m1", "model.code_size=3"], r"model.code_size=3 \(it has 2\): this changes the shapes of "
                                                 r".*runs/m1's trained weights, which init_from starts from; leave it out"),
    (["init_from=runs/m1", "data.layout=nchw"], "data.layout: with init_from, m2.csv is read as .*runs/m1's data were"),
    (["init_from=runs/m1", "model.name=conv"], "model.name: conv given, and init_from .*runs/m1 holds a dense model"),
    (["init_from=runs/m1", "data.scale=column"], "data.scale: with init_from, m2.csv is read as .*runs/m1's data were"),
    (["init_from=runs/m1", "data.name=digits"], r"the model expects \(6,\) \(the model of init_from .*runs/m1\)"),
])
def test_init_from_refuses_what_would_not_start_from_that_model(first, capsys, words, message):
    data = [] if any(w.startswith("data.name") for w in words) else ["data.name=m2.csv"]
    assert main(["train", *data, *words, "train.epochs=1", "output.name=x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err), err
    assert not (first / "x").exists()


def test_init_from_a_run_without_weights_is_refused(first, capsys):
    (first / "m1" / "model.safetensors").unlink()
    (first / "m1" / "checkpoint.safetensors").unlink()
    assert main(["train", "data.name=m2.csv", "init_from=runs/m1", "train.epochs=1"]) == 2
    err = capsys.readouterr().err
    assert "init_from: " in err and "runs/m1 holds no trained model (model.safetensors); give a run that trained" in err


def test_a_warm_run_records_its_source_and_a_rerun_says_when_the_source_changed(first, capsys):
    """A warm-start trial: a rerun of the warm run's config.yaml after the source run trained on started from other
    weights, unsaid; metrics.json did not say where the run began."""
    assert main(["train", "data.name=m2.csv", f"init_from={first / 'm1'}", "train.epochs=1", "output.name=m2"]) == 0
    said = capsys.readouterr().out
    assert "scaled as m1's data were (its scaling.json)" in said and "each column scaled by its own range" not in said
    source = json.loads((first / "m2" / "init.json").read_text())
    header = aekit.training.checkpoint.file_header(first / "m1" / "model.safetensors")
    assert source == {"run": str(first / "m1"), "weights": "model.safetensors", "sha256": header["sha256"]}
    assert json.loads((first / "m2" / "metrics.json").read_text())["training"]["init_from"] == source
    capsys.readouterr()
    assert main(["train", str(first / "m2" / "config.yaml"), "output.name=again", "--quiet"]) == 0
    assert "have changed since" not in capsys.readouterr().err  # the source unchanged: nothing said
    assert main(["resume", str(first / "m1"), "--epochs", "3", "--quiet"]) == 0  # m1 trains on
    capsys.readouterr()
    assert main(["train", str(first / "m2" / "config.yaml"), "output.name=later", "--quiet"]) == 0
    assert re.search(r"init_from: .*m1's weights have changed since .*m2 started from them", capsys.readouterr().err)


def test_init_from_a_run_without_scaling_json_says_the_file_is_scaled_by_its_own_values(first, capsys):
    """A warm-start trial: a run made by aekit.fit on arrays keeps no scaling.json; a data file started from it was
    scaled by its own ranges, unlike the model's inputs, and nothing said so."""
    (first / "m1" / "scaling.json").unlink()
    assert main(["train", "data.name=m2.csv", "init_from=runs/m1", "train.epochs=1", "output.name=x", "--quiet"]) == 0
    assert re.search(r"init_from: .*m1 holds no scaling.json \(trained on arrays or a named data set\): m2.csv is scaled "
                     r"by its own values \(data.scale=auto\)", capsys.readouterr().err)


def test_an_empty_init_from_is_refused(first, capsys):
    """A warm-start trial: `init_from=$PREV` with PREV unset trained a fresh model, unsaid."""
    assert main(["train", "data.name=m2.csv", "init_from=", "train.epochs=1"]) == 2
    assert "init_from: empty; give the run folder to start from, or leave init_from out" in capsys.readouterr().err


def test_new_rows_are_checked_against_a_warm_runs_training_range_with_or_without_its_data(first, capsys):
    """A warm-start trial: without its training file, a warm run's new rows were checked against [0, 1], the range of
    the run it began from: 789 of 1,000 rows like its training data were said to leave it (10 with the file)."""
    assert main(["train", "data.name=m2.csv", f"init_from={first / 'm1'}", "train.epochs=1", "output.name=m2",
                 "--quiet"]) == 0
    bounds = json.loads((first / "m2" / "scaling.json").read_text())["range"]  # m2.csv, twice as wide, in m1's units
    assert min(bounds[0]) < -0.1 and max(bounds[1]) > 1.1
    capsys.readouterr()
    said = []
    for moved in (False, True):
        if moved:
            (first.parent / "m2.csv").rename(first.parent / "away.csv")
            write_csv(first.parent / "new.csv", 60, 1, 2.0)  # the same rows (seed 1), under another name
        assert main(["evaluate", str(first / "m2"), "--data", str(first.parent / ("new.csv" if moved else "m2.csv")),
                     "--nll-samples", "0", "--quality-samples", "0"]) == 0
        said.append(capsys.readouterr().out)
    counts = [re.search(r"(\d+) of 60 samples have values outside the training range", out) for out in said]
    counts = [int(found[1]) if found else 0 for found in counts]  # (the validation rows may pass the training part's)
    assert counts[0] == counts[1] <= 6, said  # [0, 1], m1's range, held 29 of them


def test_keys_that_keep_the_weights_shapes_may_change_under_init_from(first):
    """A review: bce's refusal of new data beyond [0, 1] advised recon_loss=mse, which init_from then refused as a
    change of the model; a fine-tune's dropout was refused too. Keys that keep the weights' shapes are taken."""
    assert main(["train", "data.name=m2.csv", f"init_from={first / 'm1'}", "model.dropout=0.3", "train.epochs=1",
                 "train.lr=1e-9", "output.name=m2", "--quiet"]) == 0
    assert yaml.safe_load((first / "m2" / "config.yaml").read_text())["model"]["dropout"] == 0.3
    m1, m2 = aekit.load_model(first / "m1"), aekit.load_model(first / "m2")
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_a_warm_start_from_a_model_of_your_own_keeps_its_imports(first, tmp_path, capsys, monkeypatch):
    """A review: the new run's config.yaml named no imports, so evaluate, resume and a rerun of it could not build
    the model (`unknown model 'mine-warm'`)."""
    from test_own_model import MODEL_FILE

    from aekit import registry

    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))  # mine-warm unregistered after (the catalog's test)

    (tmp_path / "mine_warm.py").write_text(MODEL_FILE.replace("{name}", "mine-warm"))
    assert main(["train", f"imports=[{tmp_path / 'mine_warm.py'}]", "model.name=mine-warm", "model.recon_loss=mse",
                 "model.output_activation=linear", "data.name=m1.csv", "train.epochs=1", "output.name=own", "--quiet"]) == 0
    assert main(["train", "data.name=m2.csv", "init_from=runs/own", "train.epochs=1", "output.name=warm", "--quiet"]) == 0
    assert yaml.safe_load((first / "warm" / "config.yaml").read_text())["imports"] == [str(tmp_path / "mine_warm.py")]
    assert main(["evaluate", str(first / "warm"), "--quiet"]) == 0
    assert main(["resume", str(first / "warm"), "--epochs", "2", "--quiet"]) == 0


def test_a_warm_start_reads_a_file_in_the_layout_its_source_run_did(first, capsys):
    """A review: a source trained with data.layout=nhwc on two-channel images: the new run read the same file as
    16 channels of 16 x 2 and was refused for its shape."""
    np.savez(first.parent / "two.npz", x_train=np.random.default_rng(0).random((40, 8, 8, 2)).astype(np.float32))
    assert main(["train", "data.name=two.npz", "data.layout=nhwc", "model.name=conv", "train.epochs=1",
                 "output.name=two", "--quiet"]) == 0
    assert main(["train", "data.name=two.npz", "init_from=runs/two", "train.epochs=1", "output.name=warm2", "--quiet"]) == 0
    assert yaml.safe_load((first / "warm2" / "config.yaml").read_text())["data"]["layout"] == "nhwc"


def test_a_warm_start_on_data_unlike_its_sources_says_pca_serves_them_better(first, capsys):
    """A benchmark (RESULTS.md 12): from MNIST to Fashion-MNIST the model started from was 4 times PCA's error on the
    new images, and the warm run ended 2-15% behind a fresh one of the same budget, unsaid."""
    capsys.readouterr()
    assert main(["train", "data.name=m1.csv", "init_from=runs/m1", "train.epochs=1", "output.name=same", "--quiet"]) == 0
    assert "worse than PCA" not in capsys.readouterr().err  # its own data: at or below PCA's (restore_best)
    rng = np.random.default_rng(7)  # rows on another plane, in m1's units
    other = rng.normal(size=(60, 3)) @ rng.normal(size=(3, 6)) + 5
    np.savetxt(first.parent / "other.csv", other, delimiter=",", fmt="%.5f")
    assert main(["train", "data.name=other.csv", "init_from=runs/m1", "train.epochs=1", "output.name=o", "--quiet"]) == 0
    assert re.search(r"init_from: m1's model reconstructs these data worse than PCA-2 fitted on them \([\d.e+-]+ against "
                     r"[\d.e+-]+ per sample, on the validation part\): they are unlike its own data",
                     capsys.readouterr().err)


def test_no_warning_that_the_data_are_unlike_where_they_are_the_sources_own(first, capsys):
    """A review: a model behind PCA on its own data (a dense one given by name, one epoch) was said to find its own
    data unlike its own, and a fresh run better."""
    assert main(["train", "data.name=m1.csv", "model.name=dense", "model.recon_loss=mse", "model.output_activation=linear",
                 "model.code_size=2", "train.epochs=1", "output.name=plain", "--quiet"]) == 0
    metrics = json.loads((first / "plain" / "metrics.json").read_text())
    assert metrics["squared_error_per_sample"] > metrics["pca_squared_error_per_sample"]  # behind PCA on its own
    capsys.readouterr()
    assert main(["train", "data.name=m1.csv", "init_from=runs/plain", "train.epochs=1", "output.name=again2",
                 "--quiet"]) == 0
    assert "worse than PCA" not in capsys.readouterr().err


def test_a_model_key_changed_under_init_from_is_said(first, capsys):
    """A review: model.activation=tanh trained on from ReLU weights without a word."""
    capsys.readouterr()
    assert main(["train", "data.name=m1.csv", "init_from=runs/m1", "model.activation=tanh", "train.epochs=1",
                 "output.name=tanh", "--quiet"]) == 0
    assert "init_from: m1's trained weights go on under model.activation=tanh (it has elu)" in capsys.readouterr().err


def test_a_memory_mapped_warm_runs_new_rows_are_checked_as_in_memory(first, capsys, monkeypatch):
    """A review: a warm run on a memory-mapped table scaled per column checked new rows like its training rows
    against [0, 1] (77 of 300 outside) where, in memory, 1 of 300 was."""
    from aekit.data import files

    rng = np.random.default_rng(3)
    plane, scales = rng.normal(size=(3, 6)), np.array([1, 10, 100, 1000, 1e4, 1e5])
    for name, seed in (("c1", 1), ("c2", 2), ("c2new", 4)):
        rows = np.random.default_rng(seed).normal(size=(300, 3)) @ plane * scales * (2 if name != "c1" else 1)
        np.save(first.parent / f"{name}.npy", rows)
    counts = []
    for limit in (files.MMAP_BYTES, 1000):
        monkeypatch.setattr(files, "MMAP_BYTES", limit)
        tag = f"{limit}"
        assert main(["train", "data.name=c1.npy", "model.code_size=2", "train.epochs=1", f"output.name=p1-{tag}",
                     "--quiet"]) == 0
        assert main(["train", "data.name=c2.npy", f"init_from=runs/p1-{tag}", "train.epochs=1", f"output.name=p2-{tag}",
                     "--quiet"]) == 0
        capsys.readouterr()
        assert main(["evaluate", str(first / f"p2-{tag}"), "--data", str(first.parent / "c2new.npy"), "--nll-samples",
                     "0", "--quality-samples", "0"]) == 0
        found = re.search(r"(\d+) of 300 samples have values outside the training range", capsys.readouterr().out)
        counts.append(int(found[1]) if found else 0)
    assert counts[0] == counts[1] <= 15, counts


def test_a_range_in_scaling_json_of_the_wrong_length_is_said_to_be_damaged(first, capsys):
    """A review: a range of 3 columns for a 6-column run raised RuntimeError (unexpected) in evaluate --data."""
    assert main(["train", "data.name=m2.csv", "init_from=runs/m1", "train.epochs=1", "output.name=m2", "--quiet"]) == 0
    path = first / "m2" / "scaling.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "range": [saved["range"][0][:3], saved["range"][1][:3]]}))
    capsys.readouterr()
    assert main(["evaluate", str(first / "m2"), "--data", str(first.parent / "m1.csv")]) == 2
    assert "scaling.json is damaged (range must be [low, high], numbers or one a column)" in capsys.readouterr().err


def test_a_key_of_the_source_runs_own_model_may_change_under_init_from(first, capsys):
    """A bug hunt: a warm start's model keys were checked against the automatic model's before its source was read:
    a vae's model.beta was refused ("auto takes no 'beta'"), and so was every key of a model of one's own."""
    assert main(["train", "data.name=m1.csv", "model.name=vae", "model.hidden=[8]", "model.code_size=2",
                 "model.recon_loss=mse", "model.output_activation=linear", "train.epochs=1", "output.name=v1",
                 "--quiet"]) == 0
    assert main(["train", "data.name=m2.csv", f"init_from={first / 'v1'}", "model.beta=5e-1", "train.epochs=1",
                 "output.name=v2", "--quiet"]) == 0
    assert "init_from: v1's trained weights go on under model.beta=0.5 (it has 1.0)" in capsys.readouterr().err
    saved = yaml.safe_load((first / "v2" / "config.yaml").read_text())["model"]
    assert saved["name"] == "vae" and saved["beta"] == 0.5
