"""Data bigger than memory: memory-mapped .npy and IDX files, read a batch at a time."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import yaml

import aekit
from aekit.data import Dataset, files, load_dataset, read_idx, scale_to_unit, write_idx
from aekit.data.memmap import MemmapArray

MODEL = dict(input_shape=(1, 28, 28), hidden=(32,), code_size=4)


def tiny(seed: int = 0):
    torch.manual_seed(seed)
    return aekit.create_model("dense", **MODEL)


@pytest.fixture(scope="module")
def digits_u8(mnist_mini):
    """600 real digits as the uint8 bytes they are stored as: (600, 1, 28, 28)."""
    return np.rint(mnist_mini.x[:600].numpy() * 255).astype(np.uint8)


@pytest.fixture
def npy_u8(tmp_path, digits_u8):
    path = tmp_path / "digits.npy"
    np.save(path, digits_u8)
    return path


def test_rows_are_read_in_the_order_asked_and_scaled_like_a_loaded_array(npy_u8, digits_u8):
    a = MemmapArray(np.load(npy_u8, mmap_mode="r"), divisor=255.0)
    loaded = torch.from_numpy(digits_u8.astype(np.float32) / 255.0)
    idx = torch.tensor([500, 3, 77, 3, 0])
    assert torch.equal(a[idx], loaded[idx])  # bit for bit, duplicates and order kept
    assert torch.equal(a[10:20], loaded[10:20]) and torch.equal(a[-1], loaded[-1])
    assert a.shape == loaded.shape and a.dtype == torch.float32 and len(a) == 600
    view = a.subset(np.array([5, 9, 2])).reshape(3, -1)  # lazy: nothing read yet
    assert view.shape == (3, 784) and torch.equal(view[1], loaded[9].reshape(-1))
    with pytest.raises(IndexError):
        a[np.array([600])]
    mm = np.load(npy_u8, mmap_mode="r")
    for part, want in ((mm[100:300], loaded[100:300]), (mm[::7], loaded[::7]), (mm[5:9, :, 3:], loaded[5:9, :, 3:])):
        assert torch.equal(MemmapArray(part, divisor=255.0)[:], want)  # views of the file read right
    assert MemmapArray(mm[::7])._file is not None  # read from the file, not through the mapping


@pytest.mark.parametrize(
    "values",
    [
        np.arange(-5, 300, dtype=np.int16).reshape(61, 5),  # negative ints: min-max
        np.arange(0, 200, dtype=np.int32).reshape(40, 5),  # <= 255: / 255
        np.linspace(-3.0, 7.0, 60).reshape(12, 5),  # floats outside [0, 1]: min-max
        np.linspace(0.0, 1.0, 60, dtype=np.float32).reshape(12, 5),  # already in [0, 1]: as is
    ],
)
def test_scaled_matches_scale_to_unit(tmp_path, values):
    path = tmp_path / "v.npy"
    np.save(path, values)
    lazy = MemmapArray.scaled(np.load(path, mmap_mode="r"), name="v")
    want = scale_to_unit(values, name="v")
    assert np.allclose(lazy[:].numpy(), want, rtol=1e-6, atol=1e-7)


def test_fit_on_a_uint8_memmap_matches_fit_on_the_loaded_array(npy_u8, digits_u8):
    common = dict(epochs=2, batch_size=64, progress=False, seed=1)
    in_memory, mapped = tiny(), tiny()
    h1 = aekit.fit(in_memory, torch.from_numpy(digits_u8.astype(np.float32) / 255.0), **common)
    h2 = aekit.fit(mapped, np.load(npy_u8, mmap_mode="r"), **common)
    assert h1["train_loss"] == h2["train_loss"]
    assert all(torch.equal(v, mapped.state_dict()[k]) for k, v in in_memory.state_dict().items())


def test_training_reads_one_batch_at_a_time(npy_u8, monkeypatch):
    sizes = []
    read = MemmapArray._read_rows

    def counting(self, rows):
        sizes.append(len(rows))
        return read(self, rows)

    monkeypatch.setattr(MemmapArray, "_read_rows", counting)
    x = np.load(npy_u8, mmap_mode="r")
    aekit.fit(tiny(), x[:500], x[500:], epochs=1, batch_size=50, progress=False)
    # uint8 needs only its shape checked (one row per data set), the checkpoint's records of the training and the
    # validation data read three rows each (data_print); then batches (eval: 512 at most)
    assert sizes[:8] == [1] * 8
    assert sizes[8:] == [50] * 10 + [100]


def test_raw_idx_file_memory_mapped(tmp_path, digits_u8):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, digits_u8[:, 0])  # (N, 28, 28) as MNIST stores it
    mm = read_idx(path, mmap=True)
    assert isinstance(mm, np.memmap)
    history = aekit.fit(tiny(), mm, epochs=3, batch_size=64, lr=3e-3, progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_float_memmap_outside_unit_range_is_refused_for_bce(tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.full((10, 784), 3.0, dtype=np.float32))
    with pytest.raises(aekit.DataError, match=r"'bce' needs data in \[0, 1\]"):
        aekit.fit(tiny(), np.load(path, mmap_mode="r"), progress=False)
    np.save(path, np.zeros((10, 784), dtype=np.int16))
    with pytest.raises(aekit.DataError, match="must be uint8 .* or floating point"):
        aekit.fit(tiny(), np.load(path, mmap_mode="r"), progress=False)


def test_large_npy_loads_lazily_and_trains_from_a_config(npy_u8, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(files, "MMAP_BYTES", 0)  # every .npy counts as large
    ds = load_dataset(str(npy_u8), "train")
    assert isinstance(ds.x, MemmapArray) and ds.sample_shape == (1, 28, 28)
    train, val = ds.take(400, seed=0).split(0.25, seed=0)
    assert isinstance(train.x, MemmapArray) and len(train) == 300 and len(val) == 100  # still on disk
    config = {
        "model": {"name": "dense", "hidden": [32], "code_size": 4},
        "data": {"name": str(npy_u8), "val_fraction": 0.2},
        "train": {"epochs": 1, "batch_size": 64, "progress": False},
        "output": {"dir": str(tmp_path / "runs"), "name": "mm"},
    }
    (tmp_path / "mm.yaml").write_text(yaml.safe_dump(config))
    from aekit.apps import run

    run_dir = run.train(run.load_run_config(tmp_path / "mm.yaml"), progress=False)
    metrics = (run_dir / "metrics.json").read_text()
    assert '"split": "val"' in metrics and '"pca_squared_error_per_sample"' in metrics
    from aekit.apps.cli import main

    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--nll-samples", "0", "--quality-samples", "0"]) == 0
    said = capsys.readouterr().out  # a memory trial: 48 s of evaluate on a big file said nothing
    assert "evaluating the val part (120 samples) ..." in said


def test_wide_samples_are_evaluated_and_pca_fitted_on_fewer_rows_within_a_memory_cap(npy_u8, monkeypatch):
    """Evaluation reads a sample of a memory-mapped set into memory, and PCA copies its sample to float64:
    capped by bytes as well as rows, so samples of tens of thousands of values never fill the memory."""
    from aekit.apps import run
    from aekit.models import pca

    monkeypatch.setattr(files, "MMAP_BYTES", 0)  # every .npy counts as large
    data = load_dataset(str(npy_u8))
    assert isinstance(data.x, MemmapArray) and data.sample_shape == (1, 28, 28)
    assert len(run.in_memory(data, 0)) == len(data)  # 784 values a sample: the rows cap decides
    monkeypatch.setattr(run, "EVAL_BYTES", 4 * 784 * 50)
    part = run.in_memory(data, 0)
    assert isinstance(part.x, torch.Tensor) and len(part) == 50
    monkeypatch.setattr(pca, "PCA_BYTES", 8 * 64 * 40)
    x = np.random.default_rng(0).random((300, 64))
    mean, _ = pca.principal_components(x, 3, seed=1)
    rows = np.sort(np.random.default_rng(1).choice(300, 40, replace=False))  # the seeded 40 rows it fits on
    np.testing.assert_allclose(mean, x[rows].mean(0))


def test_a_scanned_float_memmap_is_checked_by_its_scan_not_read_again(tmp_path, monkeypatch):
    """A memory trial: a 3 GB float file was read whole three times before training (its scan at load, then the
    run's check and fit's check of every value); the scan's range says what those checks would find."""
    from aekit.data.batches import check_inputs

    path = tmp_path / "f.npy"
    np.save(path, np.linspace(-3.0, 7.0, 200 * 784, dtype=np.float32).reshape(200, 784))
    lazy = MemmapArray.scaled(np.load(path, mmap_mode="r"), name="f")  # min-max: [0, 1]
    whole = lazy[:]
    assert np.array_equal(lazy.scanned[0], whole.amin(0).numpy()) and np.array_equal(lazy.scanned[1], whole.amax(0).numpy())
    assert lazy.subset(np.arange(50)).scanned is lazy.scanned and lazy.scanned[0].shape == (784,)
    sizes = []
    read = MemmapArray._read_rows
    monkeypatch.setattr(MemmapArray, "_read_rows", lambda self, rows: sizes.append(len(rows)) or read(self, rows))
    check_inputs(tiny(), lazy)
    standard = MemmapArray.scaled(np.load(path, mmap_mode="r"), name="f", scale="standard")  # beyond [0, 1]
    with pytest.raises(aekit.DataError, match=r"'bce' needs data in \[0, 1\] but values span \[-1.7\d*, 1.7\d*\]"):
        check_inputs(tiny(), standard)  # the whole file's span, from the scan
    denoising = aekit.create_model("denoising", input_shape=(784,), hidden=[8], code_size=2, data_range=[0, 0.5],
                                   noise="gaussian")
    with pytest.raises(aekit.DataError, match=r"data_range"):  # a review: a model's own check of the range, kept
        check_inputs(denoising, lazy)
    assert sizes == []  # not a row read: the scan's ranges said it all


