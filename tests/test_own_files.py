"""A user's own .npz / .csv files (a third new-user trial): which arrays and columns are read, and
how a test part and tabular columns are scaled. Every refusal is one DataError line."""

from __future__ import annotations

import codecs
import csv
import json
import re
import unicodedata
import warnings

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import aekit
from aekit.apps.cli import main
from aekit.apps.export import export_model
from aekit.data import files, load_dataset, scale_to_unit
from aekit.data.core import unit_scaled
from aekit.data.files import load_path
from aekit.errors import DataError, NoTestSplitError

RNG = np.random.default_rng(0)
X = RNG.random((30, 5))  # floats in [0, 1): kept as they are
Y = np.arange(30) % 3


def refused(path, split="train") -> str:
    """The one-line message `load_path` refuses `path` with."""
    with pytest.raises(DataError) as err:
        load_path(path, split=split)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def npz(tmp_path, **arrays):
    path = tmp_path / "own.npz"
    np.savez(path, **arrays)
    return path


# --- 1. the one-array fallback never takes a test part or labels ----------------------------------


@pytest.mark.parametrize("arrays", [{"x_test": X, "y_test": Y}, {"x_test": X}], ids=["x_test-y_test", "x_test"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_a_test_part_without_a_training_part_is_refused(tmp_path, arrays, split):
    message = refused(npz(tmp_path, **arrays), split)
    names = ", ".join(sorted(arrays))
    assert f"holds a test part (x_test) but no training part (found: {names}); add the training " \
           "samples as x_train" in message


@pytest.mark.parametrize("name", ["y", "y_train", "y_test", "labels"])
def test_labels_alone_are_not_samples(tmp_path, name):
    assert f"holds labels but no samples (found: {name})" in refused(npz(tmp_path, **{name: Y}))


def test_one_array_of_another_name_is_still_the_training_samples(tmp_path):
    data = load_path(npz(tmp_path, arr_0=X))  # np.savez(path, x)
    assert data.y is None and np.allclose(data.x.numpy(), X)


# --- 2. with several arrays, every array is one aekit reads ------------------------------------------


@pytest.mark.parametrize(("arrays", "named"), [
    ({"x_train": X, "X_test": X}, "aekit does not read X_test"),
    ({"x_train": X, "x_val": X, "y_train": Y}, "aekit does not read x_val"),
    ({"x_train": X, "y_test": Y}, "y_test (without x_test) would not be read"),
    ({"x": X, "y_train": Y}, "y_train (without x_train) would not be read"),
    ({"data": X, "y": Y}, "y (without x or X) would not be read"),
    ({"x_train": X, "x": X}, "holds 2 training parts (x_train, x); keep one"),
], ids=["X_test", "x_val", "y_test-alone", "x-with-y_train", "data-with-y", "two-training-parts"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_near_miss_array_names_are_refused_not_ignored(tmp_path, arrays, named, split):
    message = refused(npz(tmp_path, **arrays), split)
    assert named in message and f"found: {', '.join(sorted(arrays))}" in message
    if "aekit does not read" in named:  # the allowed names are listed
        assert "x_train, y_train, x_test, y_test, or x/y, X/y or data/labels" in message


@pytest.mark.parametrize("arrays", [
    {"x_train": X, "y_train": Y, "x_test": X, "y_test": Y}, {"x": X, "y": Y}, {"X": X, "y": Y, "x_test": X},
    {"data": X, "labels": Y},
], ids=["train-test", "x-y", "X-y-x_test", "data-labels"])
def test_every_allowed_layout_loads(tmp_path, arrays):
    data = load_path(npz(tmp_path, **arrays))
    assert len(data) == 30 and data.y.tolist() == Y.tolist()


# --- 3. a test part is scaled exactly as its training part, never clipped ------------------------------


def test_a_test_part_outside_the_training_range_is_not_clipped(tmp_path):
    x_train, x_test = RNG.random((50, 6)) * 10, RNG.random((20, 6)) * 20 - 5  # [0, 10) and [-5, 15)
    path = npz(tmp_path, x_train=x_train, x_test=x_test)
    test = load_path(path, split="test")
    lo, hi = x_train.min(), x_train.max()
    np.testing.assert_allclose(test.x.numpy(), (x_test - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    assert float(test.x.min()) < 0 and float(test.x.max()) > 1
    kept = scale_to_unit(np.array([[-1.0, 0.5, 2.0]]), name="t", like=np.array([[0.0, 1.0, 0.5]]))
    assert kept.tolist() == [[-1.0, 0.5, 2.0]]  # floats in [0, 1] are kept: so are the test's


def test_a_test_part_stored_as_floats_beside_integer_training_pixels_is_refused(tmp_path):
    pixels = RNG.integers(0, 256, (20, 1, 4, 4)).astype(np.uint8)
    np.savez(tmp_path / "mixed.npz", x_train=pixels, x_test=pixels[:5] / 255.0)  # the same images, already scaled
    with pytest.raises(DataError, match=r"stored as float64 in \[0\.\d+, 1\] but the training part as uint8 in \[0, 255\].*"
                                        r"save both parts alike"):
        load_path(tmp_path / "mixed.npz", split="test")
    np.savez(tmp_path / "alike.npz", x_train=pixels, x_test=pixels[:5].astype(np.float32))  # 0-255 as floats: fine
    torch.testing.assert_close(load_path(tmp_path / "alike.npz", split="test").x, load_path(tmp_path / "alike.npz").x[:5])


def test_a_bce_model_refuses_a_test_part_outside_unit_range_naming_it(tmp_path, capsys):
    np.savez(tmp_path / "parts.npz", x_train=RNG.random((40, 6)), x_test=RNG.random((10, 6)) * 1.2 - 0.1)
    assert main(["train", "train.epochs=1", "train.progress=false", f"output.dir={tmp_path / 'runs'}",
                 f"data.name={tmp_path / 'parts.npz'}", "model.name=dense", "model.code_size=2"]) == 2
    err = capsys.readouterr().err
    assert "test data (parts): recon_loss 'bce' needs data in [0, 1] but values span [-0." in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    # scaled by the training part's range, it says so rather than asking for scaled data
    np.savez(tmp_path / "raw.npz", x_train=RNG.random((40, 6)) * 5, x_test=RNG.random((10, 6)) * 6 - 0.5)
    assert main(["train", "train.epochs=1", "train.progress=false", f"output.dir={tmp_path / 'runs'}",
                 f"data.name={tmp_path / 'raw.npz'}", "model.name=dense", "model.code_size=2"]) == 2
    err = capsys.readouterr().err
    assert "test data (raw, scaled by the training part's range): values span [-0." in err
    assert err.rstrip().endswith("recon_loss 'bce' takes [0, 1] alone; test samples beyond the training range "
                                 "(anomalies often are) need outputs beyond it: model.recon_loss=mse "
                                 "model.output_activation=linear, or model={name: auto} (the automatic model)")


# --- 4. tabular columns on very different scales are scaled column by column ---------------------------


def tabular(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 8): 3 columns around 1000, 4 standard normal columns and a constant one."""
    return np.column_stack([rng.normal(1000, 50, (n, 3)), rng.normal(0, 1, (n, 4)), np.full(n, 7.0)])


def test_columns_on_very_different_scales_are_scaled_each_by_its_own_range(tmp_path):
    rng = np.random.default_rng(1)
    x_train, x_test = tabular(200, rng), tabular(50, rng)
    path = npz(tmp_path, x_train=x_train, x_test=x_test)
    train, test = load_path(path), load_path(path, split="test")
    lo, span = x_train.min(0), np.ptp(x_train, 0)
    assert train.meta["scaling"] == test.meta["scaling"] == "per column"
    np.testing.assert_allclose(train.x.numpy()[:, :7], (x_train[:, :7] - lo[:7]) / span[:7], atol=1e-6)
    assert train.x[:, :7].amin(0).tolist() == [0.0] * 7 and train.x[:, :7].amax(0).tolist() == [1.0] * 7
    np.testing.assert_allclose(test.x.numpy()[:, :7], (x_test[:, :7] - lo[:7]) / span[:7], atol=1e-5)  # train's map
    assert not test.x[:, 7].any() and not train.x[:, 7].any()  # a constant column becomes 0


def test_one_range_stays_where_columns_are_alike(tmp_path):
    rng = np.random.default_rng(2)
    alike = rng.normal(0, 1, (100, 6)) * [1, 2, 3, 1, 2, 3]  # ranges within a factor of 3
    data = load_path(npz(tmp_path, x=alike))
    assert data.meta["scaling"] == "one range"
    np.testing.assert_allclose(data.x.numpy(), (alike - alike.min()) / np.ptp(alike), atol=1e-6)
    assert load_path(npz(tmp_path, x=X)).meta["scaling"] == "none"  # floats in [0, 1] are kept


def test_a_flattened_mnist_csv_keeps_one_range(tmp_path):
    digits = load_dataset("mnist-mini").x[:300].reshape(300, -1).numpy()  # (300, 784) in [0, 1]
    pixels = np.rint(digits * 255).astype(int)
    path = tmp_path / "mnist.csv"
    np.savetxt(path, np.column_stack([np.arange(300) % 10, pixels]), fmt="%d", delimiter=",",
               header="label," + ",".join(f"p{i}" for i in range(784)), comments="")
    data = load_path(path)  # read as float32 pixels 0..255
    assert data.meta["scaling"] == "one range"
    np.testing.assert_allclose(data.x.numpy(), pixels / 255.0, atol=1e-6)


def test_scale_choices_column_minmax_and_none(tmp_path):
    table = np.column_stack([np.linspace(0, 100, 10), np.linspace(0, 50, 10)])
    path = npz(tmp_path, x=table)
    column = load_path(path, scale="column")  # per column though the ranges are alike
    assert column.meta["scaling"] == "per column" and column.x.amax(0).tolist() == [1.0, 1.0]
    minmax = load_path(path, scale="minmax")
    assert minmax.meta["scaling"] == "one range" and minmax.x.amax(0).tolist() == [1.0, 0.5]
    assert load_path(path, scale="none").meta["scaling"] == "none"
    standard = load_path(path, scale="standard")  # each column's mean 0 and deviation 1, as StandardScaler's
    assert standard.meta["scaling"] == "standard"
    np.testing.assert_allclose(standard.x.numpy(), (table - table.mean(0)) / table.std(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match=r"scale 'z' is not allowed; choose one of: auto, global, minmax, column, "
                                        r"standard, none$"):
        load_path(path, scale="z")


@pytest.mark.parametrize("scale", ["auto", "column", "global", "minmax", "standard"])
def test_memory_mapped_arrays_are_scaled_as_a_loaded_array_is(tmp_path, monkeypatch, scale):
    path = tmp_path / "big.npy"
    np.save(path, tabular(40, np.random.default_rng(3)).astype(np.float32))
    loaded = load_path(path, scale=scale)
    monkeypatch.setattr(files, "MMAP_BYTES", 0)  # every .npy counts as large
    mapped = load_path(path, scale=scale)
    assert type(mapped.x).__name__ == "MemmapArray" and mapped.meta["scaling"] == loaded.meta["scaling"]
    for on_disk, in_memory in zip(mapped.meta["unit_map"], loaded.meta["unit_map"]):  # the map a run saves
        np.testing.assert_array_equal(on_disk, in_memory)
    assert mapped.meta["scaling"] == {"auto": "per column", "column": "per column", "standard": "standard"}.get(
        scale, "one range")
    torch.testing.assert_close(mapped.x[:], loaded.x, rtol=0, atol=0)
    torch.testing.assert_close(mapped.x.subset([3, 1]).reshape(2, 2, 4)[:], loaded.x[[3, 1]].reshape(2, 2, 4))


# --- 5. CSV label columns ----------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["label", "y", "class", "target", "Target"])
def test_each_label_column_name_holds_labels(tmp_path, column):
    path = tmp_path / "t.csv"
    path.write_text(f"a,{column},b\n0.1,1,0.2\n0.3,0,0.4\n0.5,1.0,0.6\n")
    data = load_path(path)
    assert data.sample_shape == (2,) and data.y.tolist() == [1, 0, 1] and data.meta["label_column"] == column  # as written


def test_a_run_says_which_column_its_labels_came_from(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("a,target,b\n" + "".join(f"{i / 40},{i % 2},{1 - i / 40}\n" for i in range(40)))
    assert main(["train", f"data.name={path}", "train.epochs=1", f"output.dir={tmp_path}"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "36 training samples, 4 validation, labels from column 'target' (not an input); 1 epoch" in first


def test_a_float_column_named_like_labels_says_which_column_and_what_to_do(tmp_path):
    path = tmp_path / "xyz.csv"
    path.write_text("x,y,z\n0.1,0.25,3\n0.4,0.5,1\n")
    message = refused(path)
    assert "labels must be integers, got '0.25' in column 'y'; rename the column to use it as a feature, or give " \
           "whole numbers or class names (columns named label, class, target or y are read as labels)" in message


def test_string_labels_are_classes_in_sorted_order(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text('a,b,label\n0.1,0.2,dog\n0.3,0.4,cat\n0.5,0.6,"cat"\n0.7,0.8, emu\n')
    data = load_path(path)
    assert data.classes == ["cat", "dog", "emu"] and data.y.tolist() == [1, 0, 0, 2]
    assert data.x.shape == (4, 2)
    path.write_text("a,label\n0.1,cat\n0.2,\n")
    assert "1 empty label(s) in column 'label'; fill them in" in refused(path)
    path.write_text("a,label\n0.1,cat\nx,dog\n")  # a bad feature is named, not the class names
    assert "every value must be a number (column 'a', line 3: 'x')" in refused(path)


# --- 6. a test part's NaN names the part --------------------------------------------------------------------


def test_nan_in_a_test_part_names_the_part(tmp_path):
    x_test = X.copy()
    x_test[3, 2] = np.nan
    path = npz(tmp_path, x_train=X, x_test=x_test)
    assert load_path(path).x.shape == (30, 5)  # the training part is fine
    assert refused(path, "test").startswith(f"{path} (x_test): the data contains NaN or infinite values")


# --- 7. RGBA images are read as RGB (the README says so) ----------------------------------------------------


def test_rgba_images_are_read_as_rgb(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.full((4, 4, 4), 200, dtype=np.uint8), mode="RGBA").save(folder / "a.png")
    data = load_path(folder)
    assert data.sample_shape == (3, 4, 4) and torch.allclose(data.x, torch.full_like(data.x, 200 / 255))


# --- from the review of these changes ------------------------------------------------------------------


def test_auto_scales_columns_that_differ_in_level_or_sit_beside_a_constant():
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(50, 4))
    for table in (np.c_[np.full(50, 2024.0), normal],  # a constant column sets the range, not the spread
                  np.c_[1000 + rng.normal(size=(50, 3)), normal]):  # equal spreads at different levels
        x, how, _ = unit_scaled(table.astype(np.float32), name="t")
        assert how == "per column" and x[:, 1:].std(0).min() > 0.1
    counts = np.c_[rng.integers(18, 80, 50), rng.integers(0, 5, 50), rng.integers(20_000, 90_000, 50)]  # int64:
    # age, children, income
    assert unit_scaled(counts, name="t")[1] == "per column"


def test_a_column_constant_in_training_keeps_the_test_parts_differences():
    train = np.c_[np.full(20, 7.0), np.linspace(0, 1000, 20)].astype(np.float32)
    test = np.c_[[6.0, 7.0, 8.5], [0.0, 500.0, 1000.0]].astype(np.float32)
    x, how, _ = unit_scaled(test, name="t", like=train, scale="column")
    assert how == "per column" and x[:, 0].tolist() == [-1.0, 0.0, 1.5]


def test_data_constant_in_training_keeps_the_test_parts_differences_and_an_older_runs_map_is_read_as_it_was(tmp_path,
                                                                                                         capsys):
    """A bug hunt: all-constant training data took divisor inf, every test value to 0: every error was 0.000 and
    no sample was outside the training range (for anomaly scores of a sensor constant in training: none seen)."""
    train = np.full((300, 8), 5.0, np.float32)
    test = np.random.default_rng(0).normal(5, 3, (50, 8)).astype(np.float32)
    x, _, (offset, divisor) = unit_scaled(test, name="t", like=train)
    assert (offset, divisor) == (5.0, 1.0) and np.allclose(x, test - 5)
    np.savez(tmp_path / "c.npz", x_train=train, x_test=test)
    assert main(["train", f"data.name={tmp_path / 'c.npz'}", "train.epochs=1", f"output.dir={tmp_path}",
                 "output.name=run", "--quiet"]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["squared_error_per_sample"] > 10 and "50 of 50 samples have values outside the training range" in out
    scaling = json.loads((tmp_path / "run" / "scaling.json").read_text())
    (tmp_path / "run" / "scaling.json").write_text(json.dumps({**scaling, "divisor": None}))  # an older run's
    assert load_dataset(str(tmp_path / "c.npz"), "test", like=tmp_path / "run").x.abs().max() == 0


def test_scikit_learn_s_capital_x_train_and_x_test_are_read_as_the_parts(tmp_path):
    """np.savez(f, X_train=..., X_test=..., y_train=..., y_test=...) was refused: "does not read X_test, X_train"."""
    path = npz(tmp_path, X_train=X, X_test=X[:3], y_train=Y, y_test=Y[:3])
    assert len(load_path(path)) == len(X) and load_path(path, split="test").y.tolist() == Y[:3].tolist()


def test_a_lone_array_named_like_a_test_or_validation_part_is_not_training_data(tmp_path):
    for name in ("X_test", "x_val", "test"):
        path = tmp_path / f"{name}.npz"
        np.savez(path, **{name: X})
        assert f"aekit does not read {name}" in refused(path)


def test_labels_beyond_int64_and_class_names_under_another_column_name(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,label\n0.1,1e20\n0.2,1\n")
    assert "labels must be integers, got '1e20' in column 'label'" in refused(path)
    path.write_text("a,species\n0.1,setosa\n0.2,virginica\n")
    assert "a column of class names is read as labels when named label or class or target or y" in refused(path)


def _pngs(folder, n, size=(6, 5), seed=0):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size[1], size[0])).astype(np.uint8)).save(folder / f"{i}.png")


def test_a_folder_of_train_and_test_folders_keeps_its_test_part(tmp_path):
    for part, n in (("train", 4), ("test", 2)):
        for name in ("cat", "dog"):
            _pngs(tmp_path / "pets" / part / name, n, seed=n)
    train, test = load_path(tmp_path / "pets"), load_path(tmp_path / "pets", split="test")
    assert len(train) == 8 and len(test) == 4 and train.classes == test.classes == ["cat", "dog"]
    assert test.y.tolist() == [0, 0, 1, 1]
    _pngs(tmp_path / "pets" / "test" / "bird", 1)  # a class train/ lacks (MVTec AD's defects beside "good"): after them
    with pytest.warns(UserWarning, match=r"test: class folder\(s\) bird are not among the training classes \(cat, dog\): "
                                         r"numbered after them"):
        test = load_path(tmp_path / "pets", split="test")
    assert test.classes == ["cat", "dog", "bird"] and test.y.tolist() == [2, 0, 0, 1, 1]
    assert main(["train", f"data.name={tmp_path / 'pets'}", "model.name=dense", "model.hidden=[4]", "model.code_size=2",
                 "train.epochs=1", "data.val_fraction=0", f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    with warnings.catch_warnings(record=True) as said:  # read like the run: said once (an anomaly trial: twice)
        warnings.simplefilter("always")
        load_dataset(str(tmp_path / "pets"), "test", like=tmp_path / "run")
    assert [str(w.message) for w in said if "bird" in str(w.message)] == [
        f"{tmp_path / 'pets' / 'test'}: class 'bird' is not among the training data's ('cat', 'dog'): numbered after them"]
    _pngs(tmp_path / "only" / "train" / "cat", 3)
    assert len(load_path(tmp_path / "only")) == 3
    with pytest.raises(files.NoTestSplitError):
        load_path(tmp_path / "only", split="test")
    _pngs(tmp_path / "only" / "val", 2)
    with pytest.raises(DataError, match="holds train/ beside val; give train/ and test/ alone"):
        load_path(tmp_path / "only")


def test_a_layout_for_data_that_are_not_4d_images_is_refused_not_ignored(tmp_path):
    np.save(tmp_path / "flat.npy", RNG.random((10, 12)).astype(np.float32))
    with pytest.raises(DataError, match=r"data.layout: 'nhwc' orders the axes of .* shape \(10, 12\); leave data.layout auto"):
        load_path(tmp_path / "flat.npy", layout="nhwc")
    assert load_path(tmp_path / "flat.npy", layout="auto").sample_shape == (12,)


# --- image modes: read with their real bit depth and channels; hidden files skipped --------------------------


def _one_image(folder, im, name="a.png"):
    folder.mkdir(parents=True, exist_ok=True)
    im.save(folder / name)
    return folder


def test_deep_images_are_divided_by_their_bit_depth_not_clipped(tmp_path):
    ramp = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000  # 0..63000 of 65535
    for mode, im, name in (("I;16", Image.fromarray(ramp), "a.png"),
                           ("I;16B", Image.frombytes("I;16B", (8, 8), ramp.astype(">u2").tobytes()), "a.tif"),
                           ("I", Image.fromarray(ramp.astype(np.int32)), "a.tif"),
                           ("F", Image.fromarray(ramp.astype(np.float32) / 65535), "a.tif")):
        data = load_path(_one_image(tmp_path / mode.replace(";", ""), im, name))
        assert data.sample_shape == (1, 8, 8), mode
        assert torch.allclose(data.x[0, 0], torch.from_numpy(ramp / 65535).float(), atol=1e-6), mode
    _one_image(tmp_path / "mixed", Image.fromarray(np.full((8, 8), 51, np.uint8)), "b.png")  # 8-bit beside 16-bit
    _one_image(tmp_path / "mixed", Image.fromarray(ramp))
    assert load_path(tmp_path / "mixed").x[:, 0, 0, 1].tolist() == pytest.approx([1000 / 65535, 0.2])
    too_big = _one_image(tmp_path / "big", Image.fromarray(np.full((4, 4), 70_000, np.int32)), "a.tif")
    assert "integer image (mode I) with values in [70000, 70000]; aekit reads" in refused(too_big)
    floats = _one_image(tmp_path / "float", Image.fromarray(np.full((4, 4), 3.5, np.float32)), "a.tif")
    assert "a float image (mode F) with values in [3.5, 3.5]; aekit reads float images in [0, 1]" in refused(floats)


def test_palette_and_grey_alpha_images_keep_their_colours_and_drop_alpha(tmp_path):
    red = Image.fromarray(np.full((4, 4, 3), [255, 0, 0], np.uint8)).convert("P")
    data = load_path(_one_image(tmp_path / "palette", red))
    assert data.sample_shape == (3, 4, 4) and data.x[0, :, 0, 0].tolist() == [1.0, 0.0, 0.0]
    red_alpha = Image.fromarray(np.full((4, 4, 4), [255, 0, 0, 9], np.uint8), "RGBA").convert("PA")  # no PA file format
    assert files._pixels(red_alpha, tmp_path).tolist() == np.full((4, 4, 3), [1.0, 0, 0]).tolist()
    grey = Image.fromarray(np.full((4, 4), 102, np.uint8)).convert("P")  # a palette of greys stays grey
    assert load_path(_one_image(tmp_path / "grey", grey)).sample_shape == (1, 4, 4)
    _one_image(tmp_path / "palette", grey, "b.png")  # beside a colour image: grey as RGB, colour kept
    assert np.allclose(load_path(tmp_path / "palette").x[:, :, 0, 0], [[1, 0, 0], [0.4, 0.4, 0.4]])
    grey_alpha = Image.fromarray(np.dstack([np.full((4, 4), 51, np.uint8), np.zeros((4, 4), np.uint8)]), "LA")
    data = load_path(_one_image(tmp_path / "la", grey_alpha))
    assert data.sample_shape == (1, 4, 4) and np.allclose(data.x, 0.2)


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "class-folders"])
def test_hidden_files_beside_images_are_skipped(tmp_path, nested):
    folder = tmp_path / "imgs" / ("cat" if nested else "")
    _one_image(folder, Image.fromarray(np.full((4, 4), 51, np.uint8)))
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07AppleDouble")  # macOS resource fork, not a PNG
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    assert len(load_path(tmp_path / "imgs")) == 1


def test_text_files_are_refused_pointing_at_text_corpus(tmp_path):
    hint = "text corpora go through aekit.data.text.text_corpus (Python)"
    for name in ("docs.tsv", "docs.jsonl", "docs.txt"):
        (tmp_path / name).write_text("a text\n")
        table = ": a table: save it as a .csv, separated by commas " if name.endswith(".tsv") else " "  # or texts
        assert refused(tmp_path / name).endswith(f"use a {files.KINDS}{table}({hint}, or a folder of .txt files)")
    (tmp_path / "docs.csv").write_text("text,label\nData the cup time many,1\n")
    assert refused(tmp_path / "docs.csv").endswith(hint)
    (tmp_path / "mixed").mkdir()  # texts beside images: neither a corpus nor an image set
    (tmp_path / "mixed" / "1.txt").write_text("a text")
    (tmp_path / "mixed" / "pictures").mkdir()
    (tmp_path / "mixed" / "pictures" / "a.bmp").write_bytes(b"not an image")
    assert "a.bmp is not a readable image" in refused(tmp_path / "mixed")
    (tmp_path / "cifar" / "cifar-10-batches-bin").mkdir(parents=True)
    assert "CIFAR-10 batches are read by name: keep them in a folder cifar-10-batches-py/" in refused(tmp_path / "cifar")


def test_every_unreadable_image_is_named_at_once_and_an_empty_file_is_said_empty(tmp_path):
    """An image trial: a copy cut short left three broken files, found one run at a time, and a file of 0 bytes was
    "cannot identify image file"."""
    _pngs(tmp_path / "imgs" / "cat", 4)
    _pngs(tmp_path / "imgs" / "cup", 4, seed=1)
    whole = (tmp_path / "imgs" / "cat" / "0.png").read_bytes()
    (tmp_path / "imgs" / "cat" / "zz_cut.png").write_bytes(whole[: len(whole) // 2])  # its header reads, its pixels not
    (tmp_path / "imgs" / "cat" / "zz_empty.png").write_bytes(b"")
    (tmp_path / "imgs" / "cup" / "yy_noise.jpg").write_bytes(RNG.integers(0, 256, 300, dtype=np.uint8).tobytes())
    message = refused(tmp_path / "imgs")
    assert message == (f"{tmp_path / 'imgs'}: 3 files are not readable images (cat/zz_cut.png is not a readable image "
                       "(image file is truncated); cat/zz_empty.png is not a readable image (empty: 0 bytes); "
                       "cup/yy_noise.jpg is not a readable image (cannot identify image file)); remove or replace them")
    (tmp_path / "imgs" / "cat" / "zz_empty.png").unlink()
    (tmp_path / "imgs" / "cup" / "yy_noise.jpg").unlink()
    assert refused(tmp_path / "imgs").startswith(f"{tmp_path / 'imgs' / 'cat' / 'zz_cut.png'} is not a readable image")
    odd = tmp_path / "it's"  # (a review: PIL's message names such a path in double quotes: it was repeated)
    _pngs(odd, 2)
    (odd / "noise.png").write_bytes(b"not a picture")
    assert refused(odd) == f"{odd / 'noise.png'} is not a readable image (cannot identify image file)"
    _pngs(tmp_path / "more", 2)
    (tmp_path / "more" / "cut.png").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "more" / "cut2.png").write_bytes(whole[: len(whole) // 2])
    assert refused(tmp_path / "more").startswith(f"{tmp_path / 'more'}: 2 files are not readable images (cut.png is")


def write_idx_family(folder, prefix="", raw=False, test=True):
    """MNIST-format files (uint8 images 0..255, labels) under `folder`, named as MNIST's are (`prefix` as EMNIST's)."""
    from aekit.data.idx import write_idx

    folder.mkdir(exist_ok=True)
    end = "" if raw else ".gz"
    images = RNG.integers(0, 200, size=(40, 5, 4), dtype=np.uint8)  # 200 at most: /255, never by their own range
    parts = {"train": (images, np.arange(40, dtype=np.uint8) % 4)}
    if test:
        parts[prefix and "test" or "t10k"] = (images[:6] + 50, np.arange(6, dtype=np.uint8) % 4)
    for part, (x, y) in parts.items():
        write_idx(folder / f"{prefix}{part}-images-idx3-ubyte{end}", x)
        write_idx(folder / f"{prefix}{part}-labels-idx1-ubyte{end}", y)
    return images


@pytest.mark.parametrize("prefix, raw", [("", False), ("", True), ("emnist-letters-", False)])
def test_idx_files_and_their_folder_load_with_labels_and_test_part(tmp_path, prefix, raw):
    images = write_idx_family(tmp_path / "set", prefix, raw)
    file = tmp_path / "set" / f"{prefix}train-images-idx3-ubyte{'' if raw else '.gz'}"
    for given in (file, tmp_path / "set"):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            train, test = load_path(given, split="train"), load_path(given, split="test")
        # EMNIST's images are stored transposed: said (a public-data trial drew them so, unsaid)
        assert any("EMNIST's files hold each image transposed" in str(w.message) for w in said) == bool(prefix)
        assert train.x.shape == (40, 1, 5, 4) and test.x.shape == (6, 1, 5, 4)
        assert torch.allclose(train.x, torch.from_numpy(images[:, None] / np.float32(255)))  # as MNIST is read
        assert torch.allclose(test.x, torch.from_numpy((images[:6, None] + 50) / np.float32(255)))
        assert train.y.tolist() == [i % 4 for i in range(40)] and test.y.tolist() == [i % 4 for i in range(6)]


def test_idx_without_test_part_or_with_several_sets_is_refused_in_one_line(tmp_path):
    from aekit.errors import NoTestSplitError

    write_idx_family(tmp_path / "one", test=False)
    with pytest.raises(NoTestSplitError, match="no test part beside it"):
        load_path(tmp_path / "one", split="test")
    assert load_path(tmp_path / "one").y is not None
    write_idx_family(tmp_path / "two", "emnist-digits-")
    write_idx_family(tmp_path / "two", "emnist-letters-")
    assert "several sets of IDX images" in refused(tmp_path / "two")
    assert "IDX file" in refused(tmp_path / "x.mat")  # the kinds a path may be say so
    write_idx_family(tmp_path / "kaggle")  # Kaggle's copy: each file also in a folder of its name
    (tmp_path / "kaggle" / "train-images-idx3-ubyte" / "train-images-idx3-ubyte").mkdir(parents=True)
    assert load_path(tmp_path / "kaggle").y is not None  # not "several sets", counting the folder


def test_cli_trains_on_a_folder_of_idx_files(tmp_path, capsys):
    write_idx_family(tmp_path / "set")
    config = tmp_path / "c.yaml"
    config.write_text(f"model: {{name: dense, hidden: [8], code_size: 2}}\ndata: {{name: {tmp_path / 'set'}}}\n"
                      f"train: {{epochs: 1, batch_size: 4, progress: false}}\noutput: {{dir: {tmp_path}, name: r}}\n")
    assert main(["train", str(config), "--quiet"]) == 0
    assert "test set, 6 samples" in capsys.readouterr().out  # the t10k files were its test part


def test_csv_missing_values_and_bools_as_pandas_writes_them_are_named(tmp_path):
    (tmp_path / "gap.csv").write_text("a,b\n1,2\n3,\n")
    assert "line 3 has an empty field, a missing value as pandas writes NaN" in refused(tmp_path / "gap.csv")
    (tmp_path / "bool.csv").write_text("a,b\n1,True\n3,False\n")
    assert "line 2 holds 'True', a bool column; write it as 1 and 0" in refused(tmp_path / "bool.csv")
    (tmp_path / "blank.csv").write_text("\na,b,c,\n1,,3,\n")  # a blank first line; a gap that is no trailing comma
    assert "line 3 has an empty field, a missing value" in refused(tmp_path / "blank.csv")
    (tmp_path / "trailing.csv").write_text("a,b,\n1,2,\n3,4,\n")
    assert "line 2 ends in a comma, an empty last value; remove the trailing commas" in refused(tmp_path / "trailing.csv")


def test_csv_nan_inf_and_values_beyond_float32_are_named_by_column_and_line(tmp_path):
    """A trial: a 'nan' in a CSV was refused by 0-based sample and feature numbers, where an empty field
    had its column and line; comment and blank lines count as the file's lines."""
    (tmp_path / "nan.csv").write_text("a,b,label\n1,2,0\n# a comment\n\n3,NaN,1\n")
    assert refused(tmp_path / "nan.csv").endswith("nan.csv: column 'b', line 5: 'NaN' is NaN or infinite; clean or "
                                                  "impute the missing values first (pandas: df.dropna() or df.fillna(...))")
    (tmp_path / "huge.csv").write_text("1,2\n3,-1e39\n")  # no header: the column by number
    assert refused(tmp_path / "huge.csv").endswith("huge.csv: column 2, line 2: '-1e39' is beyond float32's range "
                                                   "(+-3.4e38), which a CSV is read in; rescale the column")


def test_a_latin1_csv_is_read_as_latin1_with_a_note_and_utf16_is_refused_by_name(tmp_path):
    """A left item of a data trial: a European Excel's "CSV" (cp1252) was refused as "not a readable text CSV",
    where text folders fall back to latin-1 with a note; a byte past the header refused it too."""
    (tmp_path / "eu.csv").write_bytes("température,prix €,label\n1,2,chat\n3,4,chièn\n".encode("cp1252"))
    with pytest.warns(UserWarning, match=r"eu.csv is not UTF-8; read as cp1252 \(Windows' Western European, as Excel"):
        data = load_path(tmp_path / "eu.csv")
    assert data.meta["columns"] == ["température", "prix €"] and data.classes == ["chat", "chièn"]
    (tmp_path / "l1.csv").write_bytes(b"a,b\n1,2\n" + "# \x81 ü\n".encode("latin-1"))  # 0x81: no cp1252 character
    with pytest.warns(UserWarning, match=r"l1.csv is not UTF-8; read as latin-1$"):
        load_path(tmp_path / "l1.csv")
    (tmp_path / "bom.csv").write_bytes(codecs.BOM_UTF8 + "label,café\n0,1\n".encode("cp1252"))  # a review: the mark
    assert refused(tmp_path / "bom.csv").endswith("bom.csv starts as UTF-8 (a byte-order mark) but holds bytes that "
                                                  "are not UTF-8; save it again as UTF-8")  # became the label's name
    (tmp_path / "u16.csv").write_text("a,b\n1,2\n", encoding="utf-16")  # Excel's "Unicode Text"
    assert refused(tmp_path / "u16.csv").endswith("u16.csv is not a readable text CSV file: it holds NUL bytes "
                                                  "(UTF-16 or UTF-32 text: save it as UTF-8)")


def test_excels_byte_order_mark_two_label_columns_and_another_separator(tmp_path):
    (tmp_path / "excel.csv").write_text("target,a,b\n0,1,2\n1,3,5\n", encoding="utf-8-sig")  # Excel's "CSV UTF-8"
    data = load_path(tmp_path / "excel.csv")
    assert data.sample_shape == (2,) and data.y.tolist() == [0, 1] and data.meta["columns"] == ["a", "b"]
    (tmp_path / "two.csv").write_text("label,a,target\n0,1,2\n1,3,5\n")  # one would be read as a feature
    assert "columns 'label', 'target' each name labels; keep one" in refused(tmp_path / "two.csv")
    (tmp_path / "xy.csv").write_text("x,y,class\n0.5,1,cat\n1,3,dog\n")  # y beside a named one: a coordinate
    data = load_path(tmp_path / "xy.csv")
    assert data.classes == ["cat", "dog"] and data.meta["columns"] == ["x", "y"]
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object))  # numpy's message advised unpickling
    assert "objects.npz holds Python objects (dtype object), which aekit " \
        "does not unpickle; save arrays of numbers (x.astype(np.float32); " in refused(tmp_path / "objects.npz")
    ragged = np.empty(2, dtype=object)  # series of unequal lengths (a trial: astype, as advised, fails on them)
    ragged[:] = [np.zeros(3), np.zeros(5)]
    np.savez(tmp_path / "ragged.npz", x_train=ragged)
    assert refused(tmp_path / "ragged.npz").endswith("rows kept as objects: np.stack(x).astype(np.float32), or, "
                                                     "where their lengths differ (series), cut, pad or resample them "
                                                     "to one length first)")
    rows = np.empty(2, dtype=object)  # (a review: equal rows kept as objects, which astype fails on too)
    rows[:] = [np.zeros(3), np.ones(3)]
    assert np.stack(rows).astype(np.float32).shape == (2, 3)  # as the message says
    (tmp_path / "labels.csv").write_text("label\n0\n1\n")
    assert "no feature columns beside the labels' ('label')" in refused(tmp_path / "labels.csv")
    (tmp_path / "semi.csv").write_text("a;b\n0;1\n1;3\n")
    assert "values are separated by ';', and a CSV file here separates them by commas" in refused(tmp_path / "semi.csv")


# --- 6. a run trained on a data file takes new samples as the file stores them ------------------------------


@pytest.fixture
def table_run(tmp_path):
    """A run trained on a table whose columns differ ~1000x in scale, and new rows stored alike."""
    rng = np.random.default_rng(4)
    train, new = tabular(300, rng), tabular(9, rng)
    np.savetxt(tmp_path / "train.csv", train, delimiter=",", header=",".join(f"c{i}" for i in range(8)), comments="")
    np.savetxt(tmp_path / "new.csv", new, delimiter=",", header=",".join(f"c{i}" for i in range(8)), comments="")
    data = load_dataset(str(tmp_path / "train.csv"))
    model = aekit.create_model("dense", input_shape=(8,), hidden=[16], code_size=3, recon_loss="mse",
                               output_activation="linear")  # takes new rows outside the training ranges too
    aekit.fit(model, data, epochs=2, batch_size=32, run_dir=tmp_path / "run", progress=False)
    return tmp_path, train.astype(np.float32), new.astype(np.float32), model


def test_new_rows_are_scaled_by_the_runs_ranges_not_their_own(table_run):
    tmp_path, train, new, _ = table_run
    lo, span = train.min(0), np.ptp(train, 0)
    span[7] = 1.0  # the constant column is only shifted
    like = load_dataset(str(tmp_path / "new.csv"), like=tmp_path / "run")
    np.testing.assert_allclose(like.x.numpy(), (new - lo) / span, rtol=1e-5, atol=1e-6)
    own = load_dataset(str(tmp_path / "new.csv"))  # 9 rows by their own ranges: other inputs for the same values
    assert not np.allclose(own.x.numpy(), like.x.numpy(), atol=1e-3)
    with pytest.raises(aekit.ConfigError, match="like: applies to a file of your own; digits comes in"):
        load_dataset("digits", like=tmp_path / "run")
    with pytest.raises(DataError, match=f"like: {tmp_path} holds no scaling.json: give the folder of a run"):
        load_dataset(str(tmp_path / "new.csv"), like=tmp_path)
    with pytest.raises(aekit.ConfigError, match="like and scale='column': give one"):
        load_dataset(str(tmp_path / "new.csv"), like=tmp_path / "run", scale="column")
    np.savetxt(tmp_path / "narrow.csv", new[:, :5], delimiter=",")  # no header: no names to match by
    with pytest.raises(DataError, match=r"samples of shape \[5\], but the run was trained on samples of shape \[8\]"):
        load_dataset(str(tmp_path / "narrow.csv"), like=tmp_path / "run")


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")  # (a DeprecationWarning in torch 2.13, a FutureWarning from 2.14)
def test_raw_export_takes_and_gives_rows_as_stored(table_run, capsys):
    tmp_path, train, new, model = table_run
    like = load_dataset(str(tmp_path / "new.csv"), like=tmp_path / "run").x
    lo, span = (torch.from_numpy(v) for v in (train.min(0), np.ptp(train, 0)))
    span[7] = 1.0
    with torch.no_grad():
        held, k = "as the run's data file stores them", model.config.code_size
        for part, given, expected, ends in (
                ("encoder", new, model.encode(like), f"x (batch, 8) -> z (batch, {k}) (samples in, {held}; codes out"),
                ("full", new, model(like).x_hat * span + lo, f"x (batch, 8) -> x_hat (batch, 8) (samples in and out {held}"),
                ("decoder", model.encode(like).numpy(), model(like).x_hat * span + lo,
                 f"z (batch, {k}) -> x_hat (batch, 8) (codes in; samples out, {held}")):
            assert main(["export", str(tmp_path / "run"), "--format", "torchscript", "--part", part, "--raw"]) == 0
            assert capsys.readouterr().out.strip().endswith(f"{part}-raw.pt: {ends})")  # (an encoder gives codes)
            exported = torch.jit.load(str(tmp_path / "run" / f"{part}-raw.pt"))
            torch.testing.assert_close(exported(torch.from_numpy(given)), expected, rtol=1e-4, atol=1e-3)
    assert main(["export", str(tmp_path / "run"), "--format", "torchscript"]) == 0  # in [0, 1], as trained: says so
    assert "(takes samples in [0, 1], scaled as in training; --raw: as the data file stores them)" in \
        capsys.readouterr().out
    assert main(["export", str(tmp_path / "run"), "--format", "torchscript", "--part", "decoder"]) == 0  # (a bug hunt:
    assert "(gives samples in [0, 1], scaled as in training" in capsys.readouterr().out  # a decoder's took samples)
    (tmp_path / "run" / "model.safetensors").rename(tmp_path / "model.safetensors")  # its checkpoint's weights: the
    try:  # note once (a bug hunt: twice, the folder loaded again for the line)
        assert main(["export", str(tmp_path / "run"), "--format", "torchscript", "--part", "decoder"]) == 0
        assert capsys.readouterr().err.count("holds no model.safetensors") == 1
    finally:
        (tmp_path / "model.safetensors").rename(tmp_path / "run" / "model.safetensors")


def test_raw_export_of_a_run_without_a_data_file_is_refused(tmp_path, capsys):
    aekit.fit(aekit.create_model("dense", input_shape=(1, 8, 8), hidden=[8], code_size=2),
              load_dataset("digits").x[:64], epochs=1, run_dir=tmp_path / "run", progress=False)
    assert main(["export", str(tmp_path / "run"), "--raw", "--format", "torchscript"]) == 2
    assert "export: --raw: " in capsys.readouterr().err and not list((tmp_path / "run").glob("*.pt"))


def test_evaluate_on_new_rows_scales_them_as_the_run_and_writes_nothing(table_run, capsys):
    tmp_path = table_run[0]
    run = tmp_path / "run"
    before = sorted(p.name for p in run.iterdir())
    assert main(["evaluate", str(run), "--data", str(tmp_path / "new.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'new.csv'}, 9 samples (too few for these figures to say much)\n  inputs: each column scaled to [0, 1] by its training "
                          "range") and "squared error per sample (autoencoder)" in out
    assert sorted(p.name for p in run.iterdir()) == before
    # a run from before scaling.json: resume writes it; until then its training file's map is read again
    (run / "scaling.json").unlink()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "new.csv"), "--quiet"]) == 0
    assert capsys.readouterr().out == out
    assert main(["resume", str(run), "--epochs", "3", "--quiet"]) == 0 and (run / "scaling.json").is_file()
    capsys.readouterr()
    (tmp_path / "train.csv").rename(tmp_path / "moved.csv")  # the run folder alone scores new rows, by its map
    assert main(["evaluate", str(run), "--data", str(tmp_path / "new.csv"), "--scores", str(tmp_path / "s.csv")]) == 0
    out, err = capsys.readouterr()
    assert "the run's training data cannot be read" in err and "without PCA's baseline" in err
    assert "squared error per sample (autoencoder)" in out and "no PCA comparison: the run's training data could" in out
    assert np.genfromtxt(tmp_path / "s.csv", delimiter=",", names=True).dtype.names == ("row", "squared_error")
    assert "(each sample's squared error in the model's units (each column scaled to [0, 1], scaling.json)" in out
    odd = np.genfromtxt(tmp_path / "new.csv", delimiter=",", names=True)
    odd["c0"][4] = 5000.0  # far beyond column c0's range: [0, 1] after the map, checked without the training file
    np.savetxt(tmp_path / "odd.csv", odd.tolist(), delimiter=",", header=",".join(odd.dtype.names), comments="")
    assert main(["evaluate", str(run), "--data", str(tmp_path / "odd.csv"), "--quiet"]) == 0
    assert "note: 1 of 9 samples have values outside the training range (most in 'c0')" in capsys.readouterr().out
    (run / "scaling.json").unlink()  # and without the map, nothing says how to read them
    assert main(["evaluate", str(run), "--data", str(tmp_path / "new.csv")]) == 2
    assert "--data: the run's training data, which says how to read new samples, cannot be read" in capsys.readouterr().err


def test_evaluate_on_an_npz_takes_its_test_part(tmp_path, capsys):
    rng = np.random.default_rng(5)
    np.savez(tmp_path / "pair.npz", x_train=tabular(100, rng), x_test=tabular(20, rng))
    assert main(["train", f"data.name={tmp_path / 'pair.npz'}", "train.epochs=1", f"output.dir={tmp_path}",
                 "output.name=r", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / "pair.npz"), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'pair.npz'} (its test part), 20 samples")
    np.savez(tmp_path / "new.npz", x_test=tabular(7, rng))  # new samples alone: the run's map scales them
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / "new.npz"), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'new.npz'} (its test part), 7 samples")


