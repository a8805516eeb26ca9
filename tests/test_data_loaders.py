"""CIFAR-10, IMDb, BBC News and user corpora: real formats written by the tests, safe unpickling."""

from __future__ import annotations

import io
import os
import pickle
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from aekit import ConfigError, DataError
from aekit.data import list_datasets, load_dataset
from aekit.data.cifar import CLASSES, restricted_load
from aekit.data.text import BBC_FILE, load_bbc_news, load_imdb, text_corpus, text_corpus_splits
from aekit.errors import DataNotFoundError


class Evil:
    """A pickle that would run a shell command when loaded by plain pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def offline(monkeypatch):
    """No downloads: pooch.retrieve fails as it does without a network."""
    import pooch

    def fail(*args, **kwargs):
        raise ConnectionError("no network in tests")

    monkeypatch.setattr(pooch, "retrieve", fail)


def test_new_datasets_are_registered():
    assert {"cifar10", "imdb", "imdb-bow", "bbc-news", "bbc-news-bow"} <= set(list_datasets())


# --- CIFAR-10 --------------------------------------------------------------------------------------


def write_cifar(root: Path, n: int = 3, *, protocol: int = 2) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Batches in the exact cifar-10-batches-py format: dicts with b'data' (N, 3072) uint8 and b'labels'."""
    folder = root / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [(i + j) % 10 for j in range(n)]
        entry = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"img{j}.png".encode() for j in range(n)]}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=protocol))
        written[name] = (data, labels)
    return written


@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL, 5])
def test_cifar10_reads_the_batch_format(tmp_path, protocol):
    written = write_cifar(tmp_path, protocol=protocol)
    train = load_dataset("cifar10", "train", root=tmp_path)
    test = load_dataset("cifar10", "test", root=tmp_path)
    assert train.x.shape == (15, 3, 32, 32) and test.x.shape == (3, 3, 32, 32)
    assert train.x.dtype == torch.float32 and 0 <= train.x.min() and train.x.max() <= 1
    assert train.classes == CLASSES and len(CLASSES) == 10
    data, labels = written["data_batch_2"]
    # sample 1 of batch 2: row = 1024 red, 1024 green, 1024 blue values, each plane row-major
    sample = train.x[3 + 1]
    assert sample[0, 0, 0] == pytest.approx(data[1, 0] / 255)
    assert sample[1, 2, 5] == pytest.approx(data[1, 1024 + 2 * 32 + 5] / 255)
    assert sample[2, 31, 31] == pytest.approx(data[1, 3071] / 255)
    assert train.y[3:6].tolist() == labels
    assert test.y.tolist() == written["test_batch"][1]