def test_values_of_the_training_file_are_not_said_to_leave_its_range(tmp_path, monkeypatch):
    """A memory trial: `evaluate RUN --data` its own memory-mapped file said 1,433 of 50,000 samples left the training
    range: each column's range came from a sample of rows; the scan of every row gives it now."""
    from aekit.apps import run

    monkeypatch.setattr(run, "EVAL_SAMPLES", 50)
    values = np.random.default_rng(0).random((400, 6)).astype(np.float32)  # in [0, 1]: kept as stored
    np.save(tmp_path / "t.npy", values)
    train = Dataset(MemmapArray.scaled(np.load(tmp_path / "t.npy", mmap_mode="r"), name="t"), meta={"scaling": "none"})
    assert not run.beyond_range(train, torch.from_numpy(values)).any()
    unscanned = MemmapArray(np.load(tmp_path / "t.npy", mmap_mode="r"))  # read by a run's saved map: found by a pass
    assert not run.beyond_range(Dataset(unscanned, meta={"scaling": "none"}), torch.from_numpy(values)).any()
    assert unscanned.scanned is not None


@pytest.mark.parametrize("scale", ["auto", "column", "standard"])
def test_wide_integers_and_float64_scale_exactly_as_in_memory(tmp_path, scale):
    """A bug hunt: the scan took ranges from int64/float64 values, a read from their float32 rounding: columns near
    1.7e9 differed by 1e-3 and reached 1.001, and a deterministic run's losses differed by whether the file was big."""
    rng = np.random.default_rng(0)
    for values in (1_700_000_000 + rng.integers(0, 10_000, (300, 4)), rng.normal(size=(300, 4)) * 1e3 + 1e5):
        np.save(tmp_path / "v.npy", values)
        lazy = MemmapArray.scaled(np.load(tmp_path / "v.npy", mmap_mode="r"), name="v", scale=scale)
        assert torch.equal(lazy[:], torch.from_numpy(scale_to_unit(values, name="v", scale=scale)))