def test_a_scaling_file_is_checked_and_never_left_from_an_earlier_run(table_run):
    tmp_path = table_run[0]
    saved = tmp_path / "run" / "scaling.json"
    good = saved.read_text()
    for damaged in ('{"offset": null, "divisor": null}', '{"offset": [0, 1], "divisor": [1]}',
                    '{"offset": 0, "divisor": 0}', "{"):
        saved.write_text(damaged)
        with pytest.raises(DataError, match="scaling.json is damaged"):
            load_dataset(str(tmp_path / "new.csv"), like=tmp_path / "run")
    saved.write_text(good)
    with pytest.raises(DataError, match="like: nowhere does not exist"):
        load_dataset(str(tmp_path / "new.csv"), like="nowhere")
    for left in (tmp_path / "run").iterdir():  # a run killed before its first checkpoint left these two alone ...
        if left.name not in ("config.yaml", "scaling.json"):
            left.unlink()
    model = aekit.create_model("dense", input_shape=(8,), hidden=[4], code_size=2)
    aekit.fit(model, torch.rand(64, 8), epochs=1, run_dir=tmp_path / "run", progress=False)  # ... trained over
    assert not saved.exists()


def test_a_run_on_a_file_without_its_scaling_file_says_its_data_are_read_by_their_ranges_now(table_run, capsys):
    """A compatibility trial: a run of an aekit that saved no scaling.json was evaluated by the file's ranges as they
    are now (a row changed since: other figures), without a word."""
    tmp_path = table_run[0]
    (tmp_path / "run" / "scaling.json").unlink()
    assert main(["evaluate", str(tmp_path / "run"), "--quiet"]) == 0
    assert f"{tmp_path / 'run'} holds no scaling.json, which records how a data file's values became its inputs (a run " \
           f"trained on arrays, or by an older aekit, has none): {tmp_path / 'train.csv'} is read as it is now, as the " \
           "run's inputs were only if it has not changed since" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")  # (a DeprecationWarning in torch 2.13, a FutureWarning from 2.14)
