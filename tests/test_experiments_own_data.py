"""Every experiment on a user's own file (`data.name=FILE`): it runs, or it is refused in one line
naming what is wrong and what is allowed, before any model is trained and leaving no run folder."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from aekit.apps.cli import main
from aekit.apps.experiments import experiment, list_experiments, run_experiment
from aekit.errors import AekitError
from aekit.training.loop import Trainer

TEST_PART = r"needs a separate test part, and data\.name=.*has none; give an \.npz with x_test and y_test"
FEATURES = r"model\.code_size: 8 must be below the 6 features of the samples of data\.name=.*; give model\.code_size=5 or less"
NOT_IMAGES = r"conv-mnist needs images \(N, C, H, W\), and the samples of data\.name=.* are flat, of shape \(10,\)"
CLASSIFIER = r"generative-mnist judges its samples with a classifier of mnist-mini .* shape \(1, 28, 28\)"

# experiment -> what each file gives: None = it runs; else the refusal (a regex)
#   flat:   unlabelled (40, 6) floats in an .npy (no test part)
#   images: labelled 8x8 grey images of 3 classes in an .npz, x_train/y_train/x_test/y_test (60/30)
#   table:  a .csv with a `label` column and 10 feature columns (no test part)
EXPECTED = {
    "cifar-deep": {"flat": FEATURES, "images": None, "table": None},
    "conv-mnist": {"flat": NOT_IMAGES.replace(r"\(10,\)", r"\(6,\)"), "images": None, "table": NOT_IMAGES},
    "denoising-mnist": {"flat": None, "images": None, "table": None},
    "generate-mnist-grid": {"flat": None, "images": None, "table": None},
    "generative-mnist": {"flat": CLASSIFIER, "images": CLASSIFIER, "table": CLASSIFIER},
    "imdb-bn-dropout": dict.fromkeys(("flat", "images", "table"), r"data\.name: '.*' is not allowed; choose one of: imdb, "),
    "mnist-2d": {"flat": None, "images": None, "table": None},
    "mnist-deep-vs-pca": {"flat": FEATURES, "images": None, "table": None},
    "pretrain-mnist": {"flat": TEST_PART, "images": None, "table": TEST_PART},
    "retrieval-bbc": dict.fromkeys(("flat", "images", "table"), r"data\.name: retrieval-bbc reads BBC News"),
    "retrieval-mnist": {"flat": TEST_PART + ".*or set experiment.index_split=train", "images": None,
                        "table": TEST_PART + ".*or set experiment.index_split=train"},
    "self-taught-mnist": {"flat": TEST_PART, "table": TEST_PART, "images": (
        r"self-taught-mnist learns features from the samples labelled 5 or more .* needs 1 or more training samples "
        r"labelled 5 or more, and data\.name=.* has 0 \(its training labels: \[0, 1, 2\]\)")},
    "semi-supervised-mnist": {"flat": TEST_PART, "images": None, "table": TEST_PART},
    "sparse-mnist": {"flat": None, "images": None, "table": None},
    "tied-mnist": {"flat": None, "images": None, "table": None},
}
REFUSED = [(name, kind) for name, cases in EXPECTED.items() for kind, match in cases.items() if match is not None]
RUNS = [("mnist-deep-vs-pca", "table"), ("retrieval-mnist", "images")]  # two that train, a second or two each


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(0)
    np.save(folder / "flat.npy", rng.random((40, 6)).astype(np.float32))

    def images(n):  # (n, 8, 8) in [0, 1], a bright column per class
        y = np.arange(n) % 3
        x = 0.3 * rng.random((n, 8, 8)).astype(np.float32)
        x[np.arange(n), :, 2 * y + 1] += 0.7
        return x, y

    (x_train, y_train), (x_test, y_test) = images(60), images(30)
    np.savez(folder / "images.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    y = np.arange(60) % 3
    rows = np.column_stack([rng.normal(size=(60, 10)) + y[:, None], y])
    np.savetxt(folder / "table.csv", rows, delimiter=",", fmt="%.4f", comments="",
               header=",".join([*(f"f{i}" for i in range(10)), "label"]))
    return {"flat": folder / "flat.npy", "images": folder / "images.npz", "table": folder / "table.csv"}


@pytest.fixture
def no_training(monkeypatch):
    """Any training step fails the test: a refusal must come before the first model is trained."""
    def fit(self, *args, **kwargs):
        raise AssertionError(f"trained a {type(self.model).__name__} before refusing")

    monkeypatch.setattr(Trainer, "fit", fit)


def overrides(name: str, path, *more: str) -> list[str]:
    threads = ["experiment.threads=1"] if "threads" in {f.name for f in dataclasses.fields(experiment(name).settings)} else []
    return [f"data.name={path}", *threads, *more]


def test_every_experiment_says_what_it_does_with_each_file():
    assert set(EXPECTED) == set(list_experiments())


@pytest.mark.parametrize(("name", "kind"), REFUSED)
def test_refused_in_one_line_before_training_leaving_no_folder(name, kind, files, tmp_path, no_training):
    with pytest.raises(AekitError, match=EXPECTED[name][kind]) as err:
        run_experiment(name, overrides(name, files[kind]), out_dir=tmp_path / "runs", tiny=True)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(("name", "kind"), RUNS)
def test_runs_on_a_users_file(name, kind, files, tmp_path):
    run_dir, results = run_experiment(name, overrides(name, files[kind]), out_dir=tmp_path, tiny=True)
    assert json.loads((run_dir / "results.json").read_text())["summary"] == results["summary"]
    assert (run_dir / "report.html").is_file()
    # its models take new samples as the file stores them: the file's map is in the experiment's folder
    model = sorted(run_dir.glob("model-*.safetensors"))[0]
    assert main(["export", str(model), "--raw", "--format", "torchscript", "--output", str(tmp_path / "m.pt")]) == 0
    assert (run_dir / "scaling.json").is_file() and (tmp_path / "m.pt").is_file()


def test_retrieval_of_unlabelled_samples_is_refused_before_training(files, tmp_path, no_training):
    with pytest.raises(AekitError, match=r"retrieval-mnist needs labels \(y\), and the training samples of "
                                         r"data\.name=.*flat\.npy have none; give labelled data"):
        run_experiment("retrieval-mnist", overrides("retrieval-mnist", files["flat"], "experiment.index_split=train"),
                       out_dir=tmp_path, tiny=True)
    assert not any(tmp_path.iterdir())


def test_pca_needs_as_many_training_samples_as_components(files, tmp_path, no_training):
    with pytest.raises(AekitError, match=r"model\.code_size: 8 must be at most the 5 training samples of data\.name="):
        run_experiment("mnist-deep-vs-pca", overrides("mnist-deep-vs-pca", files["images"], "data.limit=5",
                       "data.val_fraction=0"), out_dir=tmp_path, tiny=True)


def test_cli_says_how_to_give_a_test_part(files, tmp_path, capsys, no_training):
    assert main(["experiment", "run", "semi-supervised-mnist", "--tiny", "--out", str(tmp_path),
                 *overrides("semi-supervised-mnist", files["table"])]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "give an .npz with x_test and y_test" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["retrieval-mnist", "semi-supervised-mnist", "pretrain-mnist", "mnist-2d"])
def test_a_test_part_of_another_shape_is_refused_before_training(name, tmp_path, no_training):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "odd.npz", x_train=rng.random((60, 8, 8)), y_train=np.arange(60) % 3,
             x_test=rng.random((30, 6, 6)), y_test=np.arange(30) % 3)
    with pytest.raises(AekitError, match=r"test samples of data\.name=.* have shape \[1, 6, 6\], but the training "
                                         r"samples have shape \[1, 8, 8\]; save both parts alike"):
        run_experiment(name, overrides(name, tmp_path / "odd.npz"), out_dir=tmp_path / "runs", tiny=True)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_relative_data_path_is_recorded_whole_so_resume_finds_it_from_anywhere(files, tmp_path, monkeypatch):
    import yaml

    monkeypatch.chdir(files["images"].parent)
    run_dir, _ = run_experiment("mnist-2d", ["data.name=images.npz"], out_dir=tmp_path, tiny=True)
    saved = yaml.safe_load((run_dir / "experiment.yaml").read_text())["settings"]["data"]["name"]
    assert saved == str(files["images"].resolve())


@pytest.mark.parametrize("name", ["pretrain-mnist", "semi-supervised-mnist"])
def test_train_log_is_refused_before_pretraining(name, tmp_path, no_training):
    """The SdA's greedy pretraining ran first (hours at full size), then train.log's missing package was said;
    with the package there, every experiment failed after training ("give fit() a run_dir"): refused first."""
    with pytest.raises(AekitError, match=r"^train.log: an experiment keeps no training logs"):
        run_experiment(name, ["train.log=[tensorboard]"], out_dir=tmp_path, tiny=True)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("name", "setting", "message"), [
    ("pretrain-mnist", "train.monitor=val_recon", r"^train.monitor: 'val_recon' is not logged; choose one of: .*val_error"),
    ("pretrain-mnist", "train.labelled_per_batch=4", r"^train.labelled_per_batch: 4 is for semi-supervised models"),
    ("semi-supervised-mnist", "experiment.supervised.train.monitor=val_recon",
     r"^train.monitor: 'val_recon' .* \(method supervised, whose training is experiment.supervised.train over the train section\)$"),
    ("semi-supervised-mnist", "experiment.m1.train.monitor=val_error", r"\(method m1m2, whose training is experiment.m1.train"),
    ("semi-supervised-mnist", "experiment.m2.train.monitor=val_recon", r"\(method m2, whose training is experiment.m2.train"),
    ("semi-supervised-mnist", "experiment.supervised.train.labelled_per_batch=5",
     r"^train.labelled_per_batch: 5 is for semi-supervised models .*\(method supervised"),
])
def test_a_later_methods_training_settings_are_refused_before_the_first_trains(name, setting, message, tmp_path, no_training):
    """A trial: settings the fine-tuned classifiers, M1 or M2 cannot take were refused at their turn, after
    the SdA's greedy pretraining (25 minutes at full size) and the methods before them had trained."""
    with pytest.raises(AekitError, match=message):
        run_experiment(name, [setting], out_dir=tmp_path, tiny=True)
    assert not list(tmp_path.iterdir())