def test_subsets_take_masks_and_negative_indices_and_a_changed_file_is_said(npy_u8, monkeypatch, tmp_path):
    """A bug hunt: subset(mask) took rows 0 and 1 (True and False as indices); a memory-mapped subset([-1]) read the
    .npy header's bytes as a sample; a split of a file replaced on disk read the new file under the old shape."""
    monkeypatch.setattr(files, "MMAP_BYTES", 0)
    ds = load_dataset(str(npy_u8))
    assert isinstance(ds.x, MemmapArray)
    mask = torch.arange(len(ds)) % 7 == 3
    for data in (ds, Dataset(ds.x[:], torch.arange(len(ds)), "in memory")):
        picked = data.subset(mask)
        assert picked.meta["rows"].tolist() == torch.nonzero(mask).flatten().tolist()
        torch.testing.assert_close(picked.x[:], ds.x[:][mask])
        torch.testing.assert_close(data.subset([-1]).x[0], ds.x[len(ds) - 1])
        with pytest.raises(IndexError):
            data.subset([len(ds)])
        with pytest.raises(IndexError, match="mask"):
            data.subset(mask[:-1])
    assert torch.equal(ds.x.subset(mask.numpy())[:], ds.x[:][mask])  # the array's own subset too (a review)
    path = tmp_path / "x.npy"
    np.save(path, np.arange(120, dtype=np.uint8).reshape(40, 3))
    fresh = load_dataset(str(path))
    first = fresh.x[:]
    train, _ = fresh.split(0.25)
    os.utime(path)  # touched (a backup, rsync): the same file, read on
    os.replace(tmp_path / "x.npy", tmp_path / "old.npy")
    np.save(path, np.full((40, 3), 200, dtype=np.uint8))  # another file put at its path: the one loaded is read
    assert torch.equal(fresh.x[:], first) and train.x[0].max() < 200
    np.save(tmp_path / "old.npy", np.full((80, 3), 200, dtype=np.uint8))  # the one loaded, rewritten in place
    with pytest.raises(aekit.DataError, match=r"x.npy changed on disk since it was loaded .*; load it again$"):
        train.x[0]