def test_raw_export_takes_images_as_the_file_stores_them(tmp_path, capsys):
    pixels = (load_dataset("digits").x[:200, 0].numpy() * 16).round().astype(np.uint8)  # (200, 8, 8): 0..16
    rgb = np.repeat(pixels[..., None], 3, axis=3)  # (200, 8, 8, 3), channel-last as Keras stores it
    for name, stored in (("grey.npy", pixels), ("rgb.npy", rgb)):
        np.save(tmp_path / name, stored)
        run = tmp_path / name.removesuffix(".npy")
        assert main(["train", f"data.name={tmp_path / name}", "model.name=dense", "train.epochs=1",
                     f"output.dir={tmp_path}", f"output.name={run.name}", "--quiet"]) == 0
        capsys.readouterr()
        assert main(["export", str(run), "--raw", "--part", "full", "--format", "torchscript"]) == 0
        shape = ", ".join(map(str, stored.shape[1:]))  # the file's layout, which the line names (a trial: (N, 1, T) signals took (N, 1, 1, T))
        assert f"full-raw.pt: x (batch, {shape}) -> x_hat (batch, {shape}) (" in capsys.readouterr().out
        model, data = aekit.load_model(run), load_dataset(str(tmp_path / name))
        exported = torch.jit.load(str(run / "full-raw.pt"))
        with torch.no_grad():
            out = exported(torch.from_numpy(stored[:5]).float())
            offset, divisor = data.meta["unit_map"]
            assert (offset, divisor) == (0.0, 255.0)  # uint8 pixels: / 255
            expected = model(data.x[:5]).x_hat * divisor
        assert out.shape == stored[:5].shape
        torch.testing.assert_close(out, expected.permute(0, 2, 3, 1) if stored.ndim == 4 else expected[:, 0])
    capsys.readouterr()


def test_a_layout_for_an_image_folder_is_refused_not_ignored(tmp_path):
    _pngs(tmp_path / "set" / "cats", 3)
    with pytest.raises(aekit.ConfigError, match=r"data.layout: 'nhwc' applies to arrays .* holds image files"):
        load_path(tmp_path / "set", layout="nhwc")


def _texts(folder, topics, n, seed):
    words = {"sport": "goal match striker cup final team win league".split(),
             "business": "bank shares profit market rise fall trade stock".split()}
    rng = np.random.default_rng(seed)
    for topic in topics:
        (folder / topic).mkdir(parents=True)
        for i in range(n):
            (folder / topic / f"{i}.txt").write_text(" ".join(rng.choice(words[topic], 10)))


