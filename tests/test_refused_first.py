"""Settings that fit refuses with these data are refused before a run's first line (and any folder)."""

import numpy as np
import pytest

from aekit.apps.cli import main


def _data(work, classes=3, test_classes=3):
    rng = np.random.default_rng(0)
    np.savez(work / "d.npz", x_train=rng.random((40, 6)).astype(np.float32), y_train=np.arange(40) % classes,
             x_test=rng.random((12, 6)).astype(np.float32), y_test=np.arange(12) % test_classes)
    return str(work / "d.npz")


@pytest.mark.parametrize(("setting", "message"), [
    (["train.monitor=val_bogus"], "train.monitor: 'val_bogus' is not logged"),
    (["train.labelled_per_batch=4"], "train.labelled_per_batch: 4 is for semi-supervised models"),
    (["train.augment_rotate=10"], "train.augment_*: augmentation moves images"),
    (["model.name=cvae", "model.n_classes=2"], "train data (d): cvae: labels must be integers in 0..1"),
    (["model.linear_path=true", "model.output_activation=linear", "model.recon_loss=mse", "model.code_size=4",
      "data.limit=3", "data.val_fraction=0"],  # (a bug hunt: refused after the start line)
     "train data: the linear path of dense starts at PCA's solution with 4 components, which needs at least 4 "),
])
def test_a_setting_the_data_do_not_allow_is_refused_before_the_start_line(tmp_path, monkeypatch, capsys, setting,
                                                                          message):
    monkeypatch.chdir(tmp_path)
    given = {s.partition("=")[0] for s in setting}  # (a key given twice is refused)
    base = [a for a in ("model.name=dense", "model.hidden=[4]", "model.code_size=2", "train.epochs=1",
                        "train.batch_size=16") if a.partition("=")[0] not in given]
    code = main(["train", f"data.name={_data(tmp_path)}", *base, *setting])
    out, err = capsys.readouterr()
    assert code == 2 and message in err
    assert out == ""  # no "training ... ->" line: nothing was about to happen
    assert not (tmp_path / "runs").exists()


def test_a_test_label_a_conditional_model_cannot_take_is_refused_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["train", f"data.name={_data(tmp_path, classes=2, test_classes=3)}", "model.name=cvae",
                 "model.hidden=[4]", "model.code_size=2", "model.n_classes=2", "train.epochs=1", "train.batch_size=16"])
    out, err = capsys.readouterr()
    assert code == 2 and "test data (d): cvae: labels must be integers in 0..1" in err
    assert out == "" and not (tmp_path / "runs").exists()


def test_an_experiment_variant_with_a_setting_its_model_refuses_is_refused_before_the_first_model(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["experiment", "run", "mnist-2d", "--tiny", "train.labelled_per_batch=4",
                 "--out", str(tmp_path / "e")])
    out, err = capsys.readouterr()
    assert code == 2 and "train.labelled_per_batch: 4 is for semi-supervised models" in err
    assert "training" not in out and not list((tmp_path / "e").glob("*/model-*.safetensors"))


def test_the_first_line_says_what_changes_the_images_and_the_arithmetic(tmp_path, monkeypatch, capsys):
    """mnist-deep-30min.yaml's augmentation and bf16 were not in the first line, which says what a run trains."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", "data.name=digits", "train.epochs=1", "train.augment_rotate=10", "train.augment_shift=1",
                 "train.augment_share=0.5", "train.amp=bf16", "model.name=dense", "model.hidden=[8]",
                 "model.code_size=2"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert ("50% of training images distorted anew each step (turned by up to 10 degrees, shifted by up to 1 px), "
            "bf16 mixed precision; 1 epoch") in first



@pytest.mark.skipif(not __import__("os").path.isdir("/sys/kernel"), reason="needs Linux's /sys, unwritable even to root")
def test_an_output_that_cannot_be_written_is_refused_before_the_work(tmp_path, monkeypatch, capsys):
    """A bug hunt: evaluate --scores on a read-only disk refused after the NLL's minutes (46 s of a vae's evaluation
    lost); train, report and export found it only as they wrote, after the data, the model or the latent maps."""
    import aekit.apps.run as run

    monkeypatch.chdir(tmp_path)
    common = [f"data.name={_data(tmp_path)}", "model.name=dense", "model.hidden=[4]", "model.code_size=2",
              "train.epochs=1", "--quiet"]
    loads = []
    monkeypatch.setattr(run, "load_splits", lambda *a, **k: loads.append(1) or pytest.fail("data read"))
    assert main(["train", *common, "output.dir=/sys/aekit-runs"]) == 2
    assert capsys.readouterr().err.startswith("aekit: error: /sys/aekit-runs/")
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert main(["train", *common, f"output.dir={tmp_path}", "output.name=r"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(run, "read_run", lambda *a, **k: pytest.fail("run read"))
    assert main(["evaluate", str(tmp_path / "r"), "--scores", "/sys/aekit-scores.csv"]) == 2
    monkeypatch.undo()
    for argv in (["report", str(tmp_path / "r"), "--output", "/sys/aekit-report.html"],
                 ["export", str(tmp_path / "r"), "--format", "torchscript", "--output", "/sys/aekit-encoder.pt"]):
        assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and [line.split(":")[2].strip() for line in err.splitlines()] == [
        "/sys/aekit-scores.csv", "/sys/aekit-report.html", "/sys/aekit-encoder.pt"], err