def test_a_small_test_part_beside_a_big_training_file_is_scaled_alike_without_reading_it_whole(tmp_path, monkeypatch):
    """A bug hunt: the test part's map came from the whole memory-mapped training part read into memory in float32
    (231 MB more for a 78 MB file); it comes from a scan, and the test part's values are as before."""
    values = np.random.default_rng(0).integers(0, 200, (500, 12, 12)).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", values[:400])
    write_idx(tmp_path / "t10k-images-idx3-ubyte", values[400:])
    before = load_dataset(str(tmp_path / "train-images-idx3-ubyte"), "test")  # the training part in memory
    monkeypatch.setattr(files, "MMAP_BYTES", 20_000)  # the training file (57,600 bytes) is big, the test file not
    from aekit.data import core

    whole = core._finite_float32
    monkeypatch.setattr(core, "_finite_float32", lambda a, name: pytest.fail(f"{name} read whole") if isinstance(
        a, np.memmap) else whole(a, name))
    after = load_dataset(str(tmp_path / "train-images-idx3-ubyte"), "test")
    assert isinstance(after.x, torch.Tensor) and torch.equal(after.x, before.x)


def _rows_of(dataset):  # a spawned worker's read (module level: spawn pickles it by name)
    return dataset.x[:].sum().item()