def test_a_folder_of_texts_trains_and_evaluates_from_the_command_line(tmp_path, capsys):
    _texts(tmp_path / "news" / "train", ["sport", "business"], 20, 0)
    _texts(tmp_path / "news" / "test", ["business"], 4, 1)  # one of the two topics: numbered as in train/
    train, test = (load_dataset(str(tmp_path / "news"), split) for split in ("train", "test"))
    assert train.classes == ["business", "sport"] and test.classes == train.classes and test.y.tolist() == [0] * 4
    assert test.sample_shape == train.sample_shape == (16,) and float(train.x.max()) <= 1  # train/'s vocabulary
    assert main(["train", f"data.name={tmp_path / 'news'}", "model.code_size=2", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    assert "test set, 4 samples" in capsys.readouterr().out
    assert main(["train", f"data.name={tmp_path / 'news'}", "model.code_size=2", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=said"]) == 0  # the first line says what the vectors are
    assert "40 training samples" not in (out := capsys.readouterr().out) and (
        "36 training samples, 4 validation, 4 test, TF-IDF of a vocabulary of 16 words, labels from its 2 class folders;" in out)
    assert main(["evaluate", str(tmp_path / "run"), "--quiet"]) == 0  # the folder read again, alike
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    saved = json.loads((tmp_path / "run" / "scaling.json").read_text())
    assert len(saved["vocabulary"]) == len(saved["idf"]) == 16 and saved["classes"] == ["business", "sport"]
    for i in range(5):  # texts of new words added since: the run still reads its vocabulary, not a new one
        (tmp_path / "news" / "train" / "sport" / f"new{i}.txt").write_text("tennis racket serve volley ace " * 3)
    assert main(["evaluate", str(tmp_path / "run"), "--quiet"]) == 0
    again = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert again["squared_error_per_sample"] == metrics["squared_error_per_sample"] and load_dataset(str(tmp_path / "news"), like=tmp_path / "run").x.shape == (45, 16)
    assert load_dataset(str(tmp_path / "news")).sample_shape != (16,)  # read afresh: another vocabulary
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n3,5\n")
    aekit.fit(aekit.create_model("dense", input_shape=(2,), hidden=[2], code_size=1), load_dataset(
        str(tmp_path / "rows.csv")), epochs=1, run_dir=tmp_path / "table", progress=False)
    with pytest.raises(DataError, match=r"news holds texts, but the run was trained on samples of shape \[2\] from a "
                                        r"data file; give samples stored as its training data were"):
        load_dataset(str(tmp_path / "news"), like=tmp_path / "table")
    with pytest.raises(DataError, match=r"the run was trained on texts; give a folder of .txt files"):
        load_dataset(str(tmp_path / "rows.csv"), like=tmp_path / "run")
    with pytest.raises(aekit.ConfigError, match=r"export: --raw: .* was trained on texts"):
        export_model(tmp_path / "run", tmp_path / "m.pt", format="torchscript", raw=True)
    _texts(tmp_path / "more", ["sport"], 3, 2)  # new texts: in the run's vocabulary, not their own
    assert main(["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "more"), "--quiet"]) == 0
    assert "more, 3 samples" in capsys.readouterr().out
    with pytest.raises(aekit.ConfigError, match=r"holds texts, read as TF-IDF .* data.scale, data.layout and data.image_size apply"):
        load_dataset(str(tmp_path / "news"), scale="column")
    _texts(tmp_path / "loose", ["sport", "business"], 2, 4)
    (tmp_path / "loose" / "stray.txt").write_text("a goal")
    assert "holds texts (stray.txt) beside class folders; move them into a class folder" in refused(tmp_path / "loose")
    _texts(tmp_path / "classes", ["sport"], 2, 5)
    (tmp_path / "classes" / "train").mkdir()  # a class named train beside another: not a train/ part
    (tmp_path / "classes" / "train" / "0.txt").write_text("cup final")
    assert load_dataset(str(tmp_path / "classes")).classes == ["sport", "train"]
    (tmp_path / "classes" / "sport" / ".ipynb_checkpoints").mkdir()  # hidden folders are skipped, as for images
    (tmp_path / "classes" / "sport" / ".ipynb_checkpoints" / "0-checkpoint.txt").write_text("cup final")
    assert len(load_dataset(str(tmp_path / "classes"))) == 3
    _texts(tmp_path / "odd" / "train", ["sport"], 3, 3)
    _texts(tmp_path / "odd" / "test", ["business"], 3, 3)
    with pytest.warns(UserWarning, match=r"class folder\(s\) business are not among the training classes \(sport\)"):
        assert load_dataset(str(tmp_path / "odd"), "test").classes == ["sport", "business"]


def test_images_beside_class_folders_are_refused_not_left_out(tmp_path):
    _pngs(tmp_path / "set" / "cats", 3)
    _pngs(tmp_path / "set" / "dogs", 3)
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(tmp_path / "set" / "stray.png")
    assert "holds images (stray.png) beside class folders; move them into a class folder" in refused(tmp_path / "set")


def test_new_rows_number_class_names_as_the_run_and_a_training_file_serves_as_like(tmp_path):
    rng = np.random.default_rng(1)
    rows = [f"{v[0]:.3f},{v[1]:.3f},{name}" for v, name in zip(rng.random((40, 2)) * [1, 900], "abc" * 14)]
    (tmp_path / "train.csv").write_text("f0,f1,class\n" + "\n".join(rows[:40]) + "\n")
    (tmp_path / "test.csv").write_text("f0,f1,class\n0.5,450,c\n0.25,100,zebra\n0.5,450,c\n")
    train = load_dataset(str(tmp_path / "train.csv"))
    aekit.fit(aekit.create_model("dense", input_shape=(2,), hidden=[4], code_size=1), train, epochs=1,
              run_dir=tmp_path / "run", progress=False)
    for like in (tmp_path / "run", train):  # a run folder, or the training file as loaded: the same map
        test = load_dataset(str(tmp_path / "test.csv"), like=like)
        assert test.classes == ["a", "b", "c", "zebra"] and test.y.tolist() == [2, 3, 2]  # "c" is the run's 2, not 0
        lo, span = train.meta["unit_map"]
        np.testing.assert_allclose(test.x[0].numpy(), (np.array([0.5, 450]) - lo) / span, rtol=1e-5)
    with pytest.raises(aekit.ConfigError, match="like: digits was not loaded from a data file of your own"):
        load_dataset(str(tmp_path / "test.csv"), like=load_dataset("digits"))


def test_samples_of_another_shape_are_refused_by_an_image_runs_map(tmp_path):
    np.save(tmp_path / "images.npy", (np.random.default_rng(0).random((20, 6, 6, 3)) * 255).astype(np.uint8))
    data = load_dataset(str(tmp_path / "images.npy"))
    aekit.fit(aekit.create_model("dense", input_shape=data.sample_shape, hidden=[4], code_size=2), data, epochs=1,
              run_dir=tmp_path / "run", progress=False)
    np.savetxt(tmp_path / "rows.csv", np.ones((3, 108)) * 9, delimiter=",")  # 108 values: 6 x 6 x 3, but a table
    with pytest.raises(DataError, match=r"samples of shape \[108\], but the run was trained on samples of shape "
                                        r"\[3, 6, 6\]"):
        load_dataset(str(tmp_path / "rows.csv"), like=tmp_path / "run")
    aekit.fit(aekit.create_model("dense", input_shape=(108,), hidden=[4], code_size=2), data.flat(), epochs=1,
              run_dir=tmp_path / "flat", progress=False)  # trained flat: the file's images are the same samples
    again = load_dataset(str(tmp_path / "images.npy"), like=tmp_path / "flat")
    torch.testing.assert_close(again.x, data.x) and torch.testing.assert_close(
        load_dataset(str(tmp_path / "images.npy"), like=data.flat()).x, data.x)


def test_a_run_reads_its_data_file_again_by_its_saved_map_not_the_files_new_ranges(table_run):
    from aekit.apps.run import read_run, read_split

    tmp_path, train, new, _ = table_run
    cfg = read_run(tmp_path / "run")
    before = read_split(cfg, "train", run=tmp_path / "run").x
    np.savetxt(tmp_path / "train.csv", np.vstack([train, new * 3]), delimiter=",",
               header=",".join(f"c{i}" for i in range(8)), comments="")  # rows appended since, of wider ranges
    with pytest.warns(UserWarning, match=r"train.csv holds 309 training samples, 300 when .*run trained on them: they "
                                         r"are read by the run's saved map \(scaling.json\), and the run's splits are "
                                         r"drawn from the first 300, the rows it trained on where rows were only "
                                         r"appended since"):
        after = read_split(cfg, "train", run=tmp_path / "run").x
    torch.testing.assert_close(after, before, rtol=0, atol=0)  # the model's inputs as when it trained, and no others
    assert not torch.allclose(read_split(cfg, "train").x[:300], before)  # by the file's own ranges: other inputs


def test_new_rows_beyond_a_column_constant_in_training_are_noted(tmp_path, capsys):
    """A flag column all 0 in training mapped its new 1s inside [0, 1]: the rows carrying nearly all the error
    were not named (an anomaly trial). A table's rows are checked against each column's training range."""
    rng = np.random.default_rng(5)
    train, new = (rng.normal(size=(n, 3)) * [1, 5, 10] + [0, 0, 1e4] for n in (200, 20))  # (scaled column by column)
    flags = np.zeros(20)
    flags[:4] = 1
    np.savetxt(tmp_path / "t.csv", np.column_stack([train, np.zeros(200)]), delimiter=",", header="a,b,c,flag", comments="")
    np.savetxt(tmp_path / "n.csv", np.column_stack([np.clip(new, train.min(0), train.max(0)), flags]), delimiter=",",
               header="a,b,c,flag", comments="")
    assert main(["train", f"data.name={tmp_path / 't.csv'}", "data.val_fraction=0", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "n.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "each column scaled to [0, 1]" in out and "note: 4 of 20 samples have values outside the training range (most in 'flag')" in out


def test_a_standardised_run_is_read_again_as_standardised_not_as_a_range(tmp_path, capsys):
    x = np.random.default_rng(2).normal(size=(120, 5)) * [1, 10, 100, 1000, 1]
    np.savetxt(tmp_path / "t.csv", x, delimiter=",", header="a,b,c,d,e", comments="")
    assert main(["train", f"data.name={tmp_path / 't.csv'}", "data.scale=standard", "model.name=dense",
                 "model.hidden=[8]", "model.code_size=2", "model.recon_loss=mse", "model.output_activation=linear",
                 "train.epochs=1", f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "run"), "--quiet"]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["scaling"] == "standard"
    assert main(["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "t.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out.split("t.csv, 120 samples")[1]  # the training file itself: within its range
    outside = re.search(r"note: (\d+) of 120 samples have values outside the training range", out)
    assert "inputs: standardised" in out and (outside is None or int(outside.group(1)) <= 6)  # a range: all 120


def test_a_csv_row_with_a_value_too_many_is_refused_not_read_shifted(table_run):
    tmp_path, _, new, _ = table_run
    rows = [",".join(f"{v:.4f}" for v in row) for row in new]
    rows[3] = "12," + rows[3]  # a stray comma: numpy read the first 8 of 9 values, every one in the next column
    (tmp_path / "extra.csv").write_text(",".join(f"c{i}" for i in range(8)) + "\n" + "\n".join(rows) + "\n")
    for like in (None, tmp_path / "run"):
        with pytest.raises(DataError, match=r"extra.csv: line 5 has 9 values, expected 8 \(as its first row"):
            load_dataset(str(tmp_path / "extra.csv"), like=like)
    (tmp_path / "semi.csv").write_text("c0;c1;c2\n1;2;3\n")  # a header of one column: said as a separator
    with pytest.raises(DataError, match=r"semi.csv: line 1 reads as one value, 'c0;c1;c2': values are separated by ';'"):
        load_dataset(str(tmp_path / "semi.csv"), like=tmp_path / "run")
    np.savetxt(tmp_path / "bare.csv", new, delimiter=",")  # no header: by position, and said
    with pytest.warns(UserWarning, match=r"bare.csv has no header row: its columns are taken as the run's, in their "
                                         r"order \(c0, c1, c2 ...\)"):
        torch.testing.assert_close(load_dataset(str(tmp_path / "bare.csv"), like=tmp_path / "run").x,
                                   load_dataset(str(tmp_path / "new.csv"), like=tmp_path / "run").x)


def test_csv_comment_lines_are_skipped_and_a_run_fitted_on_part_of_a_file_asks_for_its_data(table_run, capsys):
    tmp_path, _, new, _ = table_run
    (tmp_path / "noted.csv").write_text("a,b\n1,2\n# a comment, numpy skips\n3,4\n")
    assert load_dataset(str(tmp_path / "noted.csv")).x.shape == (2, 2)
    part = load_dataset(str(tmp_path / "train.csv")).split(0.2)[0]  # no data name: evaluate cannot find it
    aekit.fit(aekit.create_model("dense", input_shape=(8,), hidden=[4], code_size=2), part, epochs=1,
              run_dir=tmp_path / "part", progress=False)
    assert main(["evaluate", str(tmp_path / "part")]) == 2
    assert "data.name: empty; give a data set" in capsys.readouterr().err
    # new rows are read by its scaling.json all the same (a production trial: --data met the same refusal)
    assert main(["evaluate", str(tmp_path / "part"), "--data", str(tmp_path / "new.csv")]) == 0
    out, err = capsys.readouterr()
    assert "names none in data.name); the samples are read by its scaling.json, without PCA's baseline" in err
    assert "squared error per sample" in out and "no PCA comparison: the run's training data could not be read" in out


def test_new_rows_are_matched_to_the_runs_columns_by_name(table_run):
    tmp_path, _, new, _ = table_run
    names = [f"c{i}" for i in range(8)]
    order = [3, 0, 7, 1, 2, 6, 4, 5]
    np.savetxt(tmp_path / "shuffled.csv", new[:, order], delimiter=",", header=",".join(names[i] for i in order),
               comments="")
    like = dict(like=tmp_path / "run")
    torch.testing.assert_close(load_dataset(str(tmp_path / "shuffled.csv"), **like).x,
                               load_dataset(str(tmp_path / "new.csv"), **like).x, rtol=0, atol=0)
    np.savetxt(tmp_path / "other.csv", new, delimiter=",", header=",".join(names[:7] + ["extra"]), comments="")
    with pytest.raises(DataError, match=r"other.csv: the run was trained on columns it lacks: 'c7'; it has columns the "
                                        r"run was not trained on: 'extra'$"):
        load_dataset(str(tmp_path / "other.csv"), **like)
    np.savetxt(tmp_path / "cased.csv", new[:, order], delimiter=",", header=",".join(names[i].upper() for i in order),
               comments="")  # whatever their case (a run from before 2026-12-07 keeps its names lower-cased)
    torch.testing.assert_close(load_dataset(str(tmp_path / "cased.csv"), **like).x,
                               load_dataset(str(tmp_path / "new.csv"), **like).x, rtol=0, atol=0)
    assert load_dataset(str(tmp_path / "cased.csv")).meta["columns"][:2] == ["C3", "C0"]  # kept as written (a quality
    # trial's notes named 'ppe' for the file's PPE)


def test_evaluate_writes_each_rows_score_and_notes_values_outside_the_range(table_run, capsys):
    tmp_path, _, new, _ = table_run
    odd = new.copy()
    odd[4, 0] = 5000.0  # far outside column c0's training range (around 1000)
    np.savetxt(tmp_path / "odd.csv", odd, delimiter=",", header=",".join(f"c{i}" for i in range(8)), comments="")
    run, scores = tmp_path / "run", tmp_path / "scores.csv"
    assert main(["evaluate", str(run), "--data", str(tmp_path / "odd.csv"), "--scores", str(scores), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "  note: 1 of 9 samples have values outside the training range (most in 'c0')" in out
    table = np.genfromtxt(scores, delimiter=",", names=True)
    assert table.dtype.names == ("row", "squared_error", "pca_squared_error") and table["row"].tolist() == list(range(9))
    assert int(np.argmax(table["squared_error"])) == 4 and int(np.argmax(table["pca_squared_error"])) == 4
    assert np.mean(table["squared_error"]) == pytest.approx(float(out.split("(autoencoder): ")[1].split()[0]), rel=1e-3)
    assert main(["evaluate", str(run), "--scores", str(tmp_path / "scores.txt")]) == 2
    assert "--scores: " in capsys.readouterr().err and not (tmp_path / "scores.txt").exists()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "odd.csv"), "--scores", str(scores)]) == 0  # its own: again
    before = (tmp_path / "odd.csv").read_bytes()  # a data file is never written over
    assert main(["evaluate", str(run), "--data", str(tmp_path / "odd.csv"), "--scores", str(tmp_path / "odd.csv")]) == 2
    assert "odd.csv is there and is not a scores file aekit wrote" in capsys.readouterr().err
    assert main(["export", str(run), "--format", "torchscript", "--output", str(tmp_path / "odd.csv")]) == 2
    assert "odd.csv names no torchscript file" in capsys.readouterr().err
    assert (tmp_path / "odd.csv").read_bytes() == before
    (tmp_path / "mine.pt").write_bytes(before)  # a file of one's own with the format's suffix
    assert main(["export", str(run), "--format", "torchscript", "--output", str(tmp_path / "mine.pt")]) == 2
    assert "mine.pt is there and is not an export of aekit's (torchscript)" in capsys.readouterr().err
    assert (tmp_path / "mine.pt").read_bytes() == before


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")  # (a DeprecationWarning in torch 2.13, a FutureWarning from 2.14)
def test_a_raw_export_takes_numpys_float64_rows(table_run):
    tmp_path, _, new, model = table_run
    assert main(["export", str(tmp_path / "run"), "--raw", "--format", "torchscript"]) == 0
    encoder = torch.jit.load(str(tmp_path / "run" / "encoder-raw.pt"))
    with torch.no_grad():
        torch.testing.assert_close(encoder(torch.from_numpy(new.astype(np.float64))),
                                   encoder(torch.from_numpy(new)), rtol=0, atol=0)


def test_standardised_tables_train_the_automatic_model_and_new_rows_follow(tmp_path, capsys):
    rng = np.random.default_rng(6)
    train, new = tabular(200, rng), tabular(5, rng)
    header = ",".join(f"c{i}" for i in range(8))
    for name, table in (("train.csv", train), ("new.csv", new)):
        np.savetxt(tmp_path / name, table, delimiter=",", header=header, comments="")
    common = [f"data.name={tmp_path / 'train.csv'}", "data.scale=standard", "train.epochs=1", f"output.dir={tmp_path}"]
    assert main(["train", *common, "output.name=r", "--quiet"]) == 0
    assert "  inputs: standardised by the training mean and deviation" in capsys.readouterr().out
    like = load_dataset(str(tmp_path / "new.csv"), like=tmp_path / "r").x.numpy()
    std = np.where(train.std(0) > 0, train.std(0), 1.0)  # the constant column: only shifted
    np.testing.assert_allclose(like, (new - train.mean(0)) / std, rtol=1e-4, atol=1e-4)
    assert main(["train", *common, "model.name=dense", "output.name=bce"]) == 2  # sigmoid outputs need [0, 1]
    assert "recon_loss 'bce' needs data in [0, 1]" in capsys.readouterr().err


def test_csv_columns_named_alike_but_for_case_are_refused_and_a_column_float32_rounds_is_noted(tmp_path):
    """Columns are taken by name whatever their case: 'A' and 'a' swapped silently in new rows (an anomaly
    trial); Unix timestamps read in float32 kept 9,376 of 20,000 values, unsaid (the estimator said it)."""
    (tmp_path / "dup.csv").write_text("A,a,b\n1,2,3\n4,5,6\n")
    assert refused(tmp_path / "dup.csv") == f"{tmp_path / 'dup.csv'}: columns 'A', 'a' differ only in case, and columns are taken by name whatever their case; rename one"
    t = 1.7e9 + 60 * np.arange(500)
    np.savetxt(tmp_path / "ts.csv", np.column_stack([t, RNG.random(500)]), delimiter=",", header="time,v", comments="", fmt="%.6f")
    with pytest.warns(UserWarning, match=r"keeps steps of 128 in column 'time' \(values near 1.7e\+09\), more than its values' gaps"):
        load_path(tmp_path / "ts.csv")
    np.savetxt(tmp_path / "three.csv", np.column_stack([t, t + 1e3, RNG.random(500)]), delimiter=",",
               header="time,later,v", comments="", fmt="%.6f")  # each column's values, not the first's for all
    with pytest.warns(UserWarning, match=r"keeps steps of 128 in column 'time' \(values near 1.7e\+09\), more than "
                      r"its values' gaps \(and in column 'later'\); subtract"):  # (a quality trial)
        load_path(tmp_path / "three.csv")
    np.savetxt(tmp_path / "ok.csv", np.column_stack([t - t[0], RNG.random(500)]), delimiter=",", header="time,v", comments="")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=r".*1 column \('v'\) varies over less than 0.1%")  # (one range: true)
        warnings.filterwarnings("ignore", message=r".*column 'time' rises or falls every row")  # (true: a signals trial's)
        load_path(tmp_path / "ok.csv")  # the time since its first: kept


def test_a_folder_of_train_csv_and_test_csv_is_one_data_set_its_test_part_read_as_its_training_part(tmp_path, capsys):
    """Kaggle's layout: test.csv (columns in another order, no labels) scaled by train.csv's ranges."""
    rng = np.random.default_rng(3)
    train, test = rng.normal(size=(60, 3)) * [1, 10, 100], rng.normal(size=(8, 3)) * [1, 10, 100]
    (tmp_path / "kg").mkdir()
    np.savetxt(tmp_path / "kg" / "train.csv", np.column_stack([train, np.arange(60) % 2]), delimiter=",",
               header="a,b,c,label", comments="")
    np.savetxt(tmp_path / "kg" / "test.csv", test[:, ::-1], delimiter=",", header="c,b,a", comments="")
    whole, part = load_dataset(str(tmp_path / "kg")), load_dataset(str(tmp_path / "kg"), "test")
    assert (whole.name, whole.y[:3].tolist(), len(whole), len(part), part.y) == ("kg", [0, 1, 0], 60, 8, None)
    offset, divisor = whole.meta["unit_map"]  # the training rows' map, whichever rule chose it
    np.testing.assert_allclose(part.x.numpy(), (test - offset) / divisor, rtol=1e-4, atol=1e-5)
    assert main(["train", f"data.name={tmp_path / 'kg'}", "train.epochs=1", f"output.dir={tmp_path}", "output.name=r",
                 "--quiet"]) == 0
    assert "test set, 8 samples" in capsys.readouterr().out  # test.csv, not a validation split
    (tmp_path / "kg" / "test.csv").unlink()
    with pytest.raises(NoTestSplitError, match="holds train.csv and no test.csv beside it"):
        load_dataset(str(tmp_path / "kg"), "test")
    _pngs(tmp_path / "kimg" / "train" / "cat", 2)  # beside image folders, a train.csv is a label file: images read
    _pngs(tmp_path / "kimg" / "train" / "dog", 2)
    (tmp_path / "kimg" / "train.csv").write_text("id,label\n1,cat\n")
    assert load_dataset(str(tmp_path / "kimg")).sample_shape == (1, 5, 6)
    (tmp_path / "kg" / "test.csv").write_text("a,b,c\n1,2,3\n")
    (tmp_path / "kg" / "notes").mkdir()  # a folder of no images beside them (a review: it was read as images)
    (tmp_path / "kg" / "runs" / "r").mkdir(parents=True)
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(tmp_path / "kg" / "runs" / "r" / "reconstructions.png")
    assert len(load_dataset(str(tmp_path / "kg"), "test")) == 1


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")  # (a DeprecationWarning in torch 2.13, a FutureWarning from 2.14)
def test_a_folder_of_images_exports_for_images_as_pil_holds_them_and_scores_name_the_files(tmp_path, capsys):
    rng = np.random.default_rng(7)
    for cls in ("dots", "lines"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(20):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    assert main(["train", f"data.name={tmp_path / 'imgs'}", "train.epochs=1", f"output.dir={tmp_path}",
                 "output.name=r", "--quiet"]) == 0
    assert main(["export", str(tmp_path / "r"), "--raw", "--part", "full", "--format", "torchscript"]) == 0
    exported = torch.jit.load(str(tmp_path / "r" / "full-raw.pt"))
    pixels = np.array(Image.open(tmp_path / "imgs" / "dots" / "3.png"))[None] / 255  # (1, 8, 8, 3) as PIL holds it, in [0, 1]
    model, data = aekit.load_model(tmp_path / "r"), load_dataset(str(tmp_path / "imgs"))
    row = data.meta["files"].index("dots/3.png")
    with torch.no_grad():
        expected = model(data.x[row:row + 1]).x_hat.permute(0, 2, 3, 1)
        torch.testing.assert_close(exported(torch.from_numpy(pixels).float()), expected, rtol=1e-4, atol=1e-3)
        with pytest.raises(Exception, match=r"expected samples of shape \[8, 8, 3\] \(batch first\), got \[3, 8, 8\]"):
            exported(torch.rand(1, 3, 8, 8))  # the model's own layout is not the files' (a dense model took it)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / "imgs"), "--scores",
                 str(tmp_path / "s.csv"), "--quiet"]) == 0
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert rows[0] == "row,file,squared_error,pca_squared_error,label" and len(rows) == 41
    assert rows[1].startswith("0,dots/0.png,") and rows[1].endswith(",dots") and rows[-1].endswith(",lines")


def test_scores_name_each_samples_own_row_and_file_after_a_split(tmp_path, capsys):
    """The validation split (a folder has no test part) is a seeded subset: each row keeps its file and row."""
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(20):
            value = 10 * i if cls == "a" else 255 - 5 * i
            Image.fromarray(np.full((4, 4), value, dtype=np.uint8)).save(tmp_path / "imgs" / cls / f"{i:02d}.png")
    assert main(["train", f"data.name={tmp_path / 'imgs'}", "data.val_fraction=0.25", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "r"), "--scores", str(tmp_path / "s.csv"), "--quiet"]) == 0
    capsys.readouterr()
    whole = load_dataset(str(tmp_path / "imgs"))
    rows = [line.split(",") for line in (tmp_path / "s.csv").read_text().splitlines()[1:]]
    assert len(rows) == 10 and len({r[0] for r in rows}) == 10
    for row, file, *_, label in rows:  # the row of the whole folder, its file and its class agree
        assert whole.meta["files"][int(row)] == file and file.startswith(label + "/")


def test_scores_of_a_named_sets_sampled_test_part_name_its_rows(tmp_path, capsys):
    """A bug hunt: data.test_limit's seeded sample of a named set (its Dataset without notes) wrote rows 0..49 for
    the test part's rows 41, 72, ...; a table of one sample trained, then could never be evaluated (PCA of one);
    a --scores name in capitals was refused."""
    assert main(["train", "data.name=digits", "data.test_limit=50", "model.code_size=2", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "r"), "--scores", str(tmp_path / "S.CSV"), "--quiet"]) == 0
    whole = load_dataset("digits", "test")
    rows = list(csv.DictReader((tmp_path / "S.CSV").open(newline="")))
    taken = [int(r["row"]) for r in rows]
    assert len(taken) == 50 and taken != list(range(50)) and taken == sorted(set(taken))
    assert [int(r["label"]) for r in rows] == whole.y[taken].tolist()
    (tmp_path / "one.csv").write_text("a,b,c,d\n1,2,3,4\n")
    assert main(["train", f"data.name={tmp_path / 'one.csv'}", "data.val_fraction=0", "model.name=dense",
                 "model.code_size=1", "train.epochs=1", f"output.dir={tmp_path}", "output.name=one", "--quiet"]) == 0
    assert json.loads((tmp_path / "one" / "metrics.json").read_text())["pca_skipped"].startswith("1 training sample")
    capsys.readouterr()

def test_duplicate_column_names_are_refused_when_matching_by_name_but_the_same_header_reads_alike(tmp_path):
    rng = np.random.default_rng(9)
    x = np.c_[rng.random(60), 100 + rng.random(60), rng.random(60)]
    np.savetxt(tmp_path / "dup.csv", x, delimiter=",", header="a,a,b", comments="")
    aekit.fit(aekit.create_model("dense", input_shape=(3,), hidden=[4], code_size=2), load_dataset(str(tmp_path / "dup.csv")),
              epochs=1, run_dir=tmp_path / "run", progress=False)
    torch.testing.assert_close(load_dataset(str(tmp_path / "dup.csv"), like=tmp_path / "run").x,
                               load_dataset(str(tmp_path / "dup.csv")).x, rtol=0, atol=1e-6)
    np.savetxt(tmp_path / "moved.csv", x[:, [2, 0, 1]], delimiter=",", header="b,a,a", comments="")
    with pytest.raises(DataError, match="'a' name more than one column; give the columns in the run's order"):
        load_dataset(str(tmp_path / "moved.csv"), like=tmp_path / "run")


@pytest.mark.parametrize("mapped", [False, True])
def test_standardising_keeps_its_precision_at_any_level(tmp_path, monkeypatch, mapped):
    rng = np.random.default_rng(10)
    table = np.c_[3e7 + 5 * rng.normal(size=20_000), rng.normal(size=20_000)]  # E[x^2] - E[x]^2 loses this
    np.save(tmp_path / "t.npy", table)
    if mapped:
        monkeypatch.setattr(files, "MMAP_BYTES", 0)
    _, divisor = load_path(tmp_path / "t.npy", scale="standard").meta["unit_map"]
    np.testing.assert_allclose(divisor, table.std(0), rtol=0.02)


def test_evaluating_on_the_training_file_notes_nothing_and_a_named_sets_run_says_how_it_scaled(table_run, tmp_path,
                                                                                                capsys):
    run = table_run[0] / "run"
    assert main(["evaluate", str(run), "--data", str(table_run[0] / "train.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out  # its own values are in its range, the held-out ones too; nor said scaled otherwise
    assert "outside the training" not in out and "was scaled" not in out
    digits = load_dataset("digits", "test").x[:40].numpy()
    np.save(tmp_path / "dig.npy", np.rint(digits * 16).astype(np.int64))  # the 0..16 integers of the original
    assert main(["train", "data.name=digits", "train.epochs=1", f"output.dir={tmp_path}", "output.name=d", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "d"), "--data", str(tmp_path / "dig.npy"), "--quiet"]) == 0
    assert "  note: " + str(tmp_path / "dig.npy") + " was scaled to [0, 1] by its own values" in capsys.readouterr().out


def test_a_memory_mapped_file_beyond_float32_is_refused_as_a_loaded_one_is(tmp_path, monkeypatch):
    np.save(tmp_path / "huge.npy", np.full((4, 3), 1e300))
    monkeypatch.setattr(files, "MMAP_BYTES", 0)  # every .npy counts as large
    with pytest.raises(DataError, match=r"huge.npy: values exceed the float32 range \(\|x\| > 3.4e38\); rescale them first"):
        load_path(tmp_path / "huge.npy", scale="standard")


def test_images_of_different_sizes_are_fitted_to_image_size_in_training_and_in_new_samples(tmp_path, capsys):
    rng, folder = np.random.default_rng(0), tmp_path / "photos"
    folder.mkdir()
    for i, (w, h) in enumerate([(30, 20), (12, 40), (16, 16), (50, 50), (25, 18), (9, 9)] * 4):
        pixels = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:02d}.png") if i % 3 else Image.fromarray(pixels[..., 0]).save(
            folder / f"{i:02d}.jpg")  # colour beside grey, PNG beside JPEG
    with pytest.raises(DataError, match=r"images differ in size \(width x height: 9 x 9 \(05.png\), 12 x 40 \(01.png\), "
                                        r"16 x 16 \(02.png\) ...\); resize them "
                                        r"to one size first, or train with data.image_size=N"):
        load_path(folder)
    data = load_path(folder, image_size=8)
    assert data.x.shape == (24, 3, 8, 8) and 0 <= float(data.x.min()) and float(data.x.max()) <= 1
    wide = np.zeros((10, 30), np.uint8)
    wide[:, 10:20] = 255  # a white middle third: the centre crop of the scaled image is all white
    (tmp_path / "new").mkdir()
    Image.fromarray(wide).save(tmp_path / "new" / "wide.png")
    centre = load_path(tmp_path / "new", image_size=4).x[0, 0]
    assert float(centre[:, 1:3].min()) == 1.0  # the crop took the middle, not a squeeze of the whole
    config = {"data.name": str(folder), "data.image_size": 8, "train.epochs": 1, "output.dir": str(tmp_path / "runs"),
              "output.name": "run", "model.name": "dense", "model.hidden": "[8]", "model.code_size": 2}
    assert main(["train", *(f"{k}={v}" for k, v in config.items()), "--quiet"]) == 0
    run = tmp_path / "runs" / "run"
    assert json.loads((run / "scaling.json").read_text())["image_size"] == 8
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "new"), "--quiet"]) == 0  # 10 x 30: fitted as the run's
    assert "new, 1 sample (too few for these figures to say much)\n" in capsys.readouterr().out
    assert load_dataset(str(tmp_path / "new"), like=run).x.shape == (1, 3, 8, 8)
    np.save(tmp_path / "fitted.npy", (rng.random((3, 8, 8, 3)) * 255).astype(np.uint8))  # a file: taken as it is
    assert load_dataset(str(tmp_path / "fitted.npy"), like=run).x.shape == (3, 3, 8, 8)
    for bad in (0, True, 2.5, "16"):
        with pytest.raises(aekit.ConfigError, match=r"data.image_size: must be a whole number of pixels > 0"):
            load_dataset(str(folder), image_size=bad)
    capsys.readouterr()
    assert main(["resume", str(run), "--epochs", "2"]) == 0  # with progress: a folder's reading is said first
    assert capsys.readouterr().out.startswith(f"reading {folder} ...\nresuming dense")
    for bad, message in ((lambda: load_dataset(str(tmp_path / "new"), like=run, image_size=8), "like and image_size: give one"),
                         (lambda: load_dataset("digits", image_size=8), "data.image_size: 8 applies to a file or folder of your own"),
                         (lambda: load_path(npz(tmp_path, x=X), image_size=8), "data.image_size: resizes the images of a "
                                                                              "folder of image files; .*own.npz is a file")):
        with pytest.raises((DataError, aekit.ConfigError), match=message):
            bad()
    assert main(["train", "data.image_size=0", "--quiet"]) == 2
    assert "data.image_size" in capsys.readouterr().err


def test_a_npy_file_that_cannot_be_mapped_for_want_of_memory_is_not_called_damaged(tmp_path, monkeypatch):
    import errno

    np.save(tmp_path / "x.npy", X.astype(np.float32))

    def no_memory(*args, **kwargs):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(np, "load", no_memory)
    assert re.search(r"x.npy: not enough memory \(or address space: ulimit -v\) to map its 0.0 GiB$", refused(tmp_path / "x.npy"))


def test_images_are_read_in_0_1_by_their_own_bit_depth_whatever_the_folder_mixes(tmp_path, capsys):
    """A folder's 8-bit images were kept as 0..255 unless a 16-bit one sat beside them: new photos of another mix
    reached a run 255 times too small or too large (an error of 699,915 for 10), and train/ and test/ of
    different mixes were refused."""
    rng = np.random.default_rng(3)
    for part, n in (("train", 30), ("test", 6)):
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(_mkdir(tmp_path / "set" / part) / f"{i}.png")
    Image.fromarray(rng.integers(0, 65536, (8, 8)).astype(np.uint16)).save(tmp_path / "set" / "train" / "deep.png")
    data, test = load_path(tmp_path / "set"), load_path(tmp_path / "set", split="test")  # 16-bit beside 8-bit in train/
    assert data.sample_shape == test.sample_shape == (3, 8, 8) and float(data.x.max()) <= 1 and float(test.x.max()) <= 1
    assert main(["train", f"data.name={tmp_path / 'set'}", "train.epochs=1", f"output.dir={tmp_path}", "output.name=r",
                 "--quiet"]) == 0
    eight = _mkdir(tmp_path / "new8")
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(eight / "a.png")
    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(eight / "b.png")  # grey, for a colour run: RGB
    new = load_dataset(str(eight), like=tmp_path / "r")
    assert new.x.shape == (2, 3, 8, 8) and 0.5 < float(new.x.max()) <= 1  # not 0..255
    one = load_dataset(str(eight / "a.png"), like=tmp_path / "r")  # one image: a sample of its own
    torch.testing.assert_close(one.x[0], new.x[0])
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(eight / "a.png"), "--quiet"]) == 0
    scaling = json.loads((tmp_path / "r" / "scaling.json").read_text())
    assert (scaling["offset"], scaling["divisor"]) == (0.0, 1.0)
    assert scaling["pixels"] == "unit"
    del scaling["pixels"]  # runs from before: a folder of 8-bit images was read as 0..255, and scaled so
    for offset, divisor in ((0.0, 255.0), (10.0, 189.0)):  # data.scale auto, and minmax on a narrower range
        (tmp_path / "r" / "scaling.json").write_text(json.dumps({**scaling, "offset": offset, "divisor": divisor}))
        torch.testing.assert_close(load_dataset(str(eight), like=tmp_path / "r").x, (new.x * 255 - offset) / divisor)
    grey = _mkdir(tmp_path / "grey")
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(grey / f"{i}.png")
    assert main(["train", f"data.name={grey}", "train.epochs=1", f"output.dir={tmp_path}", "output.name=g", "--quiet"]) == 0
    with pytest.raises(DataError, match=r"new8/a.png is a colour image, and the images it is read with \(a run.s, or train/\) are grey"):
        load_dataset(str(eight), like=tmp_path / "g")