class Py2Pickler(pickle._Pickler):
    """Pickles like Python 2's cPickle wrote the published batches: bytes as str, numpy under numpy.core."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_global(self, obj, name=None):
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)


def test_cifar10_reads_python2_pickles(tmp_path):
    written = write_cifar(tmp_path)
    data = written["test_batch"][0]
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump({b"batch_label": b"testing batch 1 of 1", b"labels": [4, 5, 6], b"data": data})
    assert b"numpy.core.multiarray\n_reconstruct" in buf.getvalue()
    (tmp_path / "cifar10" / "cifar-10-batches-py" / "test_batch").write_bytes(buf.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy >= 2 reads numpy.core names without deprecation noise
        test = load_dataset("cifar10", "test", root=tmp_path)
    assert test.y.tolist() == [4, 5, 6]
    np.testing.assert_allclose(test.x.reshape(3, -1).numpy(), data / 255, rtol=1e-6)


def test_cifar10_refuses_a_malicious_pickle(tmp_path):
    write_cifar(tmp_path)
    marker = tmp_path / "pwned"
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(pickle.dumps({b"data": Evil(marker), b"labels": [0]}, protocol=2))
    with pytest.raises(DataError, match="refusing to load posix.system|refusing to load os.system|refusing to load nt.system"):
        load_dataset("cifar10", "train", root=tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(S'1+1'\ntR.",  # builtins.eval('1+1')
    b"cbuiltins\ngetattr\n(cbuiltins\nlist\nS'append'\ntR.",
    b"csubprocess\nPopen\n(S'true'\ntR.",
])
def test_restricted_unpickler_refuses_other_globals(payload):
    with pytest.raises(DataError, match="refusing to load"):
        restricted_load(io.BytesIO(payload), what="payload")


def test_cifar10_truncated_and_wrong_content(tmp_path):
    write_cifar(tmp_path)
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    good = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="truncated or not a pickle"):
        load_dataset("cifar10", "test", root=tmp_path)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataError, match=r"\(N, 3072\)"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_cifar10_missing_names_files_and_place(tmp_path, offline):
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("cifar10", "train", root=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert "data_batch_1" in message and str(tmp_path / "cifar10") in message and "cifar-10-python.tar.gz" in message


def test_cifar10_reads_label_names_from_batches_meta(tmp_path):
    write_cifar(tmp_path)
    names = ["a0", "b1", "c2", "d3", "e4", "f5", "g6", "h7", "i8", "j9"]
    meta = tmp_path / "cifar10" / "cifar-10-batches-py" / "batches.meta"
    meta.write_bytes(pickle.dumps({b"label_names": [n.encode() for n in names], b"num_vis": 3072}, protocol=2))
    assert load_dataset("cifar10", "test", root=tmp_path).classes == names
    meta.write_bytes(pickle.dumps({"label_names": ["cat", "dog"]}))  # fewer names than the labels need
    with pytest.raises(DataError, match=r"test_batch: labels must be 0..1 \(one per class name\), found 5..7"):
        load_dataset("cifar10", "test", root=tmp_path)


def write_cifar100(folder: Path, n: int = 4) -> dict[str, tuple[np.ndarray, list[int]]]:
    """cifar-100-python's exact format: train and test dicts with b'data', b'fine_labels' and b'coarse_labels',
    and meta with b'fine_label_names' (Python 2 pickles, as the archive's)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    written = {}
    for name in ("train", "test"):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        fine = [(7 * j + len(name)) % 100 for j in range(n)]
        entry = {b"filenames": [b"x.png"] * n, b"batch_label": name.encode(), b"fine_labels": fine,
                 b"coarse_labels": [f // 5 for f in fine], b"data": data}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
        written[name] = (data, fine)
    names = [f"class{i}".encode() for i in range(100)]
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": names, b"coarse_label_names": names[:20]}, protocol=2))
    return written


@pytest.mark.parametrize("where", ["cifar100/cifar-100-python", "cifar-100-python"])
def test_cifar100_reads_fine_labels_and_their_names(tmp_path, where):
    written = write_cifar100(tmp_path / where)
    for split in ("train", "test"):
        data = load_dataset("cifar100", split, root=tmp_path)
        pixels, fine = written[split]
        assert data.x.shape == (4, 3, 32, 32) and data.y.tolist() == fine and len(data.classes) == 100
        assert torch.equal(data.x, torch.from_numpy(pixels.reshape(-1, 3, 32, 32) / np.float32(255)))
        assert data.classes[fine[0]] == f"class{fine[0]}"


def test_a_named_sets_missing_test_files_are_refused_not_replaced_by_validation(tmp_path, offline, monkeypatch, capsys):
    from aekit.apps.cli import main
    from aekit.data import write_idx

    folder = tmp_path / "fashion-mnist"  # the training files alone: t10k missing, and no network to fetch them
    folder.mkdir()
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (40, 28, 28), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", (np.arange(40) % 10).astype(np.uint8))
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path))
    assert main(["train", "data.name=fashion-mnist", "model.name=dense", "model.hidden=[8]", "model.code_size=2",
                 "train.epochs=1", f"output.dir={tmp_path / 'runs'}", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "fashion-mnist: missing t10k-images-idx3-ubyte.gz" in err and "the download failed" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_cifar100_missing_says_what_to_put_where(tmp_path, offline):
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("cifar100", "test", root=tmp_path)
    message = str(info.value)
    assert "\n" not in message and "cifar-100-python.tar.gz" in message and str(tmp_path / "cifar100") in message


def test_svhn_reads_the_matlab_files_digit_zero_labelled_ten(tmp_path, offline):
    from scipy.io import savemat

    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(32, 32, 3, 5), dtype=np.uint8)  # SVHN's (H, W, C, N)
    (tmp_path / "svhn").mkdir()
    savemat(tmp_path / "svhn" / "test_32x32.mat", {"X": x, "y": np.array([[10], [1], [2], [9], [10]], dtype=np.uint8)})
    data = load_dataset("svhn", "test", root=tmp_path)
    assert data.x.shape == (5, 3, 32, 32) and data.y.tolist() == [0, 1, 2, 9, 0] and data.classes[0] == "0"
    assert data.x[4, 2, 7, 1].item() == pytest.approx(x[7, 1, 2, 4] / 255)  # sample 4, blue, row 7, column 1
    with pytest.raises(DataNotFoundError, match=r"svhn: missing train_32x32.mat in .*svhn"):  # offline
        load_dataset("svhn", "train", root=tmp_path)
    (tmp_path / "svhn" / "train_32x32.mat").write_bytes(b"MATLAB 5.0 MAT-file, cut")
    with pytest.raises(DataError, match="train_32x32.mat is truncated or not a MATLAB file"):
        load_dataset("svhn", "train", root=tmp_path)


def write_cifar_bin(folder: Path, n: int = 3) -> dict[str, np.ndarray]:
    """The binary version: records of 1 label byte + 3072 pixel bytes (red, green, blue planes)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    written = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        records = rng.integers(0, 256, size=(n, 3073), dtype=np.uint8)
        records[:, 0] = [(i + j) % 10 for j in range(n)]
        records.tofile(folder / f"{name}.bin")
        written[name] = records
    (folder / "batches.meta.txt").write_text("\n".join(f"class{k}" for k in range(10)) + "\n\n")
    return written


@pytest.mark.parametrize("under", ["cifar10", ""])
def test_cifar10_reads_the_binary_layout_without_a_download(tmp_path, offline, under):  # offline: a download fails
    written = write_cifar_bin(tmp_path / under / "cifar-10-batches-bin")
    train, test = load_dataset("cifar10", "train", root=tmp_path), load_dataset("cifar10", "test", root=tmp_path)
    assert train.x.shape == (15, 3, 32, 32) and test.x.shape == (3, 3, 32, 32)
    records = written["data_batch_2"]
    assert train.y[3:6].tolist() == records[:, 0].tolist()
    sample = train.x[3 + 1]  # sample 1 of batch 2: CHW planes after the label byte
    assert sample[1, 2, 5] == pytest.approx(records[1, 1 + 1024 + 2 * 32 + 5] / 255)
    assert sample[2, 31, 31] == pytest.approx(records[1, 3072] / 255)
    assert train.classes == [f"class{k}" for k in range(10)]
    batch = tmp_path / under / "cifar-10-batches-bin" / "test_batch.bin"
    batch.write_bytes(batch.read_bytes()[:-7])
    with pytest.raises(DataError, match=r"test_batch.bin: 9212 bytes are not whole records of 3073 bytes"):
        load_dataset("cifar10", "test", root=tmp_path)


# --- IMDb ------------------------------------------------------------------------------------------


def object_array(lists):
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        out[i] = list(item)
    return out


def write_imdb_npz(root: Path) -> Path:
    """Keras' imdb.npz layout: object arrays of word-rank lists and 0/1 labels."""
    folder = root / "imdb"
    folder.mkdir(parents=True)
    path = folder / "imdb.npz"
    np.savez(
        path,
        x_train=object_array([[1, 2, 3], [7, 1, 1, 1, 1, 1, 4, 2], []]),
        y_train=np.array([1, 0, 1]),
        x_test=object_array([[5, 6]]),
        y_test=np.array([0]),
    )
    return path


def test_imdb_npz_sequences_follow_keras(tmp_path):
    write_imdb_npz(tmp_path)
    ds = load_imdb("train", tmp_path, maxlen=6, num_words=7)
    # start 1, rank r -> r + 3, index >= num_words -> OOV 2, padded and truncated at the front
    expected = np.array([
        [0, 0, 1, 4, 5, 6],
        [4, 4, 4, 4, 2, 5],
        [0, 0, 0, 0, 0, 1],
    ]) / 7
    np.testing.assert_allclose(ds.x.numpy(), expected, rtol=1e-6)
    assert ds.y.tolist() == [1, 0, 1] and ds.classes == ["negative", "positive"]
    test = load_dataset("imdb", "test", root=tmp_path)
    assert test.x.shape == (1, 512) and 0 <= test.x.min() and test.x.max() < 1
    assert test.x[0, -3:].tolist() == pytest.approx([1 / 10000, 8 / 10000, 9 / 10000])


def test_imdb_bag_of_words(tmp_path):
    write_imdb_npz(tmp_path)
    ds = load_imdb("train", tmp_path, representation="bow", num_words=7)
    assert ds.x.shape == (3, 7)
    assert ds.x[0].tolist() == [0, 1, 0, 0, 1, 1, 1]  # start + indices 4, 5, 6
    assert ds.x[1].tolist() == [0, 1, 1, 0, 1, 1, 0]  # 7 + 3 = 10 -> OOV
    assert load_dataset("imdb-bow", "test", root=tmp_path).x.shape == (1, 10000)


def test_imdb_npz_refuses_a_malicious_pickle(tmp_path):
    marker = tmp_path / "pwned"
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    member.write(pickle.dumps(Evil(marker), protocol=3))
    (tmp_path / "imdb").mkdir()
    with zipfile.ZipFile(tmp_path / "imdb" / "imdb.npz", "w") as zf:
        zf.writestr("x_train.npy", member.getvalue())
        buf = io.BytesIO()
        np.save(buf, np.array([1]))
        zf.writestr("y_train.npy", buf.getvalue())
    with pytest.raises(DataError, match="refusing to load"):
        load_dataset("imdb", "train", root=tmp_path)
    assert not marker.exists()


def write_acl_imdb(root: Path) -> None:
    reviews = {
        ("train", "pos"): ["A great great film.<br />Great acting", "great fun"],
        ("train", "neg"): ["A dull film", "dull, dull and long"],
        ("test", "pos"): ["great unseen words"],
        ("test", "neg"): ["dull"],
    }
    for (split, label), texts in reviews.items():
        folder = root / "imdb" / "aclImdb" / split / label
        folder.mkdir(parents=True)
        for i, text in enumerate(texts):
            (folder / f"{i}_{7 if label == 'pos' else 2}.txt").write_text(text)


def test_imdb_from_acl_folder(tmp_path):
    write_acl_imdb(tmp_path)
    (tmp_path / "imdb" / "aclImdb" / "train" / "pos" / "._0_7.txt").write_bytes(b"\x00\x05\x16\x07Mac OS X dull")  # skipped
    train = load_imdb("train", tmp_path, maxlen=8, num_words=100)
    assert train.y.tolist() == [0, 0, 1, 1]  # neg files first, then pos
    ranks = train.meta["word_rank"]
    assert ranks["great"] == 1 and ranks["dull"] == 2  # 4 and 3 occurrences in the train reviews
    first_neg = (train.x[0] * 100).round().long().tolist()  # "A dull film"
    assert first_neg[-4:] == [1, ranks["a"] + 3, ranks["dull"] + 3, ranks["film"] + 3]
    test = load_imdb("test", tmp_path, maxlen=8, num_words=100)
    assert test.y.tolist() == [0, 1]
    assert (test.x[1] * 100).round().long().tolist()[-4:] == [1, 4, 2, 2]  # unseen words -> OOV


def test_imdb_acl_folder_without_test_has_no_test_part_and_downloads_nothing(tmp_path, monkeypatch):
    import shutil

    import pooch

    from aekit.errors import NoTestSplitError

    write_acl_imdb(tmp_path)
    shutil.rmtree(tmp_path / "imdb" / "aclImdb" / "test")
    fetched = []
    monkeypatch.setattr(pooch, "retrieve", lambda url, **kw: fetched.append(url))  # online: would "download"
    assert len(load_dataset("imdb", "train", root=tmp_path)) == 4
    with pytest.raises(NoTestSplitError, match=r"aclImdb holds no test/ folder, so no test part"):
        load_dataset("imdb", "test", root=tmp_path)
    assert fetched == [] and not (tmp_path / "imdb" / "imdb.npz").exists()


def test_imdb_missing_names_both_formats(tmp_path, offline):
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("imdb", "train", root=tmp_path)
    message = str(info.value)
    assert "imdb.npz" in message and "aclImdb" in message and str(tmp_path / "imdb") in message
    assert "\n" not in message


def test_imdb_bad_options():
    with pytest.raises(ConfigError, match="representation"):
        load_imdb("train", Path("."), representation="chars")
    with pytest.raises(ConfigError, match="num_words"):
        load_imdb("train", Path("."), num_words=3)


# --- text corpora ----------------------------------------------------------------------------------

CORPUS = [
    ("the striker scored a late goal in the match", "sport"),
    ("the team won the cup final after extra time", "sport"),
    ("a goal and a win for the home team", "sport"),
    ("shares fell as the bank reported lower profits", "business"),
    ("the company raised its profit forecast and shares rose", "business"),
    ("bank profits and market shares", "business"),
]


def test_text_corpus_tfidf_and_bow():
    texts, labels = zip(*CORPUS)
    ds = text_corpus(texts, labels, max_features=12)
    assert ds.x.shape == (6, 12) and ds.classes == ["business", "sport"]
    assert ds.y.tolist() == [1, 1, 1, 0, 0, 0]
    assert 0 <= ds.x.min() and ds.x.max() <= 1
    np.testing.assert_allclose(ds.x.norm(dim=1).numpy(), 1.0, rtol=1e-5)  # l2-normalised TF-IDF rows
    assert len(ds.meta["vocabulary"]) == 12 and "the" not in ds.meta["vocabulary"]  # English stop words
    # a new text through the same fitted vectorizer
    new = text_corpus(["goal goal cup"], ["sport"], vectorizer=ds.meta["vectorizer"], classes=ds.classes)
    assert new.y.tolist() == [1] and new.x.shape == (1, 12)
    vocab = ds.meta["vocabulary"]
    assert new.x[0, vocab.index("goal")] > new.x[0, vocab.index("cup")] > 0
    bow = text_corpus(texts, None, representation="bow", max_features=12)
    assert bow.y is None and set(bow.x.unique().tolist()) == {0.0, 1.0}


def test_text_corpus_errors():
    with pytest.raises(DataError, match="empty"):
        text_corpus([])
    with pytest.raises(DataError, match="2 texts but 1 labels"):
        text_corpus(["a b", "c d"], ["x"])
    with pytest.raises(DataError, match="not among the classes"):
        text_corpus(["goal"], ["weather"], classes=["business", "sport"])
    with pytest.raises(ConfigError, match="representation"):
        text_corpus(["a b"], representation="word2vec")


def test_text_corpus_labels_mixed_kinds_are_named_and_whole_floats_are_integers():
    texts = ["goal match win", "market shares fall", "rain cold wind"]
    with pytest.raises(DataError, match=r"labels must be all strings or all integers, got a mix of int, str$"):
        text_corpus(texts, ["a", 1, "b"])
    assert text_corpus(texts, [2.0, 0.0, 1.0]).y.tolist() == [2, 0, 1]  # as the CSV loader reads them
    with pytest.raises(DataError, match=r"\(1.0 counts as 1\), got float64"):
        text_corpus(texts, [2.0, 0.5, 1.0])


def test_text_corpus_splits_are_stratified_and_fit_on_train_only():
    texts, labels = zip(*(CORPUS * 5))
    with pytest.warns(UserWarning, match=r"^text: 6 of 6 test texts are also in the training part, word for word"):
        train, test = text_corpus_splits(texts, labels, test_fraction=0.2, seed=3, max_features=20)  # (BBC News: 36)
    assert len(train) == 24 and len(test) == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # texts each once: no note
        text_corpus_splits([f"{t} {i}" for i, t in enumerate(texts)], labels, test_fraction=0.2, seed=3)
    assert test.y.bincount().tolist() == [3, 3]
    assert test.meta["vectorizer"] is train.meta["vectorizer"]
    assert set(train.meta["indices"]).isdisjoint(test.meta["indices"])
    again, _ = text_corpus_splits(texts, labels, test_fraction=0.2, seed=3, max_features=20)
    assert torch.equal(again.x, train.x)


@pytest.fixture(scope="module")
def bbc_root():
    env = os.environ.get("AEKIT_DATA_DIR")
    for candidate in ([Path(env)] if env else []) + [Path(__file__).resolve().parents[2] / "shared" / "data"]:
        if (candidate / "bbc-news" / BBC_FILE).is_file():
            return candidate
    pytest.skip("../shared/data/bbc-news/bbc-news.jsonl.gz is absent")


def test_bbc_news(bbc_root):
    train = load_dataset("bbc-news", "train", root=bbc_root)
    test = load_dataset("bbc-news", "test", root=bbc_root)
    assert len(train) + len(test) == 2225 and len(test) == 445
    assert train.x.shape[1] == test.x.shape[1] == 2000
    assert train.classes == test.classes and len(train.classes) == 5
    assert 0 <= train.x.min() and train.x.max() <= 1
    # stratified: every class keeps its share of the corpus in the test split (within one article)
    share = test.y.bincount().double() / (train.y.bincount() + test.y.bincount()).double()
    assert ((share - 0.2).abs() * (train.y.bincount() + test.y.bincount()) <= 1).all()
    assert set(train.meta["indices"]).isdisjoint(test.meta["indices"])
    assert train.meta["vocabulary"] == test.meta["vocabulary"]
    small = load_bbc_news("test", bbc_root, representation="bow", max_features=300)
    assert small.x.shape == (445, 300) and set(small.x.unique().tolist()) <= {0.0, 1.0}


def test_bbc_news_missing(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("bbc-news", "train", root=tmp_path)
    assert BBC_FILE in str(info.value) and str(tmp_path / "bbc-news") in str(info.value)


def test_imdb_words_keep_their_letters_in_any_script():
    """A text trial: 'Amélie' was the words 'am' and 'lie', 'Björk' 'bj' and 'rk' (letters a to z alone)."""
    from aekit.data.text import tokenize

    assert tokenize("Amélie, Pokémon<br />Björk don't 東京 x_y 2024 y'2000") == [
        "amélie", "pokémon", "björk", "don't", "東京", "x", "y", "2024", "y", "2000"]
    # combining marks (Hindi's and Thai's vowels, Arabic's vowel signs, a decomposed ï) stay in their words (a review)
    assert tokenize("हिन्दी फ़िल्म ภาพยนตร์ดีมาก مُمتاز nai\u0308ve") == ["हिन्दी", "फ़िल्म", "ภาพยนตร์ดีมาก", "مُمتاز", "naïve"]


def test_texts_without_spaces_between_words_are_said():
    """A text trial: Chinese and Japanese sentences were each one 'word' of the vocabulary, without a word said."""
    import warnings

    from aekit.data.text import text_corpus

    spaced = ["the match ended in a draw", "shares rose on the market", "la réunion du conseil est finie"]
    with pytest.warns(UserWarning, match=r"1 of 4 texts are written without spaces between words"):
        text_corpus([*spaced, "政府宣布新的经济改革计划"], [0, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text_corpus([*spaced, "東京 only two"], [0, 1, 0, 1])


@pytest.mark.parametrize("bad", [True, 2.5, 0, "100"])
def test_a_vocabulary_size_that_is_no_whole_number_is_refused(bad):
    """A text trial: max_features=True built a vocabulary of one word, and 2.5 failed as 'cannot build a vocabulary'."""
    from aekit.data.text import text_corpus

    with pytest.raises(ConfigError, match=r"^max_features: must be a whole number of words > 0, got "):
        text_corpus(["the match ended", "shares rose"], [0, 1], max_features=bad)


def _idx_family(folder: Path, images: np.ndarray, labels: np.ndarray, *, gz: bool = True) -> None:
    from aekit.data.idx import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    for part in ("train", "t10k"):
        write_idx(folder / f"{part}-images-idx3-ubyte{'.gz' * gz}", images)
        write_idx(folder / f"{part}-labels-idx1-ubyte{'.gz' * gz}", labels)


def test_the_mnist_family_from_a_root_with_a_tilde_gunzipped_files_and_contents_it_cannot_be(tmp_path, offline,
                                                                                             monkeypatch):
    """A bug hunt: root="~/data" was never expanded (the error said to put there the files that were there);
    gunzipped files were listed 'here' and never read; int8 images, negative labels and labels of shape (N, 2)
    loaded silently."""
    images, labels = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4), np.arange(6, dtype=np.uint8) % 3
    monkeypatch.setenv("HOME", str(tmp_path))
    _idx_family(tmp_path / "data" / "kmnist", images, labels, gz=False)
    data = load_dataset("kmnist", "test", root="~/data")
    assert data.y.tolist() == labels.tolist() and torch.equal(data.x[:, 0], torch.from_numpy(images / 255).float())
    for bad_images, bad_labels, says in ((images.astype(np.int8), labels, "holds int8 values"),
                                         (images, labels.astype(np.int8) - 1, "expected one label 0..K-1 per image"),
                                         (images, np.c_[labels, labels], "expected one label 0..K-1 per image")):
        _idx_family(tmp_path / "bad" / "kmnist", bad_images, bad_labels)
        with pytest.raises(DataError, match=says):
            load_dataset("kmnist", "test", root=tmp_path / "bad")


def test_svhn_labels_outside_one_to_ten_are_refused(tmp_path):
    """A bug hunt: y % 10 took 11, 12 and 20 as 1, 2 and 0."""
    from scipy.io import savemat

    x = np.zeros((32, 32, 3, 3), dtype=np.uint8)
    (tmp_path / "svhn").mkdir()
    savemat(tmp_path / "svhn" / "test_32x32.mat", {"X": x, "y": np.array([[10], [11], [20]], dtype=np.uint8)})
    with pytest.raises(DataError, match=r"y must hold SVHN's labels 1..10 \(10 for the digit 0\), found 10..20"):
        load_dataset("svhn", "test", root=tmp_path)


def test_a_cifar10_archive_put_in_place_without_a_batch_is_refused_in_one_line(tmp_path, offline):
    """A bug hunt: FileNotFoundError '.../cifar-10-batches-py/test_batch' from an archive lacking it."""
    import tarfile

    write_cifar(tmp_path / "src")
    (tmp_path / "src" / "cifar10" / "cifar-10-batches-py" / "test_batch").unlink()
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    with tarfile.open(tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar10" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    with pytest.raises(DataError, match=r"cifar-10-python.tar.gz lacks test_batch; it is not the archive from "):
        load_dataset("cifar10", "test", root=tmp_path / "data")


def test_cifar_folders_in_the_data_directory_are_listed_as_there_and_root_is_no_other_folder(tmp_path, monkeypatch):
    """A bug hunt: `aekit datasets` said 'absent' of cifar-10-batches-py/ in the data directory, which loads; and
    load_dataset("mnist", root=".") warned it read "aekit's data set, not the ./mnist here", which it read."""
    from aekit.catalog import data_state

    write_cifar(tmp_path)
    (tmp_path / "cifar10" / "cifar-10-batches-py").rename(tmp_path / "cifar-10-batches-py")
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path))
    assert data_state("cifar10") == "here" and len(load_dataset("cifar10", "test")) == 3
    _idx_family(tmp_path / "mnist", np.zeros((4, 2, 2), np.uint8), np.arange(4, dtype=np.uint8))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AEKIT_DATA_DIR")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_dataset("mnist", root=".")) == 4