def test_a_memory_mapped_data_set_pickles_without_its_values_and_spawned_workers_read_the_file_loaded(tmp_path,
                                                                                                   monkeypatch):
    """A review: a pickled memory-mapped data set held the whole file (15.7 MB for a 15.7 MB file), so each spawned
    DataLoader worker kept a copy; the file is mapped again where it is unpickled, checked to be the one loaded; and
    a data set dropped leaves no file open."""
    import multiprocessing
    import pickle

    monkeypatch.setattr(files, "MMAP_BYTES", 0)
    path = tmp_path / "x.npy"
    np.save(path, np.arange(40_000, dtype=np.float32).reshape(400, 100) % 7)
    data = load_dataset(str(path))
    train, val = data.split(0.25)
    packed = pickle.dumps(train)
    assert len(packed) < 100_000 and torch.equal(pickle.loads(packed).x[:], train.x[:])
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_rows_of, (train,)) == _rows_of(train)
    os.replace(path, tmp_path / "old.npy")
    np.save(path, np.zeros((400, 100), dtype=np.float32))  # another file at its path: refused where it is mapped again
    with pytest.raises(aekit.DataError, match="x.npy changed on disk since it was loaded"):
        pickle.loads(packed)
    del data, train, val
    if os.path.isdir("/proc/self/fd"):  # no file of the data set left open

        def ours(fd: str) -> bool:
            try:
                return str(tmp_path) in os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                return False

        assert not [fd for fd in os.listdir("/proc/self/fd") if ours(fd)]


def test_too_many_open_files_are_said_as_such(tmp_path):
    """A review: past `ulimit -n`, loading a memory-mapped file said it was 'truncated or not a .npy array file', or
    raised a raw OSError (IDX files, the reader's own open)."""
    import subprocess
    import sys

    script = f"""
import resource, numpy as np
import aekit.data.files as files
from aekit.data import load_dataset, write_idx
from aekit.errors import DataError
files.MMAP_BYTES = 0
resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))
kept = []
for i in range(60):
    path = r"{tmp_path}" + f"/{{i}}-images-idx3-ubyte"
    write_idx(path, np.zeros((4, 3, 3), dtype=np.uint8))
    try:
        kept.append(load_dataset(path))
    except DataError as err:
        print(err)
        break
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "this process has too many files open (ulimit -n)" in done.stdout, done.stdout + done.stderr


def test_pictures_and_maps_of_a_memmap_read_the_rows_they_show(tmp_path, monkeypatch):
    """A scale hunt: reconstruction_grid of 10 rows, latent_maps of 2,000 and latent_explorer of 500 read a 3 GB file
    whole (6.3 GB of memory); top_activating too. The rows shown alone are read now, and checked finite as before."""
    from aekit.analysis import latent_maps, reconstruction_grid, top_activating
    from aekit.analysis.latent import latent_explorer

    path = tmp_path / "f.npy"
    np.save(path, np.random.default_rng(0).random((1200, 64), dtype=np.float32))
    data = np.load(path, mmap_mode="r")
    model = aekit.create_model("dense", input_shape=(1, 8, 8), hidden=[8], code_size=2)
    sizes = []
    read = MemmapArray._read_rows
    monkeypatch.setattr(MemmapArray, "_read_rows", lambda self, rows: sizes.append(len(rows)) or read(self, rows))
    reconstruction_grid(model, data, n=5)
    latent_maps(model, data, n=40, methods=["pca"])
    latent_explorer(model, data, n=30, grid=3)
    top_activating(model, data, 0, k=4)  # through map_batches, a batch at a time
    assert sizes[:3] == [5, 40, 30] and max(sizes) <= 512, sizes  # (map_batches' batches of 512)
    broken = np.load(path)
    broken[600] = np.nan
    np.save(tmp_path / "nan.npy", broken)
    with pytest.raises(aekit.DataError, match=r"NaN or infinite values; .* \(the first at sample 600, "):
        reconstruction_grid(model, np.load(tmp_path / "nan.npy", mmap_mode="r"), n=3)