def test_image_folders_are_refused_before_decoding_when_too_big_and_photos_are_turned_upright(tmp_path, monkeypatch):
    folder = _mkdir(tmp_path / "photos")
    portrait = Image.fromarray(np.zeros((6, 10), np.uint8))  # stored 10 wide, 6 high
    exif = portrait.getexif()
    exif[0x0112] = 6  # shown turned a quarter: 6 wide, 10 high, as a phone's portrait photo
    portrait.save(folder / "p.jpg", exif=exif)
    assert load_path(folder).sample_shape == (1, 10, 6)
    with pytest.raises(files.NoTestSplitError):  # said before any image is decoded
        monkeypatch.setattr(files, "_pixels", lambda *a: pytest.fail("decoded"))
        load_path(folder, split="test")
    monkeypatch.setattr(files, "available_memory", lambda *a: 100.0)
    with pytest.raises(DataError, match=r"photos: 1 images of 6 x 10 take 0 MiB as float32, with 0 MiB free; give "
                                        r"data.image_size=N to read each at N x N"):
        load_path(folder)


def test_a_tiffs_orientation_is_applied_once(tmp_path):
    """An image trial: TIFFs tagged to be shown turned a quarter were refused ('decoded at 6 x 10, its header said
    10 x 6'), and beside upright ones 'differ in size': Pillow turns a TIFF's size at open, and aekit again."""
    folder = _mkdir(tmp_path / "scans")
    stored = np.zeros((6, 10), np.uint8)  # 10 wide, 6 high
    stored[0, 0] = 255  # its first stored pixel: the top right corner once turned (orientation 6)
    turned = Image.fromarray(stored).convert("RGB")  # (Pillow 13 turns a grey TIFF twice: refused, saying so)
    exif = turned.getexif()
    exif[0x0112] = 6
    turned.save(folder / "a.tif", exif=exif)
    Image.fromarray(np.rot90(stored, -1).copy()).convert("RGB").save(folder / "b.tif")  # stored upright, untagged
    data = load_path(folder)
    assert data.sample_shape == (3, 10, 6)
    torch.testing.assert_close(data.x[0], data.x[1])  # both upright, alike
    assert data.x[0, 0, 0, -1] == 1.0
    grey = _mkdir(tmp_path / "grey")  # Pillow 11 to 13 turn a grey TIFF by its tag wrongly: read upright, or refused
    turned = Image.fromarray(stored)
    turned.save(grey / "a.tif", exif=exif)
    try:
        assert load_path(grey).x[0, 0, 0, -1] == 1.0
    except DataError as err:
        assert "Pillow turns some TIFFs by their orientation tag wrongly: save it upright, without the tag" in str(err)


def test_files_an_image_folder_leaves_out_are_named(tmp_path):
    """An image trial: a phone's .HEIC photos, .avif files and a broken link were left out of a folder unsaid (the
    sample count the only clue)."""
    folder = _mkdir(tmp_path / "photos")
    for i in range(3):
        Image.fromarray(np.full((4, 4), 40 * i, np.uint8)).save(folder / f"{i}.png")
    (folder / "IMG_0001.HEIC").write_bytes(b"\0" * 16)
    (folder / "saved.jfif").write_bytes(b"\0" * 16)  # a browser's JPEG (a review: unsaid)
    (folder / ".DS_Store").write_bytes(b"\0")  # hidden: unsaid
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (folder / "README.md").write_text("about them")  # a note beside them: unsaid (the trial's reviewer: noise)
    with pytest.warns(UserWarning) as said:
        assert len(load_path(folder)) == 3
    notes = [str(w.message) for w in said]
    assert any("photos: 2 images of a kind aekit does not read left out (IMG_0001.HEIC, saved.jfif); convert them to one of .bmp"
               in n for n in notes)
    assert any("photos: 1 broken link left out (gone.png)" in n for n in notes)
    assert not any("README" in n for n in notes)


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_a_folder_of_texts_without_suffixes_is_a_corpus_as_20_newsgroups_lays_it_out(tmp_path):
    """20news-bydate-train/alt.atheism/49960: the articles have no suffix; it was called a folder without images."""
    words = {"alt.atheism": "god belief faith argument", "sci.space": "orbit launch rocket shuttle"}
    for topic, text in words.items():
        (tmp_path / "20news-bydate-train" / topic).mkdir(parents=True)
        for i in range(12):
            (tmp_path / "20news-bydate-train" / topic / f"{50000 + i}").write_bytes(
                f"From: someone\nSubject: {text} {i}\n\nCaf\xe9 {text}\n".encode("latin-1"))  # 20NG's latin-1
    train = load_dataset(str(tmp_path / "20news-bydate-train"))
    assert train.classes == list(words) and len(train) == 24 and float(train.x.max()) <= 1
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / "a").write_bytes(b"\x00\x01binary")  # no suffix, not text: not a corpus
    with pytest.raises(DataError, match="holds no images"):
        load_dataset(str(tmp_path / "blobs"))
    # a data trial: the corpus was told by its first file found, so one UTF-16 file (NUL bytes) that came first, with
    # a suffix or not, refused it as "no images" on one machine and not on another
    (tmp_path / "20news-bydate-train" / "sci.space" / "0").write_bytes("orbit rocket".encode("utf-16"))
    (tmp_path / "u16" / "sport").mkdir(parents=True)
    (tmp_path / "u16" / "sport" / "000.txt").write_bytes("goal match cup".encode("utf-16"))
    (tmp_path / "u16" / "sport" / "001.txt").write_text("goal match")
    assert len(load_dataset(str(tmp_path / "20news-bydate-train"))) == 25 and len(load_dataset(str(tmp_path / "u16"))) == 2
    for part in ("20news-bydate-train", "20news-bydate-test"):  # both unpacked side by side: not two classes
        (tmp_path / "20news" / part / "sci.space").mkdir(parents=True)
        (tmp_path / "20news" / part / "sci.space" / "1").write_text("orbit launch")
    with pytest.raises(DataError, match=r"20news-bydate-test/, 20news-bydate-train/ look like parts of a data set "
                                        r"\(training, test...\), not classes; give .*20news-bydate-train \(its subfolders"):
        load_dataset(str(tmp_path / "20news"))


def test_reading_an_image_folder_shows_a_bar_for_each_pass_unless_quiet(tmp_path, monkeypatch, capsys):
    """A folder of 100,000 photos took minutes to read under one line, "reading photos ...": a bar for each
    pass (on a terminal, after two seconds), and none under --quiet."""
    from aekit.data import files

    folder = tmp_path / "photos"
    for name in ("a", "b"):
        for i in range(6):
            Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(_mkdir(folder / name) / f"{i}.png")
    bars, real = [], files.progress_bar
    monkeypatch.setattr(files, "progress_bar", lambda *a, **k: bars.append((k["desc"], k["shown"])) or real(*a, **k))
    load_dataset(str(folder))
    assert bars == [("checking photos", True), ("reading photos", True)]  # shown (tqdm's, on a terminal)
    bars.clear()
    assert main(["train", f"data.name={folder}", "train.epochs=1", f"output.dir={tmp_path}/runs", "--quiet"]) == 0
    assert [shown for desc, shown in bars if "photos" in desc] == [False, False]
    capsys.readouterr()


@pytest.mark.parametrize("parts", [("training", "testing"), ("seg_train", "seg_test", "seg_pred"), ("Train", "Test", "Meta"),
                                   ("train", "test", "unlabeled"), ("Training",)])
def test_folders_named_like_parts_of_a_data_set_are_refused_not_read_as_classes(tmp_path, parts):
    """mnist_png's training/ and testing/ (each of class folders) were read as two classes, the digits
    flattened away and the test images trained on, without a word; so were the Intel set's seg_* and
    GTSRB's Train/ and Test/, and a lone Training/ of class folders."""
    for part in parts:
        for digit in "01":
            _pngs(tmp_path / "set" / part / digit, 2, seed=len(part))
    (tmp_path / "set" / "README.txt").write_text("the parts")
    train = next(p for p in parts if "rain" in p)
    said = (r"holds train/ and test/ beside unlabeled/; move that out" if "unlabeled" in parts else
            rf"look(s)? like (parts|a part) of a data set \(training, test...\), not classes; give .*set/{train} \(its "
            r"subfolders the classes\)")
    with pytest.raises(DataError, match=said):
        load_path(tmp_path / "set")
    assert load_path(tmp_path / "set" / train).classes == ["0", "1"]


def test_classes_whose_names_begin_with_a_part_word_are_still_classes(tmp_path):
    """A review: train_station/, test_tube/ and test_passed/ beside test_failed/ are classes, as is VOC's train/
    holding a hidden .ipynb_checkpoints/ (or one folder of its own)."""
    for names in (("train_station", "test_tube", "bus"), ("test_passed", "test_failed"), ("train", "bus")):
        folder = tmp_path / "_".join(names)
        for name in names:
            _pngs(folder / name, 2)
        (folder / names[0] / ".ipynb_checkpoints").mkdir()
        (folder / names[0] / "views").mkdir()
        Image.fromarray(np.zeros((5, 6), np.uint8)).save(folder / names[0] / "views" / "v.png")
        assert load_path(folder).classes == sorted(names)