def test_an_experiment_folder_in_use_is_not_resumed_beside_it(tmp_path, no_training):
    """A few-label trial: `experiment resume` beside the running experiment trained the same runs into one
    folder, the second process's figures overwriting the first's."""
    import fcntl

    import yaml

    from aekit.apps.experiments import resume_experiment, settings
    from aekit.config import to_dict
    from aekit.training.checkpoint import LOCK_FILE

    run = tmp_path / "pretrain"
    run.mkdir()
    (run / "experiment.yaml").write_text(yaml.safe_dump(
        {"experiment": "pretrain-mnist", "settings": to_dict(settings("pretrain-mnist", tiny=True))}))
    with open(run / LOCK_FILE, "a") as held:  # another process running it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(AekitError, match="is in use by another aekit process"):
            resume_experiment(run)
    assert sorted(p.name for p in run.iterdir()) == [LOCK_FILE, "experiment.yaml"]


@pytest.fixture(scope="module")
def one_class(tmp_path_factory):
    """8x8 images all labelled 0 (an anomaly set of good parts alone), a test part of 10 and one of a single image."""
    folder = tmp_path_factory.mktemp("one")
    rng = np.random.default_rng(1)
    x, x_test = rng.random((40, 8, 8)).astype(np.float32), rng.random((10, 8, 8)).astype(np.float32)
    np.savez(folder / "one.npz", x_train=x, y_train=np.zeros(40, int), x_test=x_test, y_test=np.zeros(10, int))
    np.savez(folder / "single.npz", x_train=x, y_train=np.arange(40) % 2, x_test=x_test[:1], y_test=np.zeros(1, int))
    return folder