def test_an_anomaly_detection_layout_trains_on_good_and_scores_its_defects(tmp_path, capsys):
    """MVTec AD's layout: train/good/, and test/ holding good/ beside the defects: the defects were refused as
    classes train/ lacks. They are numbered after "good", and each test image's error is scored."""
    _pngs(tmp_path / "bottle" / "train" / "good", 8)
    for defect in ("good", "broken_large", "contamination"):
        _pngs(tmp_path / "bottle" / "test" / defect, 2, seed=len(defect))
    _pngs(tmp_path / "bottle" / "ground_truth" / "broken_large", 2)  # its masks: left out, said (were refused)
    with pytest.warns(UserWarning, match=r"bottle: ground_truth/ \(the test images' defect masks, in MVTec AD's layout\) is not read"):
        assert len(load_path(tmp_path / "bottle")) == 8
    with pytest.warns(UserWarning, match=r"class folder\(s\) broken_large, contamination are not among"):
        test = load_path(tmp_path / "bottle", split="test")
    _pngs(tmp_path / "bottle" / "masks", 2)  # any other folder beside train/ and test/: named
    with pytest.raises(DataError, match=r"bottle: holds train/ and test/ beside ground_truth, masks/; move that out"):
        load_path(tmp_path / "bottle")
    (tmp_path / "bottle" / "masks").rename(tmp_path / "masks")
    assert test.classes == ["good", "broken_large", "contamination"] and sorted(test.y.tolist()) == [0, 0, 1, 1, 2, 2]
    run = tmp_path / "run"
    assert main(["train", f"data.name={tmp_path / 'bottle'}", "train.epochs=1", "data.val_fraction=0",
                 f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    assert main(["evaluate", str(run), "--scores", str(tmp_path / "s.csv"), "--quiet", "--nll-samples", "0",
                 "--quality-samples", "0"]) == 0
    assert "test set, 6 samples" in capsys.readouterr().out
    scores = (tmp_path / "s.csv").read_text().splitlines()
    assert len(scores) == 7 and any("contamination/" in line for line in scores)


def test_grey_images_read_as_rgb_are_said(tmp_path):
    """A grey image scored by a colour run (or beside colour ones) became RGB without a word (an anomaly trial)."""
    _pngs(tmp_path / "mixed", 1)
    Image.fromarray(np.zeros((5, 6, 3), np.uint8)).save(tmp_path / "mixed" / "colour.png")
    with pytest.warns(UserWarning, match=r"mixed: 1 of 2 images are grey, read as RGB \(their grey in each channel\) beside colour ones"):
        assert load_path(tmp_path / "mixed").sample_shape == (3, 5, 6)
    grey_run = {"offset": 0.0, "divisor": 1.0, "shape": [1, 7, 4], "pixels": "unit"}  # another size: how to fit it said
    with pytest.raises(DataError, match=r"shape \[1, 7, 4\]; resize them to 4 x 7 \(a run trained with data.image_size=N"):
        load_path(tmp_path / "mixed" / "0.png", run_map=grey_run)
    colour_run = {"offset": 0.0, "divisor": 1.0, "shape": [3, 5, 6], "pixels": "unit"}
    with pytest.warns(UserWarning, match=r"1 of 1 images are grey, read as RGB .* to go with colour ones \(a run's, or train/'s\)"):
        load_path(tmp_path / "mixed" / "0.png", run_map=colour_run)


def test_a_lone_subfolder_of_images_is_read_without_labels_not_as_one_class(tmp_path):
    """CelebA unpacked (celeba/img_align_celeba/*.jpg) was one class, img_align_celeba, every label 0; a
    new folder of one subfolder, scored like a run of classes, became a class of its own."""
    _pngs(tmp_path / "celeba" / "img_align_celeba", 3)
    faces = load_path(tmp_path / "celeba")
    assert len(faces) == 3 and faces.y is None and faces.classes is None
    _pngs(tmp_path / "pets" / "cat", 3)
    _pngs(tmp_path / "pets" / "dog", 3)
    assert main(["train", f"data.name={tmp_path / 'pets'}", "train.epochs=1", "data.val_fraction=0",
                 f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    _pngs(tmp_path / "new" / "dog", 2)
    dogs = load_dataset(str(tmp_path / "new"), like=tmp_path / "run")  # named as the run's classes
    assert dogs.classes == ["cat", "dog"] and dogs.y.tolist() == [1, 1]


def test_formats_aekit_does_not_read_say_how_to_bring_them_to_one_it_does(tmp_path):
    """STL-10's stl10_binary/ was "a folder of no images" with a hint about text corpora (its class_names.txt);
    .bin, .pt, .h5 and archives listed the kinds read, without a word on how to get there."""
    stl = _mkdir(tmp_path / "stl10_binary")
    (stl / "train_X.bin").write_bytes(bytes(3 * 96 * 96))
    (stl / "class_names.txt").write_text("airplane\nbird\n")
    assert "train_X.bin: read it with np.fromfile(f, np.uint8).reshape(N, C, H, W) (STL-10's" in refused(stl)
    assert "text corpora" not in refused(stl)
    for name, said in [("x.pt", "read it with its library and save the arrays with np.savez('data.npz', x_train=x"),
                       ("stl10_binary.tar.gz", "an archive; unpack it and give what it holds"),
                       ("train_32x32.mat", "SVHN's, read by data.name=svhn")]:
        (tmp_path / name).write_bytes(b"\x00")
        assert said in refused(tmp_path / name)
    kmnist = _mkdir(tmp_path / "kmnist")
    np.savez(kmnist / "kmnist-train-imgs.npz", np.zeros((3, 28, 28), np.uint8))
    assert "give one of its data files as the path (kmnist-train-imgs.npz)" in refused(kmnist)


def test_a_label_file_beside_unlabelled_images_is_said_not_read(tmp_path):
    """A folder of images with labels.csv (filename,label) beside them was read unlabelled without a word."""
    _pngs(tmp_path / "shapes", 4)
    (tmp_path / "shapes" / "labels.csv").write_text("filename,label\n0.png,1\n")
    with pytest.warns(UserWarning, match=r"shapes: the images are read without labels \(labels come from class folders, "
                                         r"one subfolder per class\); labels.csv beside them is not read"):
        assert load_path(tmp_path / "shapes").y is None


def test_signals_whose_channels_span_very_different_ranges_are_said_so(tmp_path, capsys):
    """An IMU's accelerometer (about 1 g) beside its gyroscope (about 250 degrees a second), (N, 6, 128), was
    scaled by one range without a word: the accelerometer's channels then counted for nothing."""
    rng, t = np.random.default_rng(0), np.arange(128)
    waves = np.sin(np.outer(rng.uniform(0.05, 0.2, 300), t) + rng.uniform(0, 6, (300, 1)))[:, None]
    np.save(tmp_path / "imu.npy", np.concatenate([waves.repeat(3, 1), 250 * waves.repeat(3, 1)], 1).astype(np.float32))
    with pytest.warns(UserWarning, match=r"imu.npy: its 6 rows \(the channels of signals shaped \(N, C, T\)\) span from "
                                         r"0.004 to 1 of the one range they are scaled by"):
        load_path(tmp_path / "imu.npy")
    np.save(tmp_path / "even.npy", np.concatenate([waves.repeat(3, 1), 2 * waves.repeat(3, 1)], 1).astype(np.float32))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        load_path(tmp_path / "even.npy")  # channels of like ranges: nothing to say
    # a signals trial: standardised by one mean and spread, unsaid; stored time-major, read as 128 x 6 images, unsaid
    with pytest.warns(UserWarning, match=r"imu.npy: its 6 rows .* span from 0.004 to 1 of the widest's range, all "
                                         r"standardised by one mean and spread"):
        load_path(tmp_path / "imu.npy", scale="standard")
    np.save(tmp_path / "ntc.npy", np.load(tmp_path / "imu.npy").transpose(0, 2, 1))
    with pytest.warns(UserWarning, match=r"ntc.npy: samples stored \(128, 6\) are read as grey images 128 x 6; if they "
                                         r"are windows stored time-major \(N, T, C\), as Keras keeps them, "
                                         r"x.transpose\(0, 2, 1\) makes them signals \(N, C, T\)"):
        assert load_path(tmp_path / "ntc.npy").sample_shape == (1, 128, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        np.save(tmp_path / "grey.npy", np.random.default_rng(0).random((50, 28, 20), dtype=np.float32))
        load_path(tmp_path / "grey.npy")  # grey images: no signal to name
        np.save(tmp_path / "tall.npy", np.random.default_rng(0).integers(0, 256, (50, 64, 16), dtype=np.uint8))
        load_path(tmp_path / "tall.npy")  # tall, narrow pixels: whole numbers, no time-major windows (a review)
    assert main(["train", f"data.name={tmp_path / 'even.npy'}", "train.augment_shift=2", "train.epochs=1",
                 f"output.dir={tmp_path}", "--quiet"]) == 0  # said, not refused: a 16 x 64 grey image would be (a review)
    assert "samples of shape (1, 6, 128) are drawn as signals, their 6 rows channels over time, which it would mix; if " \
        "they are, set augment_rotate, augment_scale and augment_shift to 0" in capsys.readouterr().err


def test_a_table_scaled_column_by_column_is_said_before_training(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "t.npy", np.c_[rng.random((60, 5)), 1000 * rng.random((60, 1))].astype(np.float32))
    assert main(["train", f"data.name={tmp_path / 't.npy'}", "train.epochs=1", f"output.dir={tmp_path}"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("training ") and "each column scaled by its own range (for one range: data.scale=global)" in first
    np.savetxt(tmp_path / "flagged.csv", np.c_[rng.random((60, 3)), rng.random(60) < 0.1], delimiter=",",
               header="a,b,c,isFraud", comments="")  # a flag not named label, class, target or y: an input, said
    assert main(["train", f"data.name={tmp_path / 'flagged.csv'}", "train.epochs=1", f"output.dir={tmp_path}"]) == 0
    assert "no label column (label, class, target, y): all 4 columns are inputs" in capsys.readouterr().out.splitlines()[0]
    (tmp_path / "adult.csv").write_text("age,workclass\n39,State-gov\n50,Private\n")
    assert "every value must be a number (column 'workclass', line 2: 'State-gov'); encode categories as numbers " \
           "first (pandas.get_dummies, OneHotEncoder) or drop the column" in refused(tmp_path / "adult.csv")


@pytest.mark.parametrize(("stray", "said"), [
    ("Thumbs.db", "stray"), ("README.md", "stray"), ("sport/desktop.ini", "stray"),
    ("business/00000", "stray"),  # a program without a suffix, among the first 20 such files looked at
    ("sport/zzzzz", "binary"),  # one that sorts after them: refused as it is read
])
def test_a_file_of_another_kind_among_texts_is_named_wherever_it_sorts(tmp_path, stray, said):
    """A text trial: one Thumbs.db, README.md or program in a corpus made it "holds no images ...; text corpora go
    through text_corpus (Python)", naming no file; a program without a suffix was refused when it sorted among the
    first 20 such files and read as latin-1 text when it did not."""
    _texts(tmp_path / "c", ["sport", "business"], 4, 0)
    for i in range(25):  # files without a suffix (20 Newsgroups'), more than the 20 looked at to tell texts
        (tmp_path / "c" / "sport" / f"{i:05d}").write_text(f"goal match cup {i}")
    (tmp_path / "c" / stray).write_bytes(b"MZ\x90\x00\x03\x00binary")
    message = {"stray": rf"^{re.escape(str(tmp_path / 'c'))} holds 33 texts and 1 file of another kind "
                        rf"\({re.escape(stray)}\); a text corpus holds .txt files \(or files without a suffix\) alone: "
                        r"move the others out$",
               "binary": rf"^{re.escape(str(tmp_path / 'c' / stray))} is not a text \(it holds NUL bytes"}[said]
    with pytest.raises(DataError, match=message):
        load_dataset(str(tmp_path / "c"))


def test_images_or_tables_with_notes_beside_them_are_no_corpus_of_stray_files(tmp_path):
    """A review: a captioned image folder (0.png beside 0.txt), class folders of images with a README.txt and a
    LICENSE, and a Kaggle folder (train.csv, test.csv, description.txt) were refused as texts with stray files."""
    _pngs(tmp_path / "captioned", 3)
    for i in range(3):
        (tmp_path / "captioned" / f"{i}.txt").write_text(f"a caption {i}")
    (tmp_path / "captioned" / "README.txt").write_text("captions")
    for name in ("cat", "dog"):
        _pngs(tmp_path / "pets" / name, 1)
    for name in ("README.txt", "LICENSE", "labels.txt"):
        (tmp_path / "pets" / name).write_text("about the pets")
    (tmp_path / "kaggle").mkdir()
    np.savetxt(tmp_path / "kaggle" / "train.csv", np.random.default_rng(0).random((20, 3)), delimiter=",",
               header="a,b,c", comments="")
    for name in ("README.txt", "description.txt", "LICENSE"):
        (tmp_path / "kaggle" / name).write_text("about the data")
    assert [len(load_dataset(str(tmp_path / folder))) for folder in ("captioned", "pets", "kaggle")] == [3, 2, 20]
    _texts(tmp_path / "corpus", ["sport", "business"], 30, 0)  # 60 texts beside one table: a corpus, its stray named
    (tmp_path / "corpus" / "metadata.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"holds 60 texts and 1 file of another kind \(metadata.csv\)"):
        load_dataset(str(tmp_path / "corpus"))
    (tmp_path / "corpus" / "metadata.csv").unlink()
    (tmp_path / "corpus" / "business" / "0.txt").write_text("1.25 1.27 1.31 1.30 1.33 1.36 1.38 1.40 1.41")  # prices
    assert len(load_dataset(str(tmp_path / "corpus"))) == 60  # one text of numbers among texts: read as a text


def test_aclimdb_with_its_other_files_is_pointed_at_its_name(tmp_path):
    _texts(tmp_path / "aclImdb" / "train", ["sport", "business"], 3, 0)  # (its pos/ and neg/)
    (tmp_path / "aclImdb" / "imdb.vocab").write_text("a\nb\n")
    (tmp_path / "aclImdb" / "train" / "labeledBow.feat").write_text("0 1:1\n")
    for given in ("aclImdb", "aclImdb/train"):
        with pytest.raises(DataError, match=r"of another kind .*labeledBow.feat.*; IMDb's aclImdb/ is read by name: give "
                                            r"data.name=imdb \(or imdb-bow\)"):
            load_dataset(str(tmp_path / given))


def test_texts_in_other_encodings_unlabelled_folders_and_empty_rows_are_read_or_said(tmp_path):
    """From a text user's trial: UTF-16 files (with their byte-order mark) became all-zero rows and latin-1
    ones lost their accents, silently; aclImdb's train/unsup/ became a class; texts with no word of the
    vocabulary (another language) scored as the most typical, without a word; a story in two topic folders
    (Reuters) was two samples."""
    import warnings

    _texts(tmp_path / "enc", ["sport", "business"], 4, 0)
    (tmp_path / "enc" / "sport" / "u16.txt").write_bytes("café goal match résumé".encode("utf-16"))
    (tmp_path / "enc" / "sport" / "l1.txt").write_bytes("café goal naïve cup".encode("latin-1"))
    (tmp_path / "enc" / "sport" / "u32.txt").write_bytes("goal über cup".encode("utf-32"))  # its mark begins as UTF-16's
    (tmp_path / "enc" / "sport" / "u32be.txt").write_bytes(codecs.BOM_UTF32_BE + "goal über bank".encode("utf-32-be"))
    with pytest.warns(UserWarning, match=r"enc: 1 of 12 texts are not UTF-8 \(the first: sport/l1.txt\); read as Windows-1252"):
        corpus = load_dataset(str(tmp_path / "enc"))
    assert {"café", "résumé", "naïve", "über"} <= set(corpus.meta["vocabulary"])
    _texts(tmp_path / "acl", ["sport", "business"], 3, 1)
    (tmp_path / "acl" / "unsup").mkdir()
    (tmp_path / "acl" / "unsup" / "0.txt").write_text("goal bank")
    with pytest.raises(DataError, match=r"acl: unsup/ holds unlabelled samples, not a class; move it out"):
        load_dataset(str(tmp_path / "acl"))
    (tmp_path / "acl" / "unsup" / "0.txt").unlink()
    (tmp_path / "acl" / "unsup").rmdir()
    (tmp_path / "acl" / "business" / "dup.txt").write_text((tmp_path / "acl" / "sport" / "0.txt").read_text())
    with pytest.warns(UserWarning, match=r"acl: 1 texts are in more than one class folder"):
        train = load_dataset(str(tmp_path / "acl"))
    from aekit.data.text import text_corpus

    with pytest.warns(UserWarning, match=r"new: 1 of 2 texts hold no word of the vocabulary"):
        text_corpus(["goal match", "der die und"], vectorizer=train.meta["vectorizer"], name="new")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        text_corpus(["goal match"], vectorizer=train.meta["vectorizer"])


def test_texts_in_windows_1252_and_words_of_any_script_keep_their_letters(tmp_path):
    """A bug hunt: Windows' "ANSI" files lost œ, Š and ž (read as latin-1); the vectorizers split words at combining
    marks (Hindi's "हिन्दी", in every text, was lost) and read a decomposed "café" as another word than a composed one."""
    from aekit.data.text import text_corpus

    _texts(tmp_path / "enc", ["sport", "business"], 4, 0)
    (tmp_path / "enc" / "sport" / "ansi.txt").write_bytes("cœur œuvre škoda €".encode("cp1252"))
    (tmp_path / "enc" / "sport" / "any.txt").write_bytes(b"goal \x81\x8d cup")  # no Windows-1252 letter: latin-1
    with pytest.warns(UserWarning, match=r"enc: 2 of 10 texts are not UTF-8 \(the first: sport/ansi.txt\); read as "
                                         r"Windows-1252 or latin-1"):
        corpus = load_dataset(str(tmp_path / "enc"))
    assert {"cœur", "œuvre", "škoda"} <= set(corpus.meta["vocabulary"])
    hindi = text_corpus(["वह हिन्दी किताब पढ़ता", "हम हिन्दी किताब लिखते", "हिन्दी किताब अच्छी"])
    assert {"हिन्दी", "किताब"} <= set(hindi.meta["vocabulary"])
    forms = text_corpus([unicodedata.normalize(form, "café résumé goal") for form in ("NFC", "NFD")])
    assert sorted(forms.meta["vocabulary"]) == ["café", "goal", "résumé"] and torch.equal(forms.x[0], forms.x[1])
    # a run saved before (scaling.json without "words") reads its texts as it did: scikit-learn's words
    (tmp_path / "nfd" / "a").mkdir(parents=True)
    for i, text in enumerate(["café goal naïve", "résumé goal café", "naïve résumé goal"]):
        (tmp_path / "nfd" / "a" / f"{i}.txt").write_text(unicodedata.normalize("NFD", text))
    assert main(["train", f"data.name={tmp_path / 'nfd'}", "data.val_fraction=0", "model.code_size=1", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=new", "--quiet"]) == 0
    saved = json.loads((tmp_path / "new" / "scaling.json").read_text())
    assert saved["words"] == 2 and sorted(saved["vocabulary"]) == ["café", "goal", "naïve", "résumé"]
    old = {**saved, "vocabulary": ["cafe", "goal", "nai", "sume", "ve"], "idf": [1.0] * 5}
    del old["words"]
    (tmp_path / "new" / "scaling.json").write_text(json.dumps(old))
    assert (load_dataset(str(tmp_path / "nfd"), like=tmp_path / "new").x > 0).sum(0).tolist() == [2, 3, 2, 2, 2]

def test_a_text_runs_vocabulary_is_never_swapped_for_a_named_sets(tmp_path, monkeypatch, capsys):
    """A bug hunt: `evaluate RUN --data bbc-news` on a run of a folder of texts scored BBC's vectors, in BBC's own
    vocabulary, as the run's (41 of 2,000 columns the same word), and init_from such a run trained on them; BBC's
    file with a byte-order mark was "line 1 is not a JSON object", a null text named by its row in a shuffled part."""
    import gzip

    data = tmp_path / "data"
    (data / "bbc-news").mkdir(parents=True)
    rng = np.random.default_rng(0)
    words = {"sport": "goal match striker cup final team".split(), "business": "bank shares profit market trade".split()}
    rows = [{"id": i, "label": topic, "text": " ".join(rng.choice(words[topic], 8))}
            for i, topic in enumerate(["sport", "business"] * 20)]
    bbc = data / "bbc-news" / "bbc-news.jsonl.gz"
    with gzip.open(bbc, "wt", encoding="utf-8-sig") as f:  # a byte-order mark: read
        f.writelines(json.dumps(row) + "\n" for row in rows)
    monkeypatch.setenv("AEKIT_DATA_DIR", str(data))
    assert len(load_dataset("bbc-news", "train")) == 32
    _texts(tmp_path / "news", ["sport", "business"], 12, 0)
    assert main(["train", f"data.name={tmp_path / 'news'}", "model.code_size=2", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--data", "bbc-news", "--quiet"]) == 2
    assert re.search(r"--data bbc-news: the run reads texts in its own vocabulary \(\d+ words, its scaling.json\), and "
                     r"bbc-news comes in another; give its texts as a folder", capsys.readouterr().err)
    assert main(["train", "data.name=bbc-news", f"init_from={tmp_path / 'run'}", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=warm", "--quiet"]) == 2
    assert "init_from: " in (err := capsys.readouterr().err) and "reads texts in its own vocabulary" in err
    assert not (tmp_path / "warm").exists()
    assert main(["train", "data.name=bbc-news", "model.code_size=2", "train.epochs=1", f"output.dir={tmp_path}",
                 "output.name=bbc", "--quiet"]) == 0  # its own named set: the same words, read
    assert main(["evaluate", str(tmp_path / "bbc"), "--data", "bbc-news", "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "bbc"), "--data", "bbc-news-bow", "--quiet"]) == 2  # other weights
    rows[30]["text"] = None
    with gzip.open(bbc, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    with pytest.raises(DataError, match=r"bbc-news.jsonl.gz: line 31's 'text' is null, not a text$"):
        load_dataset("bbc-news", "train")

def test_text_files_and_folders_aekit_does_not_read_point_to_what_it_does(tmp_path):
    (tmp_path / "SMSSpamCollection").write_text("ham\tGo until jurong point\nspam\tFree entry\n")
    assert "text corpora go through aekit.data.text.text_corpus (Python), or a folder of .txt files" in refused(
        tmp_path / "SMSSpamCollection")
    (tmp_path / "reviews.jsonl.gz").write_bytes(b"\x1f\x8b")
    assert "text_corpus" in refused(tmp_path / "reviews.jsonl.gz") and "unpack" not in refused(tmp_path / "reviews.jsonl.gz")
    (_mkdir(tmp_path / "notes") / "a.md").write_text("# a note")
    assert "texts are read from .txt files (or files without a suffix): save them as such" in refused(tmp_path / "notes")
    (_mkdir(tmp_path / "aclImdb") / "imdb.vocab").write_text("the\nand\n")
    assert "IMDb's aclImdb/ is read by name: give data.name=imdb" in refused(tmp_path / "aclImdb")


def test_a_log_that_grew_is_evaluated_on_the_rows_the_run_held_out(tmp_path, monkeypatch, capsys):
    """Rows appended to a run's training CSV re-drew its validation split over the grown file: `aekit evaluate`
    wrote into metrics.json a figure on 550 "validation" rows, 364 of which the model had trained on."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(550, 6)) * [5, 0.1, 0.01, 20, 0.3, 1] + [60, 2, 0.05, 1500, 12, 30]
    np.savetxt("log.csv", rows[:500], delimiter=",", header="a,b,c,d,e,f", comments="", fmt="%.6g")
    assert main(["train", "data.name=log.csv", "train.epochs=2", "output.name=r", "--quiet"]) == 0
    recorded = json.loads((tmp_path / "runs/r/metrics.json").read_text())
    with open("log.csv", "a") as f:  # the sensor log grew
        np.savetxt(f, rows[500:], delimiter=",", fmt="%.6g")
    capsys.readouterr()
    assert main(["evaluate", "runs/r", "--quiet"]) == 0
    assert "the run's splits are drawn from the first 500, the rows it trained on" in capsys.readouterr().err
    again = json.loads((tmp_path / "runs/r/metrics.json").read_text())
    assert again["split"] == "val" and again["n"] == 50  # the same 50 held-out rows, the same figures
    assert {k: again[k] for k in ("val_loss", "pca_squared_error_per_sample")} == {
        k: recorded[k] for k in ("val_loss", "pca_squared_error_per_sample")}


def test_texts_without_a_word_of_the_vocabulary_are_named_and_their_scores_say_which_file(tmp_path, capsys):
    """Two such texts (an empty file, one in French) scored lowest, as the most typical, and neither the note nor
    the scores (no file column for texts) said which they were: a user could not map rows back to files."""
    import csv

    _texts(tmp_path / "news", ["sport", "business"], 12, 0)
    assert main(["train", f"data.name={tmp_path / 'news'}", "train.epochs=1", f"output.dir={tmp_path}",
                 "output.name=run", "--quiet"]) == 0
    _texts(tmp_path / "new", ["sport", "business"], 2, 1)
    (tmp_path / "new" / "sport" / "empty.txt").write_text("")
    (tmp_path / "new" / "business" / "fr.txt").write_text("le marché de la ville")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "new"), "--scores",
                 str(tmp_path / "s.csv"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "2 of 6 texts hold no word of the vocabulary (business/fr.txt, sport/empty.txt): their rows are all zeros" in err
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [r["file"] for r in rows] == ["business/0.txt", "business/1.txt", "business/fr.txt", "sport/0.txt",
                                         "sport/1.txt", "sport/empty.txt"]


def test_a_runs_own_test_part_says_how_many_samples_leave_the_training_range(tmp_path, capsys):
    """The note came with `evaluate --data` alone: a folder's test.csv full of anomalies, scored at the end of
    `aekit train` and by `aekit evaluate RUN`, said nothing of the rows beyond the training ranges."""
    import json

    rng = np.random.default_rng(1)
    (tmp_path / "cc").mkdir()
    train, test = rng.random((200, 4)), 0.1 + 0.8 * rng.random((30, 4))  # the test rows inside the training ranges
    test[:5, 2] += 40  # but five frauds far out in column c
    for name, rows in (("train", train), ("test", test)):
        np.savetxt(tmp_path / "cc" / f"{name}.csv", rows, delimiter=",", header="a,b,c,d", comments="")
    assert main(["train", f"data.name={tmp_path / 'cc'}", "train.epochs=1", f"output.dir={tmp_path}",
                 "output.name=run"]) == 0
    assert "note: 5 of 30 samples have values outside the training range (most in 'c')" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["outside"].startswith("5 of 30 samples")
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    assert "note: 5 of 30 samples have values outside the training range" in capsys.readouterr().out


def test_a_pandas_index_column_is_left_out_with_a_note(tmp_path, capsys):
    """df.to_csv(path) writes the index as an unnamed first column: it was dropped without a word ("all 5 columns
    are inputs" of a 6-column file)."""
    rows = np.random.default_rng(2).random((40, 3))
    with open(tmp_path / "df.csv", "w") as f:
        f.write(",a,b,c\n" + "".join(f"{i}," + ",".join(f"{v:.4f}" for v in row) + "\n" for i, row in enumerate(rows)))
    with pytest.warns(UserWarning, match=r"df.csv: its unnamed first column \(pandas' index, as df.to_csv writes it\) "
                                         r"is left out: not an input"):
        data = load_dataset(str(tmp_path / "df.csv"))
    assert data.sample_shape == (3,) and data.meta["columns"] == ["a", "b", "c"]


def test_a_big_data_file_is_said_before_it_is_read(tmp_path, monkeypatch, capsys):
    """A 150 MB CSV was read in ~6 s of silence (a folder said "reading ..." first, a file did not)."""
    from aekit.apps import run

    np.savetxt(tmp_path / "big.csv", np.random.default_rng(0).random((50, 4)), delimiter=",")
    monkeypatch.setattr(run, "READ_SAID_BYTES", 100)  # (the file's ~4 kB stands for a big one)
    assert main(["train", f"data.name={tmp_path / 'big.csv'}", "train.epochs=1", f"output.dir={tmp_path}"]) == 0
    assert capsys.readouterr().out.startswith(f"reading {tmp_path / 'big.csv'} ...\ntraining ")
    monkeypatch.setattr(run, "READ_SAID_BYTES", 1 << 20)
    assert main(["train", f"data.name={tmp_path / 'big.csv'}", "train.epochs=1", f"output.dir={tmp_path}"]) == 0
    assert capsys.readouterr().out.startswith("training ")  # a small file: no line


def test_a_run_that_binarises_its_inputs_says_so(tmp_path, capsys):
    """configs/iwae.yaml on a table turned every scaled sensor value into a random 0/1 draw without a word."""
    np.savetxt(tmp_path / "t.csv", np.random.default_rng(3).random((60, 5)), delimiter=",", header="a,b,c,d,e",
               comments="")
    assert main(["train", f"data.name={tmp_path / 't.csv'}", "model.name=vae", "model.binarize=true",
                 "train.epochs=1", f"output.dir={tmp_path}"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "each input binarised afresh at every step (model.binarize, for near-binary images)" in first


def test_a_table_of_small_counts_reads_alike_from_an_npy_and_a_csv(tmp_path):
    """A data trial: int64 counts 0..5 in an .npy were divided by 255, as pixels (inputs in [0, 0.02]), where the
    same table in a CSV took [0, 1]: errors 2,600x apart for one table. Integer images still divide by 255."""
    from aekit.data.core import resolved_scale

    counts = np.random.default_rng(0).integers(0, 6, (200, 8))
    np.save(tmp_path / "counts.npy", counts)
    np.savetxt(tmp_path / "counts.csv", counts, delimiter=",", fmt="%d")
    from_npy, from_csv = (load_dataset(str(tmp_path / name)) for name in ("counts.npy", "counts.csv"))
    torch.testing.assert_close(from_npy.x, from_csv.x)
    assert float(from_npy.x.max()) == 1.0
    # a run records what auto chose (minmax), and 'global', which runs before it recorded, reads as it did
    assert resolved_scale("auto", from_npy.meta) == "minmax" and resolved_scale("auto", from_csv.meta) == "global"
    assert float(load_dataset(str(tmp_path / "counts.npy"), scale="global").x.max()) == pytest.approx(5 / 255)
    images = counts.reshape(200, 2, 4) * 40  # (N, H, W) integers up to 200: pixels
    np.save(tmp_path / "images.npy", images)
    assert float(load_dataset(str(tmp_path / "images.npy")).x.max()) == pytest.approx(200 / 255)


def test_a_row_identifier_column_read_as_a_feature_is_said(tmp_path):
    """A data trial: Kaggle's train.csv starts with an id column, read as an input (and scaled) without a word."""
    rng = np.random.default_rng(0)
    rows = ["Id,a,b,label"] + [f"{i + 1},{rng.random():.3f},{rng.random():.3f},{i % 2}" for i in range(40)]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"column '[Ii]d' holds a different whole number each row \(a row identifier\?\) "
                                         r"and is read as a feature"):
        assert load_path(tmp_path / "train.csv").x.shape == (40, 3)
    (tmp_path / "counts.csv").write_text("id,a\n" + "".join(f"{i % 3},{(7 * i) % 40}.5\n" for i in range(40)))  # repeats
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        load_path(tmp_path / "counts.csv")


def test_a_column_that_grows_every_row_is_said_to_look_like_a_time(tmp_path):
    """A signals trial: a recording's time_s column, one row a time step, was read as a feature without a word (new
    rows then lay beyond its training range: 'drift', all of them)."""
    t = np.arange(100) * 0.01
    np.savetxt(tmp_path / "log.csv", np.column_stack([t, np.sin(t), np.cos(3 * t)]), delimiter=",", header="time_s,a,b",
               comments="")
    with pytest.warns(UserWarning, match=r"column 'time_s' rises or falls every row, as a time or a row number does, and is read "
                                         r"as a feature; if it is one, drop it from the file"):
        load_path(tmp_path / "log.csv")
    np.savetxt(tmp_path / "days.csv", np.column_stack([np.sin(20 * t), t[::-1]]), delimiter=",", header="a,day",
               comments="")  # newest first (a review)
    with pytest.warns(UserWarning, match=r"column 'day' rises or falls every row, as a time or a row number does"):
        load_path(tmp_path / "days.csv")
    scores = np.sort(np.random.default_rng(1).integers(3, 9, 100))[::-1]  # a table sorted by a score: no time (a review)
    np.savetxt(tmp_path / "wine.csv", np.column_stack([np.sin(20 * t), scores]), delimiter=",", header="a,quality",
               comments="")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        load_path(tmp_path / "wine.csv")
    np.savetxt(tmp_path / "shuffled.csv", np.column_stack([np.random.default_rng(0).permutation(t), np.sin(20 * t)]),
               delimiter=",", header="u,a", comments="")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        load_path(tmp_path / "shuffled.csv")  # values of a feature in no order: nothing to say


@pytest.mark.parametrize("mapped", [False, True])
def test_zeros_and_ones_stored_as_uint8_are_kept_not_divided_by_255(tmp_path, monkeypatch, mapped):
    """A quality trial: a binary basket table saved as uint8 became 0 and 1/255, so a BCE model's targets were 0 and
    0.004. 0/1 values are kept (images of 0..255 still divide by 255); a run records it, and 'global' reads as before."""
    from aekit.data.core import resolved_scale

    if mapped:
        monkeypatch.setattr(files, "MMAP_BYTES", 0)
    binary = (np.random.default_rng(0).random((60, 12)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "basket.npy", binary)
    data = load_dataset(str(tmp_path / "basket.npy"))
    assert np.array_equal(data.x[:].numpy(), binary.astype(np.float32)) and resolved_scale("auto", data.meta) == "none"
    assert float(load_dataset(str(tmp_path / "basket.npy"), scale="global").x[:].max()) == pytest.approx(1 / 255)
    np.save(tmp_path / "pixels.npy", binary * 200)
    assert float(load_dataset(str(tmp_path / "pixels.npy")).x[:].max()) == pytest.approx(200 / 255)


def test_an_idx_file_that_cannot_be_read_says_permissions_not_truncated(tmp_path, monkeypatch):
    """A paths trial: a .gz IDX file without read permission was "truncated or not gzip ...; download it again"
    (as root the mode is not enforced here, so the open is made to refuse)."""
    import gzip

    from aekit.data.idx import read_idx, write_idx

    write_idx(tmp_path / "x-idx3-ubyte.gz", np.zeros((2, 3, 3), np.uint8))

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(gzip, "open", denied)
    with pytest.raises(DataError, match=r"x-idx3-ubyte.gz cannot be read \(Permission denied\); check its permissions$"):
        read_idx(tmp_path / "x-idx3-ubyte.gz")


def test_a_folder_named_as_a_data_set_of_aekits_is_said(tmp_path, monkeypatch):
    """A paths trial: in a folder holding ./digits/ (one's images), data.name=digits read scikit-learn's digits
    without a word."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits").mkdir()
    with pytest.warns(UserWarning, match=r"'digits' reads aekit's data set of that name, not the ./digits here; give "
                                         r"./digits to read that"):
        assert load_dataset("digits").name == "digits"
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path))  # a review: in the data folder, its own copy is no other
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset("digits")


def test_a_column_squeezed_by_outliers_or_by_one_range_is_said(tmp_path):
    """A qualities trial: a column with 15 huge values in 6,000 came back worse than a constant, and columns of 1e-6
    beside ones of 1e3 scaled to nothing, while the run reported a win over PCA; nothing was said."""
    import warnings

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 4))
    x[rng.choice(2000, 8, replace=False), 1] *= 1e4  # outl: a few huge values
    x[:, 3] = (rng.random(2000) < 0.05)  # sparse: constant but for a few values, not said
    rows = ["a,outl,c,sparse"] + [",".join(f"{v:.6g}" for v in r) for r in x]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"t.csv: 1 column \('outl'\) varies over less than 0.1% of \[0, 1\] once scaled"):
        load_dataset(str(tmp_path / "t.csv"))
    np.save(tmp_path / "mask.npy", rng.random((100, 5)) > 0.5)  # a bool table (a review: np.quantile refused it)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(str(tmp_path / "mask.npy"))
    tiny = np.concatenate([rng.normal(size=(500, 3)) * 1e3, rng.normal(size=(500, 1)) * 1e-6 + 5], axis=1)
    np.save(tmp_path / "tiny.npy", tiny.astype(np.float32))
    with pytest.warns(UserWarning, match=r"1 column \(column 3\) varies over less than 0.1%"):
        load_dataset(str(tmp_path / "tiny.npy"), scale="global")


def test_test_texts_copied_from_train_are_said(tmp_path):
    """A text trial: all 160 test texts copied into train/ trained and evaluated without a word."""
    import shutil
    import warnings

    _texts(tmp_path / "news" / "train", ["sport", "business"], 6, 0)
    _texts(tmp_path / "news" / "test", ["sport", "business"], 3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(str(tmp_path / "news"), "test")
    shutil.copy(tmp_path / "news" / "test" / "sport" / "0.txt", tmp_path / "news" / "train" / "sport" / "copy.txt")
    with pytest.warns(UserWarning, match=r"news: 1 of 6 test texts are also in train/, word for word"):
        load_dataset(str(tmp_path / "news"), "test")


def test_a_note_on_train_texts_is_said_once_by_a_run_on_train_and_test(tmp_path, capsys):
    """A text trial: '85 of 320 texts are not UTF-8' came twice, train/ being read again for the test part."""
    from aekit.apps.cli import main

    _texts(tmp_path / "news" / "train", ["sport", "business"], 6, 0)
    _texts(tmp_path / "news" / "test", ["sport", "business"], 3, 1)
    (tmp_path / "news" / "train" / "sport" / "l1.txt").write_bytes("café goal naïve cup".encode("latin-1"))
    assert main(["train", f"data.name={tmp_path / 'news'}", "train.epochs=1", f"output.dir={tmp_path}", "--quiet"]) == 0
    assert capsys.readouterr().err.count("not UTF-8") == 1


def test_a_column_counting_the_rows_of_an_array_is_said_as_a_csvs_id_column_is(tmp_path):
    """A qualities trial: a CSV's column named id was said, the same numbers in an .npz were not (and the test rows'
    identifiers, beyond the training range, made most of the test error)."""
    import warnings

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(300, 3)), rng.permutation(np.arange(1000, 1300))[:, None]], axis=1)
    np.savez(tmp_path / "t.npz", x_train=x, x_test=x[:20])
    with pytest.warns(UserWarning, match=r"t.npz: column 3 holds a different whole number each row, 1000 to 1299 "
                                         r"\(a row identifier\?\)"):
        load_dataset(str(tmp_path / "t.npz"))
    np.save(tmp_path / "counts.npy", rng.integers(0, 5, (300, 4)))  # whole numbers, not one a row: not said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(str(tmp_path / "counts.npy"))


def test_new_samples_stored_in_other_units_than_the_training_data_are_said(tmp_path):
    """An anomaly trial: images as floats in [0, 1], scored by a run trained on uint8 0..255, were divided by 255
    again (every image near black) and scored without a word; the anomalies went unflagged."""
    import warnings

    from aekit.apps.cli import main

    images = np.random.default_rng(0).integers(0, 256, (60, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "train.npy", images)
    assert main(["train", f"data.name={tmp_path / 'train.npy'}", "model.name=dense", "model.hidden=[8]",
                 "model.code_size=2", "train.epochs=1", f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 0
    np.save(tmp_path / "floats.npy", images[:10].astype(np.float32) / 255)
    with pytest.warns(UserWarning, match=r"floats.npy: its values are floats in \[0, 1\], and the run's training data "
                                         r"spanned 255: stored in other units"):
        load_dataset(str(tmp_path / "floats.npy"), like=tmp_path / "r")
    np.save(tmp_path / "same.npy", images[:10])
    np.save(tmp_path / "dark.npy", images[:10] // 64)  # dark, not black: the same units (a review's false alarm)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(str(tmp_path / "same.npy"), like=tmp_path / "r")
        load_dataset(str(tmp_path / "dark.npy"), like=tmp_path / "r")


def test_a_headerless_csvs_label_column_is_said_and_the_start_line_says_there_is_no_header(tmp_path, capsys):
    """A public-data trial: MNIST as pjreddie's CSV (no header, the label first), covtype's and the Wisconsin
    breast-cancer file's (the class last) trained with the labels as an input, and the first line said nothing."""
    import warnings

    from aekit.apps.cli import main

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    np.savetxt(tmp_path / "first.csv", np.column_stack([rng.integers(0, 10, 300), x]), delimiter=",", fmt="%.5g")
    np.savetxt(tmp_path / "last.csv", np.column_stack([x, rng.choice([2, 4], 300)]), delimiter=",", fmt="%.5g")
    glass = rng.choice([1, 2, 3, 5, 6, 7], 300)  # glass's classes, 4 missing; a fraud flag, 95% zeros (a review)
    np.savetxt(tmp_path / "glass.csv", np.column_stack([x, glass]), delimiter=",", fmt="%.5g")
    np.savetxt(tmp_path / "fraud.csv", np.column_stack([x, np.arange(300) % 20 == 0]), delimiter=",", fmt="%.5g")
    for name, where, values in (("first", "first", "10 different whole numbers (0 to 9)"),
                                ("last", "last", "2 different whole numbers (2 to 4)"),
                                ("glass", "last", "6 different whole numbers (1 to 7)"),
                                ("fraud", "last", "2 different whole numbers (0 to 1)")):
        with pytest.warns(UserWarning, match=rf"{name}.csv has no header row, and its {where} column holds {re.escape(values)}"
                                             r": labels\? They are read as an input; a header row naming that column"):
            load_dataset(str(tmp_path / f"{name}.csv"))
    np.savetxt(tmp_path / "plain.csv", x, delimiter=",", fmt="%.5g")
    pixels = np.zeros((300, 6), dtype=int)  # a pixel column, nearly all 0, and values not evenly spaced (a review)
    pixels[:20, 0], pixels[:40, -1] = rng.choice([0, 2, 4], 20), rng.choice([0, 7, 38], 40)
    np.savetxt(tmp_path / "pixels.csv", pixels, delimiter=",", fmt="%d")
    cancer = np.column_stack([rng.integers(1, 11, (300, 9)), rng.choice([2, 4], 300)])  # whole numbers throughout,
    np.savetxt(tmp_path / "cancer.csv", cancer, delimiter=",", fmt="%d")  # the class 2/4 beside 1..10 (a review)
    with pytest.warns(UserWarning, match=r"cancer.csv has no header row, and its last column holds 2 different whole"):
        load_dataset(str(tmp_path / "cancer.csv"))
    np.savetxt(tmp_path / "counts.csv", rng.poisson(2.0, (300, 40)), delimiter=",", fmt="%d")  # a count matrix: its
    with warnings.catch_warnings():  # last column like the others, no label (a quality trial: "labels?")
        warnings.simplefilter("error")
        load_dataset(str(tmp_path / "plain.csv"))
        load_dataset(str(tmp_path / "pixels.csv"))
        load_dataset(str(tmp_path / "counts.csv"))
    assert main(["train", f"data.name={tmp_path / 'plain.csv'}", "train.epochs=1", f"output.dir={tmp_path}"]) == 0
    assert "no header row: all 5 columns are inputs" in capsys.readouterr().out.splitlines()[0]


def test_tables_saved_as_txt_or_data_are_told_how_to_be_read(tmp_path):
    """A public-data trial: UCI HAR's X_train.txt was 'unsupported ... text corpora go through text_corpus', a folder
    of them read each file as one text of number words, and iris.data was 'unsupported file type'."""
    rng = np.random.default_rng(0)
    (tmp_path / "har" / "train").mkdir(parents=True)
    np.savetxt(tmp_path / "har" / "train" / "X_train.txt", rng.normal(size=(30, 12)), fmt="%.7e")
    np.savetxt(tmp_path / "har" / "train" / "y_train.txt", rng.integers(1, 7, 30), fmt="%d")
    with pytest.raises(DataError, match=r"X_train.txt: unsupported file type '.txt'; .*: numbers, a table .*np.loadtxt"):
        load_dataset(str(tmp_path / "har" / "train" / "X_train.txt"))
    with pytest.raises(DataError, match=r"train: X_train.txt holds numbers, a table .*; a folder of .txt files is a text"):
        load_dataset(str(tmp_path / "har" / "train"))
    (tmp_path / "har" / "train" / "y_train.txt").unlink()
    for note in ("README.txt", "LICENSE.txt"):  # a table beside notes is no corpus (a review: read as 3 texts)
        (tmp_path / "har" / "train" / note).write_text("Human Activity Recognition Using Smartphones, version 1.0")
    with pytest.raises(DataError, match=r"X_train.txt holds numbers, a table"):
        load_dataset(str(tmp_path / "har" / "train"))
    (tmp_path / "iris.data").write_text("5.1,3.5,1.4,0.2,Iris-setosa\n4.9,3.0,1.4,0.2,Iris-setosa\n")
    with pytest.raises(DataError, match=r"iris.data: unsupported file type '.data'; .*: UCI's .data files are "
                                        r"comma-separated tables: save it as a .csv with a header row"):
        load_dataset(str(tmp_path / "iris.data"))


def test_public_data_files_as_downloaded_get_notes_that_fit(tmp_path):
    """A public-data trial: adult.test's '>50K.' beside train's '>50K' was numbered as a new class without a word;
    fashion-mnist_train.csv trained without fashion-mnist_test.csv beside it, unsaid; '?' for a missing value got the
    advice for categories; one CIFAR-10 batch got the raw .bin recipe (its records start with a label byte)."""
    rng = np.random.default_rng(0)
    (tmp_path / "kg").mkdir()
    for part, mark, n in (("train", "", 60), ("test", ".", 20)):
        rows = ["a,b,class"] + [f"{x:.3f},{y:.3f},{'>50K' if i % 2 else '<=50K'}{mark}"
                                for i, (x, y) in enumerate(rng.normal(size=(n, 2)))]
        (tmp_path / "kg" / f"{part}.csv").write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"test.csv: classes '<=50K.', '>50K.' are not among the training data's "
                                         r"\('<=50K', '>50K'\): numbered after them"):
        load_dataset(str(tmp_path / "kg"), "test")
    for part in ("train", "test"):
        np.savetxt(tmp_path / f"fashion-mnist_{part}.csv", np.column_stack([np.arange(20) % 3, rng.random((20, 3))]),
                   delimiter=",", header="label,a,b,c", comments="", fmt="%.4g")
    with pytest.warns(UserWarning, match=r"fashion-mnist_test.csv beside it is not read as its test part"):
        load_dataset(str(tmp_path / "fashion-mnist_train.csv"))
    (tmp_path / "wdbc.csv").write_text("a,b\n1,2\n3,?\n")
    with pytest.raises(DataError, match=r"column 'b', line 3 holds '\?', a missing value as UCI's files mark one"):
        load_dataset(str(tmp_path / "wdbc.csv"))
    (tmp_path / "data_batch_1.bin").write_bytes(bytes(3073))
    with pytest.raises(DataError, match=r"one of CIFAR-10's batches, read by name: keep all six in a folder "
                                        r"cifar-10-batches-bin/ and give data.name=cifar10"):
        load_dataset(str(tmp_path / "data_batch_1.bin"))


def test_evaluate_of_new_rows_sets_them_beside_the_runs_own_error(tmp_path, capsys, monkeypatch):
    """A production trial: month 2's rows scored 42 times the run's validation error, and nothing said so. An anomaly
    trial: a file of normal rows and a few faults was said to have drifted (its mean raised by the faults), and a
    folder of defects alone was not (the run's own figure, its test part's, held defects too): medians of the run's
    validation samples and of the new ones, and the share above the validation's 99th percentile."""
    from aekit.apps import run as run_module

    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 6))
    header = ",".join(f"c{i}" for i in range(6))
    for name, shift in (("month1", 0.0), ("month2", 0.0), ("drifted", 4.0), ("faults", 0.0)):
        rows = rng.normal(size=(1000, 3)) @ w + shift
        if name == "faults":  # 100 of 1,000 rows off the plane: anomalies, not drift
            rows[:100] += rng.normal(size=(100, 6)) * 3
        np.savetxt(tmp_path / f"{name}.csv", rows, delimiter=",", header=header, comments="")
    assert main(["train", f"data.name={tmp_path / 'month1.csv'}", "train.epochs=2", "model.code_size=2",
                 f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    typical = metrics["typical_error"]
    assert typical["split"] == "val" and typical["n"] == metrics["n"] and 0 < typical["median"] < typical["p99"]
    capsys.readouterr()
    said = {}
    for name in ("drifted", "month2", "faults"):
        assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / f"{name}.csv")]) == 0
        said[name] = capsys.readouterr().out
    assert re.search(rf"the median error of the run's own val samples \(metrics.json\): {typical['median']:.4g}; these "
                     r"samples': [\d.e+-]+, [\d.]+ times it: most are unlike the data it trained on", said["drifted"])
    for name in ("month2", "faults"):
        assert "the median error of the run's own val samples" in said[name] and "unlike the data" not in said[name]
    share = [float(re.search(r"([\d.]+)% of these samples score above the 99th percentile", said[n])[1])
             for n in ("month2", "faults")]
    assert share[0] < 4 and share[1] >= 9  # the faults are what a threshold there flags
    rows = rng.normal(size=(300, 3)) @ w  # no validation part, a test part half anomalies: the training part's
    test = np.r_[rng.normal(size=(20, 3)) @ w, rng.normal(size=(20, 6)) * 3]  # errors are the typical ones (a review:
    np.savez(tmp_path / "mv.npz", x=rows, x_test=test)  # the test part's p99 was a defect's)
    assert main(["train", f"data.name={tmp_path / 'mv.npz'}", "data.val_fraction=0", "train.epochs=2",
                 "model.code_size=2", f"output.dir={tmp_path}", "output.name=mv", "--quiet"]) == 0
    typical = json.loads((tmp_path / "mv" / "metrics.json").read_text())["typical_error"]
    assert typical["split"] == "train" and typical["n"] == 300
    monkeypatch.setattr(run_module, "TYPICAL_SAMPLES", 120)  # a seeded sample of a big part (a review: 60,000 rows)
    assert main(["evaluate", str(tmp_path / "mv"), "--quiet"]) == 0
    assert json.loads((tmp_path / "mv" / "metrics.json").read_text())["typical_error"]["n"] == 120
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / "month2.csv")]) == 0
    assert "the 99th percentile of the run's own val samples" in capsys.readouterr().out  # 100 of them: not rough
    del metrics["typical_error"]  # a metrics.json of before: read as it was then
    (tmp_path / "r" / "metrics.json").write_text(json.dumps(metrics))
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / "drifted.csv")]) == 0
    assert re.search(rf"the run's own val error \(metrics.json\): {metrics['squared_error_per_sample']:.4g}; these "
                     r"samples' is [\d.]+ times it: unlike the data it trained on", capsys.readouterr().out)


def test_scores_carry_each_samples_code_for_a_system_downstream(table_run, capsys):
    """A production trial: codes of new rows came only from Python or an exported encoder; `--codes` puts them in
    the scores file, row by row, as the model encodes the rows read by the run's scaling."""
    tmp_path, _, _, model = table_run
    out = tmp_path / "scores.csv"
    assert main(["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "new.csv"), "--scores", str(out),
                 "--codes"]) == 0
    assert "and its code)" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    codes = np.array([[float(r[f"code_{j}"]) for j in range(3)] for r in rows])
    expected = model.encode_array(load_dataset(str(tmp_path / "new.csv"), like=tmp_path / "run"))
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-6)
    assert main(["evaluate", str(tmp_path / "run"), "--codes"]) == 2
    assert "--codes: writes each sample's code beside its score; give --scores FILE.csv too" in capsys.readouterr().err


def test_test_values_outside_the_training_range_name_their_columns_in_a_table_without_a_header(tmp_path, capsys):
    """A quality trial: for an .npz table the note said 100 of 100 samples were outside the range, naming no column
    (a CSV's named its columns)."""
    rng = np.random.default_rng(0)
    train, test = rng.random((200, 6)), rng.random((40, 6))
    test[:, 4] += 50  # one column far past its training range
    np.savez(tmp_path / "t.npz", x_train=train.astype(np.float32), x_test=test.astype(np.float32))
    assert main(["train", f"data.name={tmp_path / 't.npz'}", "train.epochs=1", "model.code_size=2",
                 f"output.dir={tmp_path}", "--quiet"]) == 0
    assert "40 of 40 samples have values outside the training range (most in 'column 4'" in capsys.readouterr().out


def test_upper_case_suffixes_are_read_as_their_lower_case_ones(tmp_path):
    """A portability review: T2.CSV and X.NPY, as Windows tools and cameras name files, were refused ("unsupported file
    type '.CSV'"), where image suffixes were matched in any case."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.random((30, 6)).astype(np.float32))
    (tmp_path / "x.npy").rename(tmp_path / "X.NPY")
    np.savez(tmp_path / "d.npz", x_train=rng.random((30, 6)), x_test=rng.random((10, 6)))
    (tmp_path / "d.npz").rename(tmp_path / "D.NPZ")
    np.savetxt(tmp_path / "T.CSV", rng.random((30, 4)), delimiter=",", header="a,b,c,d", comments="")
    assert load_dataset(str(tmp_path / "X.NPY")).x.shape == (30, 6)
    assert load_dataset(str(tmp_path / "D.NPZ"), split="test").x.shape == (10, 6)
    assert load_dataset(str(tmp_path / "T.CSV")).x.shape == (30, 4)


def test_a_data_file_given_through_a_link_is_saved_as_the_link(tmp_path, monkeypatch, capsys):
    """A cluster trial: data staged to each job's own $TMPDIR, reached through a link at a fixed path, was saved as the
    link's target, which the requeued job had lost (config.yaml names the path the user gave, made absolute)."""
    from aekit.apps.cli import main

    monkeypatch.chdir(tmp_path)
    first = tmp_path / "job1" / "x.npy"
    first.parent.mkdir()
    np.save(first, np.random.default_rng(0).random((120, 6)).astype("float32"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.npy").symlink_to(first)
    assert main(["train", "data.name=data/x.npy", "train.epochs=1", "--quiet", "output.name=r"]) == 0
    assert yaml.safe_load((tmp_path / "runs" / "r" / "config.yaml").read_text())["data"]["name"] == str(tmp_path / "data" / "x.npy")
    second = tmp_path / "job2" / "x.npy"  # the next job's copy, the first job's gone
    second.parent.mkdir()
    first.rename(second)
    (tmp_path / "data" / "x.npy").unlink()
    (tmp_path / "data" / "x.npy").symlink_to(second)
    assert main(["resume", "runs/r", "--epochs", "2", "--quiet"]) == 0
    (tmp_path / "real").mkdir()  # a review: link/../x.npy is the folder the link points to's parent's x.npy
    np.save(tmp_path / "real" / "x.npy", np.zeros((120, 6), dtype="float32"))
    (tmp_path / "real" / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real" / "sub")
    assert main(["train", "data.name=link/../x.npy", "train.epochs=1", "--quiet", "output.name=up"]) == 0
    assert yaml.safe_load((tmp_path / "runs" / "up" / "config.yaml").read_text())["data"]["name"] == str(tmp_path / "real" / "x.npy")
    from aekit.apps.run import whole_data_name

    (tmp_path / "staged").symlink_to(tmp_path / "job2")  # a folder link: kept too (a review: saved as its target)
    assert whole_data_name("staged/x.npy") == str(tmp_path / "staged" / "x.npy")
    capsys.readouterr()


def test_a_csv_header_of_numbers_in_steps_names_the_columns(tmp_path):
    """A bug hunt: a header of wavelengths (400,450,...,650) was read as a sample, and its 650 squeezed the real
    rows' values in [0, 1] into [0, 0.0015], where every model's error looks tiny."""
    rows = np.random.default_rng(0).random((50, 6))
    text = "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows)
    (tmp_path / "spectra.csv").write_text("400,450,500,550,600,650\n" + text + "\n")
    with pytest.warns(UserWarning, match=r"its first line \(400, 450, 500, \.\.\.\), whole numbers in one step above "
                                         "rows of other values, is read as the columns' names"):
        data = load_dataset(str(tmp_path / "spectra.csv"))
    assert len(data) == 50 and data.meta["columns"] == ["400", "450", "500", "550", "600", "650"]
    assert float(data.x.max()) > 0.9  # the rows' own range
    (tmp_path / "counts.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")  # whole numbers below: samples, not names
    assert len(load_dataset(str(tmp_path / "counts.csv"))) == 3
    (tmp_path / "ints.csv").write_text("1,2,3,4,5\n0,3,5,1,2\n4,4,0,2,1\n")  # (a review: an integer table lost a row)
    assert len(load_dataset(str(tmp_path / "ints.csv"))) == 3
    (tmp_path / "zeros.csv").write_text("0,0,0\n1,2,3\n")  # no step: a sample
    assert len(load_dataset(str(tmp_path / "zeros.csv"))) == 2
    (tmp_path / "dark.csv").write_text("400,450,500,550,600,650\n0,0,0,0,0,0\n" + text + "\n")  # (a review: a first
    assert len(load_dataset(str(tmp_path / "dark.csv"))) == 51  # row of zeros made the wavelengths a sample again)
    counts = np.random.default_rng(1).integers(0, 50, (20, 4))
    (tmp_path / "years.csv").write_text("2019,2020,2021,2022\n" + "\n".join(",".join(map(str, r)) for r in counts))
    assert load_dataset(str(tmp_path / "years.csv")).meta["columns"] == ["2019", "2020", "2021", "2022"]


@pytest.mark.parametrize("scale", ["standard", "column", "auto"])
def test_a_test_part_of_other_columns_is_refused_under_a_map_per_column(tmp_path, scale):
    """A bug hunt: under data.scale=standard a test part of one column was broadcast over the training part's five
    columns' means and deviations, and tested as five-column samples."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "t.npz", x_train=rng.normal(size=(100, 5)) * [1, 10, 100, 1000, 1e4], x_test=rng.normal(size=(30, 1)))
    with pytest.raises(DataError, match=r"samples of shape \[1\], but the training samples have shape \[5\]; save both "):
        load_dataset(str(tmp_path / "t.npz"), "test", scale=scale)


def test_a_memory_mapped_idx_test_part_is_scaled_by_its_training_part(tmp_path, monkeypatch):
    """A bug hunt: a raw IDX test file big enough to stay on disk was scaled by its own range (0..500), the
    training part by 0..1000; a smaller file of the same values was scaled right."""
    def write(path, a):  # IDX, big-endian int16
        path.write_bytes(bytes([0, 0, 0x0B, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
                         + a.astype(">i2").tobytes())

    train = np.random.default_rng(0).integers(0, 1001, (20, 8, 8)).astype(np.int16)
    train[0, 0, 0] = 1000
    test = np.full((60, 8, 8), 250, np.int16)
    test[:, 0, 0] = 500
    write(tmp_path / "train-images-idx3-ubyte", train)
    write(tmp_path / "t10k-images-idx3-ubyte", test)
    monkeypatch.setattr(files, "MMAP_BYTES", train.nbytes + 100)  # the test file (3 times bigger) stays on disk
    part = load_dataset(str(tmp_path / "train-images-idx3-ubyte"), "test")
    assert type(part.x).__name__ == "MemmapArray" and part.meta["unit_map"] == (0.0, 1000.0)
    assert float(part.x[0][0, 1, 1]) == pytest.approx(0.25)


def test_column_scaling_of_memory_mapped_images_is_refused_as_in_memory(tmp_path, monkeypatch):
    """A bug hunt: data.scale=column was refused for a small .npy of images and applied a pixel at a time to one
    over MMAP_BYTES, which stays on disk."""
    np.save(tmp_path / "img.npy", np.random.default_rng(0).random((40, 16, 16)).astype(np.float32))
    for limit in (files.MMAP_BYTES, 1000):
        monkeypatch.setattr(files, "MMAP_BYTES", limit)
        with pytest.raises(DataError, match="data.scale 'column' scales the columns of a table, and these samples are "
                                            r"arrays \[1, 16, 16\]"):
            load_dataset(str(tmp_path / "img.npy"), scale="column")


@pytest.mark.parametrize("row", ["#N/A,0.2,1", "0.1,#DIV/0!,1", '0.1,0.2,"#N/A"', "0.1, #VALUE!,1", "#SPILL!,0.2,1",
                                 "#n/a,0.2,1", "0.1,#ERROR!,1"])
def test_a_spreadsheets_error_value_is_refused_by_line_wherever_it_is(tmp_path, row):
    """A bug hunt: numpy takes '#' for a comment's start, so a row beginning with #N/A was dropped without a word (and
    its label file read alike, so the counts agreed), and #N/A as a label was said to be an empty label."""
    (tmp_path / "t.csv").write_text(f"a,b,label\n0.1,0.2,0\n{row}\n0.3,0.4,1\n")
    with pytest.raises(DataError, match=r"t.csv: line 3 holds '#[A-Za-z/0!]+', a spreadsheet's error value"):
        load_dataset(str(tmp_path / "t.csv"))
    (tmp_path / "c.csv").write_text("a,b\n0.1,0.2\n# exported 2026-12-07, #N/A cells removed\n0.3,0.4\n")
    assert len(load_dataset(str(tmp_path / "c.csv"))) == 2  # a comment line is one still
    (tmp_path / "n.csv").write_text("a,b\n0.1,0.2\n#Note? row dropped\n0.3,0.4\n")  # (a review: refused as an error)
    assert len(load_dataset(str(tmp_path / "n.csv"))) == 2
    (tmp_path / "q.csv").write_text('a,b,label\n0.1,0.2,"Smith, #N/A"\n0.3,0.4,Jones\n')  # (a review: quoted text)
    assert load_dataset(str(tmp_path / "q.csv")).classes == ["Jones", "Smith, #N/A"]


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_float32_rounding_of_a_npy_tables_column_is_said_as_a_csvs(tmp_path, dtype, monkeypatch):
    """A bug hunt: a CSV's timestamps a few seconds apart near 1.7e9 were said to fall together in float32; the same
    column in a .npy was not."""
    times = 1_700_000_000 + np.cumsum(np.random.default_rng(0).integers(1, 20, 300))
    np.save(tmp_path / "t.npy", np.stack([times, np.arange(300) % 7], 1).astype(dtype))
    for limit in (files.MMAP_BYTES, 1000):  # in memory, and memory-mapped (a review: unsaid for a big file)
        monkeypatch.setattr(files, "MMAP_BYTES", limit)
        with pytest.warns(UserWarning, match=r"t.npy: float32, which aekit reads values in, keeps steps of 128 in column 0"):
            load_dataset(str(tmp_path / "t.npy"))


def test_images_of_two_channels_stored_channel_last_are_said_to_be_read_channel_first(tmp_path):
    """A bug hunt: (N, 16, 16, 2) was read as 16 channels of 16 x 2 images without a word (1, 3 and 4 channels are
    recognised last)."""
    np.save(tmp_path / "two.npy", np.random.default_rng(0).random((20, 16, 16, 2)).astype(np.float32))
    with pytest.warns(UserWarning, match=r"is read as \(N, C, H, W\), 16 channels of 16 x 2 images; if its last axis "
                                         "holds 2 channels, give data.layout=nhwc"):
        load_dataset(str(tmp_path / "two.npy"))
    assert load_dataset(str(tmp_path / "two.npy"), layout="nhwc").sample_shape == (2, 16, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.save(tmp_path / "four.npy", np.random.default_rng(0).random((20, 4, 16, 16)).astype(np.float32))
        load_dataset(str(tmp_path / "four.npy"))  # channel-first as it is: nothing said


def test_labels_of_minus_one_are_said_to_read_as_unlabelled(tmp_path):
    """A review: a CSV of -1/+1 classes kept -1, which retrieval, accuracy and the semi-supervised models read as
    'unlabelled', without a word."""
    (tmp_path / "pm.csv").write_text("a,b,label\n" + "".join(f"{i},{i % 3},{1 if i % 2 else -1}\n" for i in range(10)))
    with pytest.warns(UserWarning, match=r"pm.csv: 5 of 10 labels are -1, which aekit reads as unlabelled .* if -1 is a "
                                         r"class, number the classes from 0$"):
        data = load_dataset(str(tmp_path / "pm.csv"))
    assert sorted(set(data.y.tolist())) == [-1, 1]
    (tmp_path / "01.csv").write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(10)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(str(tmp_path / "01.csv"))


def test_windows_of_a_series_are_said_and_their_validation_part_can_be_the_last_rows(tmp_path, capsys):
    """A quality trial: windows of one series a step apart, their validation part drawn at random, nearly repeated
    training windows, and restore_best kept an epoch chosen on them (1.17x PCA's test error at code size 2, 0.71x with
    the last rows held out)."""
    from aekit.apps.run import load_data, load_run_config

    series = np.cumsum(np.random.default_rng(0).normal(size=400))
    windows = np.lib.stride_tricks.sliding_window_view(series, 16)  # (385, 16), a step apart
    np.savez(tmp_path / "w.npz", x_train=windows[:300], x_test=windows[320:])
    args = ["train", f"data.name={tmp_path / 'w.npz'}", "model.code_size=2", "train.epochs=1", f"output.dir={tmp_path}"]
    assert main([*args, "output.name=drawn", "--quiet"]) == 0
    assert "w: each row is the one before it shifted by a step (windows of one series)" in capsys.readouterr().err
    assert main([*args, "output.name=last", "data.val_split=last", "--quiet"]) == 0
    assert "shifted by a step" not in capsys.readouterr().err
    train, val = load_data(load_run_config(tmp_path / "last" / "config.yaml"))
    assert len(train) == 270 and len(val) == 30 and torch.equal(val.x, load_dataset(str(tmp_path / "w.npz")).x[270:])
    with pytest.raises(aekit.ConfigError, match=r"^data.val_split: 'last' holds out the last data.val_fraction of the "):
        load_run_config(None, [f"data.name={tmp_path / 'w.npz'}", "data.val_split=last", "data.val_fraction=0"])
    two = np.stack([windows, windows * 0.5], axis=1)  # (385, 2, 16): channels named where values leave the range
    test = two[320:].copy()  # (a quality trial: unnamed for C x T signals)
    test[:, 1] += 100
    np.savez(tmp_path / "c.npz", x_train=two[:300], x_test=test)
    assert main(["train", f"data.name={tmp_path / 'c.npz'}", "model.code_size=2", "train.epochs=1", "data.val_split=last",
                 f"output.dir={tmp_path}", "output.name=c"]) == 0
    assert "65 of 65 samples have values outside the training range (most in 'channel 1'" in capsys.readouterr().out
    rows = np.random.default_rng(1).normal(size=(300, 16))  # rows of a table: no note
    np.save(tmp_path / "t.npy", rows)
    assert main(["train", f"data.name={tmp_path / 't.npy'}", "train.epochs=1", f"output.dir={tmp_path}", "--quiet"]) == 0
    assert "shifted by a step" not in capsys.readouterr().err
    from aekit.apps.run import shifted_windows

    t = np.linspace(0, 1, 128)  # a review: smooth rows alike, each another sample, were read as windows
    rng = np.random.default_rng(2)
    spectra = np.exp(-((t - rng.uniform(0.4, 0.6, (300, 1))) / 0.2) ** 2)  # one peak a row
    classes = np.sort(rng.integers(0, 3, 300))[:, None] * 0.2 + np.sin(6 * t) + 0.01 * rng.normal(size=(300, 128))
    growth = 1 / (1 + np.exp(-10 * (t - rng.uniform(0.3, 0.7, (300, 1)))))
    frames = rng.random((50, 1, 32, 32))  # images are not signals
    for smooth in (spectra, classes, growth, frames):
        assert not shifted_windows(torch.from_numpy(smooth).float())
    assert shifted_windows(torch.from_numpy(windows).float())


def test_messy_tables_a_hunt_brought(tmp_path):
    """A messy-files hunt: numpy took a '#' anywhere for a comment (labels "C#" and "room #3" cut short, classes
    merged; a class written "#0" dropped unsaid); a label column named twice fed the second in as an input; a missing
    label ("NA", "?") was a class of its own; an empty float64 .npy was an "unexpected" ValueError."""
    rows = [f"{'C#' if i % 2 else 'room #3'},{i % 5},{i % 7}" for i in range(20)]
    (tmp_path / "sharp.csv").write_text("label,a,b\n" + "\n".join(rows) + "\n")
    data = load_dataset(str(tmp_path / "sharp.csv"))
    assert data.classes == ["C#", "room #3"] and data.x.shape == (20, 2)
    (tmp_path / "hashed.csv").write_text("label,a,b\n" + "\n".join(r.replace("room #3", "#0") for r in rows) + "\n")
    with pytest.warns(UserWarning, match=r"10 line\(s\) starting with '#' \(line 2, 4, 6 \.\.\.\) are left out as comments"):
        assert load_dataset(str(tmp_path / "hashed.csv")).x.shape == (10, 2)
    (tmp_path / "twice.csv").write_text("a,label,label\n" + "\n".join(f"{i},{i % 2},{i % 3}" for i in range(20)) + "\n")
    with pytest.raises(DataError, match="2 columns are named 'label', which names labels; keep one"):
        load_dataset(str(tmp_path / "twice.csv"))
    for mark in ("NA", "?", "nan"):
        (tmp_path / "missing.csv").write_text("a,label\n" + "\n".join(f"{i},{mark if i == 3 else i % 2}" for i in range(20)))
        with pytest.raises(DataError, match=rf"1 label\(s\) in column 'label' mark a missing value \('{re.escape(mark)}'\)"):
            load_dataset(str(tmp_path / "missing.csv"))
    (tmp_path / "euro.csv").write_text("a;b\n0,5;1,5\n")
    with pytest.raises(DataError, match=re.escape("pd.read_csv(path, sep=';', decimal=',')")):
        load_dataset(str(tmp_path / "euro.csv"))
    np.save(tmp_path / "empty.npy", np.zeros((0, 5)))
    with pytest.raises(DataError, match="the data set is empty"):
        load_dataset(str(tmp_path / "empty.npy"))


def test_messy_picture_folders_a_hunt_brought(tmp_path):
    """A messy-files hunt: pictures in a linked folder inside a class folder were left out unsaid (pathlib's ** does
    not follow links); a test part's class folders named in decomposed Unicode (as macOS writes them) were classes of
    their own; an animated GIF's other frames were dropped unsaid."""
    def picture(where, value, **kw):
        where.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), value, np.uint8)).save(where, **kw)

    for i in range(3):
        picture(tmp_path / "linked" / "a" / f"{i}.png", 10 * i)
        picture(tmp_path / "elsewhere" / f"{i}.png", 100 + i)
    (tmp_path / "linked" / "a" / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere" / "loop").symlink_to(tmp_path / "elsewhere", target_is_directory=True)  # walked once
    picture(tmp_path / "linked" / "b" / "0.png", 200)
    assert len(load_dataset(str(tmp_path / "linked"))) == 7
    for part, form in (("train", "NFC"), ("test", "NFD")):
        for name in ("café", "thé"):
            picture(tmp_path / "accents" / part / unicodedata.normalize(form, name) / "0.png", 50)
    test = load_dataset(str(tmp_path / "accents"), split="test")
    assert test.classes == ["café", "thé"] and sorted(test.y.tolist()) == [0, 1]
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 240)]
    (tmp_path / "moving").mkdir()
    for i in range(2):
        frames[0].save(tmp_path / "moving" / f"{i}.gif", save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match="2 files hold several frames or pages .* of which the first alone is read"):
        load_dataset(str(tmp_path / "moving"))


def test_comment_lines_a_review_brought(tmp_path):
    """A review of the comment lines: a quoted value's later line starting with '#' was taken for a comment (rows
    merged into one label); a quoted "#1", as the docs advise, beside a NaN or a short row was an "unexpected"
    StopIteration or IndexError (the error's reader still took it for a comment, numpy did not)."""
    (tmp_path / "multi.csv").write_text('x1,x2,label\n1,2,"two\n#lines"\n3,4,b\n5,6,a\n')
    data = load_dataset(str(tmp_path / "multi.csv"))
    assert len(data) == 3 and data.classes == ["a", "b", "two\n#lines"]
    (tmp_path / "nan.csv").write_text('label,x1,x2\n"#1",1,2\nb,3,4\n"#1",5,nan\n')
    with pytest.raises(DataError, match="column 'x2', line 4: 'nan' is NaN or infinite"):
        load_dataset(str(tmp_path / "nan.csv"))
    (tmp_path / "short.csv").write_text('label,x1,x2\n"#1",1,2\nb,3,4\n"#1",5\n')
    with pytest.raises(DataError, match="line 4 has 2 values, expected 3"):
        load_dataset(str(tmp_path / "short.csv"))
    (tmp_path / "inch.csv").write_text('a,b,label\n0.1,0.2,12" vinyl\n0.3,0.4,single\n# a comment\n0.5,0.6,single\n')
    assert load_dataset(str(tmp_path / "inch.csv")).classes == ['12" vinyl', "single"]  # (a quote inside a value)
    (tmp_path / "bad.csv").write_text("label,x1,x2\n# a note\na,1,2\n# another\nb,3,x\n")
    with pytest.raises(DataError, match=r"column 'x2', line 5: 'x'"):
        load_dataset(str(tmp_path / "bad.csv"))


def test_linked_folders_back_into_the_data_and_names_alike_twice_a_review_brought(tmp_path):
    """A review of the linked folders: one leading back to the data folder or above it (../..), or into another
    class, was walked, its files this class's; two class folders named alike but for Unicode's form were two classes
    of one name."""
    for name in ("a", "b"):
        for i in range(2):
            (tmp_path / "top" / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((4, 4), 50 * i, np.uint8)).save(tmp_path / "top" / name / f"{i}.png")
    for i in range(2):  # a class's own subfolders, read as before (a review: taken for links back and left out)
        (tmp_path / "top" / "b" / f"batch{i}").mkdir()
        Image.fromarray(np.full((4, 4), 9, np.uint8)).save(tmp_path / "top" / "b" / f"batch{i}" / "x.png")
    (tmp_path / "top" / "a" / "up").symlink_to("../..", target_is_directory=True)
    (tmp_path / "top" / "b" / "to_a").symlink_to("../a", target_is_directory=True)
    with pytest.warns(UserWarning, match=r"2 linked folders inside class folders lead back into .* \(a/up, b/to_a\): "
                                         "left out"):
        data = load_dataset(str(tmp_path / "top"))
    assert len(data) == 6 and data.y.tolist() == [0, 0, 1, 1, 1, 1]
    for form in ("NFC", "NFD"):
        (tmp_path / "twice" / unicodedata.normalize(form, "café")).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "twice" / unicodedata.normalize(form, "café") / "0.png")
    with pytest.raises(DataError, match="class folders café are named alike twice"):
        load_dataset(str(tmp_path / "twice"))


def test_scores_of_a_file_scaled_by_one_range_say_their_units(tmp_path, capsys):
    """A surfaces hunt: --scores of a file scaled to [0, 1] by one range were in those units, unsaid (metrics.json kept
    no scaling for it), while `export --raw` works in the file's own: a threshold taken from one was off by the
    divisor squared in the other."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", (rng.random((60, 1, 8, 8)) * 50).astype(np.float32))  # pictures in [0, 50]
    assert main(["train", f"data.name={tmp_path / 'x.npy'}", "model.code_size=2", "model.hidden=[8]", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "r"), "--scores", str(tmp_path / "s.csv"), "--quiet"]) == 0
    assert "squared error in the model's units (the file's values scaled to [0, 1], scaling.json)" in capsys.readouterr().out
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["scaling"] == "one range"


def test_windows_of_a_square_length_and_constant_channels_are_said(tmp_path):
    """A signals trial: one-channel windows (N, 256) were drawn as striped 16 x 16 grey tiles without a word; a
    constant channel went unnamed, and the advice's per-channel scaling divided it by 0 (data refused as NaN)."""
    import warnings

    from aekit.data.core import CHANNELS_SCALED

    rng = np.random.default_rng(0)
    waves = np.sin(2 * np.pi * np.arange(256) / 85 + rng.uniform(0, 6.3, (40, 1))) + rng.normal(0, 0.05, (40, 256))
    np.save(tmp_path / "one.npy", waves.astype(np.float32))
    with pytest.warns(UserWarning, match=r"one.npy: rows of 256 values, a square length, are read as flattened 16 x 16 "
                                         r"images and drawn as pictures; if they are windows of a signal, save them "
                                         r"shaped \(N, 1, T\)"):
        load_path(tmp_path / "one.npy")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        np.save(tmp_path / "odd.npy", rng.normal(size=(40, 250)).astype(np.float32))
        load_path(tmp_path / "odd.npy")  # not a square: curves already
        np.save(tmp_path / "pixels.npy", rng.integers(0, 256, (40, 784), dtype=np.uint8))
        load_path(tmp_path / "pixels.npy")  # whole numbers: flattened images, nothing to say
        np.save(tmp_path / "whole.npy", rng.integers(0, 17, (40, 64)).astype(np.float64))
        load_path(tmp_path / "whole.npy")  # scikit-learn's digits, whole numbers in floats (a review)
        digits = aekit.data.load_dataset("mnist-mini", "test").x[:200].reshape(200, 784).numpy()
        np.save(tmp_path / "digits.npy", digits)
        load_path(tmp_path / "digits.npy")  # flattened images in floats in [0, 1]: alike both ways (a review)
    x = rng.normal(size=(60, 3, 64)).astype(np.float32)
    x[:, 1] *= 1e-3
    x[:, 2] = 5.0
    np.save(tmp_path / "const.npy", x)
    with pytest.warns(UserWarning, match=r"const.npy: its 3 rows .* span from 0 to .* \(channel 2 constant\)"):
        load_path(tmp_path / "const.npy")
    scope = {"x": x, "np": np}
    exec(CHANNELS_SCALED, scope)  # the advice, as the note gives it
    assert np.isfinite(scope["x"]).all() and scope["x"].min() == 0 and scope["x"][:, :2].max() == 1
    assert (scope["x"][:, 2] == 0).all()  # the constant channel shifted to 0