@pytest.mark.parametrize("file", ["one.npz", "single.npz"])
def test_the_generative_grid_runs_on_one_class_and_a_test_part_of_one_image(file, one_class, tmp_path):
    """A shapes hunt: interpolation_pairs found no pair of classes, and np.stack of none failed after the training."""
    run_dir, _ = run_experiment("generate-mnist-grid", overrides("generate-mnist-grid", one_class / file),
                                out_dir=tmp_path, tiny=True)
    assert (run_dir / "interpolation.png").is_file() == (file == "one.npz")


@pytest.mark.parametrize("name", ["retrieval-mnist", "semi-supervised-mnist", "pretrain-mnist"])
def test_one_class_is_refused_before_training_where_labels_are_compared(name, one_class, tmp_path, no_training):
    """A shapes hunt: retrieval said every MAP 1.000 and chose a 'best'; the classifiers said 'model.n_classes: must be
    an integer >= 2, got 1', a key the user never set."""
    with pytest.raises(AekitError, match=rf"^{name} compares by labels, and the (training|test) samples of data\.name="
                                         r".*one\.npz hold one class \(0\); give data of two classes or more$"):
        run_experiment(name, overrides(name, one_class / "one.npz"), out_dir=tmp_path, tiny=True)


def test_a_classifiers_test_part_of_one_class_is_taken(one_class, tmp_path, no_training):
    """A review: a test part of one class was refused too; a classifier's error on it is still a figure."""
    rng = np.random.default_rng(2)
    np.savez(tmp_path / "twoone.npz", x_train=rng.random((40, 8, 8)).astype(np.float32), y_train=np.arange(40) % 2,
             x_test=rng.random((10, 8, 8)).astype(np.float32), y_test=np.zeros(10, int))
    with pytest.raises(AssertionError, match="before refusing"):  # past every check: to its first training
        run_experiment("pretrain-mnist", overrides("pretrain-mnist", tmp_path / "twoone.npz"), out_dir=tmp_path / "r",
                       tiny=True)


def test_a_map_of_one_class_says_its_accuracy_says_nothing(one_class, tmp_path):
    _, results = run_experiment("mnist-2d", overrides("mnist-2d", one_class / "one.npz"), out_dir=tmp_path, tiny=True)
    assert "(see the note: it says little)" in results["summary"]
    assert any("the labels hold one class (0)" in note for note in results["tables"][0]["notes"])
