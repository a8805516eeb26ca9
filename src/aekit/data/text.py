"""Text data sets as fixed-size vectors in [0, 1]: IMDb, BBC News and a user's own corpus.

IMDb (Keras' `imdb.npz` or the `aclImdb/` folder) becomes word-index sequences padded to `maxlen`
and divided by the vocabulary size `num_words` (the Keras-style "dense autoencoder with BCE on
IMDb" set-up), or multi-hot bags of words. BBC News and `text_corpus` become TF-IDF or binary
bag-of-words vectors from a scikit-learn vectorizer fitted on the training texts only; the fitted
vectorizer is kept in `Dataset.meta["vectorizer"]` so new texts can be encoded the same way.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import gzip
import io
import json
import re
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, DataError, DataNotFoundError, NoTestSplitError, warn
from .cifar import restricted_load
from .core import (
    Dataset,
    check_declared,
    class_files,
    classes_with_test,
    integer_valued,
    register_dataset,
)
from .download import RemoteFile, ensure_files

IMDB_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
IMDB_NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"  # Keras' published hash
ACL_IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_CLASSES = ["negative", "positive"]
TEXT_FILES = {".txt", ""}  # a corpus's files: .txt, or no suffix (20 Newsgroups' articles are named by number)

# Keras' conventions: 0 pads, 1 starts a review, 2 stands for a word outside the vocabulary, and a
# word of frequency rank r (1 = most frequent) gets index r + 3.
PAD, START, OOV, INDEX_FROM = 0, 1, 2, 3

BBC_FILE = "bbc-news.jsonl.gz"
REPRESENTATIONS = ("tfidf", "bow")


# --- .npz files whose arrays hold Python lists ---------------------------------------------------


def _read_npy(raw: bytes, what: str) -> np.ndarray:
    """One .npy member; object arrays go through the restricted unpickler, never plain pickle."""
    buf = io.BytesIO(raw)
    check_declared(buf, len(raw), what)  # (an untrusted-files hunt: a header's 32 TiB read "out of memory")
    buf.seek(0)
    try:
        return np.lib.format.read_array(buf, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" not in str(err):
            raise DataError(f"{what} is truncated or not a .npy array ({err})") from None
    buf.seek(0)
    version = np.lib.format.read_magic(buf)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:
        raise DataError(f"{what}: .npy format version {version} with Python objects is not supported")
    shape, _, dtype = read(buf)
    array = restricted_load(buf, what=what)
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise DataError(f"{what}: its pickled payload is not the {shape} array its header announces")
    return array


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an .npz archive, including object arrays of lists (as Keras' imdb.npz has)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return {
                info.filename[:-4]: _read_npy(zf.read(info), f"{path}:{info.filename}")
                for info in zf.infolist()
                if info.filename.endswith(".npy")
            }
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(f"{path} is truncated or not a .npz archive ({err})") from None


# --- word-index sequences ------------------------------------------------------------------------


def keras_indices(ranks: Iterable[Sequence[int]], num_words: int) -> list[np.ndarray]:
    """Word frequency ranks -> Keras word indices: START first, rank + 3, OOV past `num_words`.

    Rank 0 marks an unknown word (never a real rank) and becomes OOV too.
    """
    out = []
    for i, words in enumerate(ranks):
        r = np.asarray(words, dtype=np.int64).reshape(-1)
        if len(r) and r.min() < 0:
            raise DataError(f"review {i} holds a negative word rank {r.min()}; ranks must be >= 1")
        index = r + INDEX_FROM
        index = np.where((r > 0) & (index < num_words), index, OOV)
        out.append(np.concatenate([[START], index]))
    return out


def pad_sequences(sequences: Sequence[np.ndarray], maxlen: int) -> np.ndarray:
    """(N, maxlen) int64, like Keras' defaults: long sequences keep their end, short ones are padded in front."""
    out = np.full((len(sequences), maxlen), PAD, dtype=np.int64)
    for i, seq in enumerate(sequences):
        tail = np.asarray(seq)[-maxlen:]
        out[i, maxlen - len(tail) :] = tail
    return out


def multi_hot(sequences: Sequence[np.ndarray], num_words: int) -> np.ndarray:
    """(N, num_words) float32: 1 where the word index occurs in the sequence, else 0."""
    out = np.zeros((len(sequences), num_words), dtype=np.float32)
    for i, seq in enumerate(sequences):
        out[i, np.asarray(seq, dtype=np.int64)] = 1.0
    return out


@functools.cache
def _marks() -> str:
    """The combining marks of every script as a regular expression's class (Python's \\w leaves out the marks that
    Hindi's and Thai's vowels are: a review)."""
    return f"[{re.escape(''.join(chr(c) for c in range(0x300, 0x20000) if unicodedata.category(chr(c)).startswith('M')))}]"


@functools.cache
def _token() -> re.Pattern:
    """A word: letters, digits and the combining marks of any script, and an apostrophe's letters after it (don't,
    80's). A text trial: letters a to z alone read "café" as "caf"."""
    return re.compile(f"(?:[^\\W_]|{_marks()})+(?:'(?:[^\\W\\d_]|{_marks()})+)?")


def _folded(text: str) -> str:
    """A text as the vectorizers read it: lower case, in Unicode's composed form (a decomposed "café" is the same
    word: a bug hunt saw "cafe" and "café" as two)."""
    return unicodedata.normalize("NFC", text.lower())


_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]{6}")  # kana, CJK, Thai: a sentence


def tokenize(text: str) -> list[str]:
    """Lower-cased words; aclImdb's `<br />` line breaks are dropped."""
    return _token().findall(unicodedata.normalize("NFC", text.lower().replace("<br />", " ")))


def _read_acl_imdb(root: Path, split: str) -> tuple[list[list[str]], np.ndarray]:
    docs: list[list[str]] = []
    labels: list[int] = []
    for label, sub in enumerate(("neg", "pos")):
        for f in sorted((f for f in (root / split / sub).glob("*.txt") if not f.name.startswith(".")),  # not macOS' ._1.txt
                        key=lambda f: f.name):  # (as Linux sorts them, on Windows too)
            docs.append(tokenize(f.read_text(encoding="utf-8", errors="replace")))
            labels.append(label)
    if not docs:
        raise DataError(f"{root / split} holds no reviews; expected {split}/neg/*.txt and {split}/pos/*.txt")
    return docs, np.array(labels, dtype=np.int64)


def word_ranks(docs: Iterable[list[str]]) -> dict[str, int]:
    """Each word's rank by its count over the tokenised `docs`, 1 = most frequent (as Keras' word index); ties
    in alphabetical order."""
    counts = Counter(w for doc in docs for w in doc)
    return {w: r for r, w in enumerate(sorted(counts, key=lambda w: (-counts[w], w)), start=1)}


def _acl_imdb_ranks(root: Path, split: str, num_words: int) -> tuple[list[np.ndarray], np.ndarray, dict[str, int]]:
    """Word ranks by frequency over the train reviews (so test reviews share the train vocabulary)."""
    train_docs, train_y = _read_acl_imdb(root, "train")
    word_rank = word_ranks(train_docs)
    docs, y = (train_docs, train_y) if split == "train" else _read_acl_imdb(root, "test")
    ranks = [np.array([word_rank.get(w, 0) for w in doc], dtype=np.int64) for doc in docs]
    kept = {w: r for w, r in word_rank.items() if r + INDEX_FROM < num_words}
    return ranks, y, kept


def _npz_ranks(path: Path, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    arrays = read_npz(path)
    xk, yk = f"x_{split}", f"y_{split}"
    if xk not in arrays or yk not in arrays:
        raise DataError(f"{path} has arrays {sorted(arrays)}; Keras' imdb.npz has x_train, y_train, x_test, y_test")
    x, y = arrays[xk], np.asarray(arrays[yk]).reshape(-1)
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} reviews in {xk} but {len(y)} labels in {yk}")
    if not np.isin(y, (0, 1)).all():
        raise DataError(f"{path}: labels in {yk} must be 0 (negative) or 1 (positive)")
    try:
        ranks = [np.asarray(r, dtype=np.int64).reshape(-1) for r in x]
    except (TypeError, ValueError):
        raise DataError(f"{path}: {xk} must hold lists of integer word ranks") from None
    return ranks, y.astype(np.int64)


def local_imdb(folder: Path) -> Path | None:
    """Where IMDb is in data folder `folder` without a download: imdb/imdb.npz, else an aclImdb/ folder
    (in imdb/, or unpacked straight into `folder`), whole or not; None if it is in none."""
    npz = folder / "imdb" / "imdb.npz"
    if npz.is_file():
        return npz
    return next((acl for acl in (folder / "imdb" / "aclImdb", folder / "aclImdb") if acl.is_dir()), None)


@register_dataset("imdb")
def load_imdb(
    split: str,
    folder: Path,
    *,
    representation: str = "sequence",  # "sequence" (padded word indices / num_words) or "bow" (multi-hot)
    maxlen: int = 512,  # words kept per review (its last ones), for "sequence"
    num_words: int = 10_000,  # vocabulary: indices >= num_words become OOV
) -> Dataset:
    """IMDb reviews from `folder/imdb/imdb.npz` (Keras) or `folder/imdb/aclImdb/` or `folder/aclImdb/` (the original text)."""
    if representation not in ("sequence", "bow"):
        raise ConfigError(f"representation: {representation!r} is not allowed; choose sequence or bow")
    if maxlen <= 0:
        raise ConfigError(f"maxlen: must be > 0, got {maxlen}")
    if num_words <= INDEX_FROM:
        raise ConfigError(f"num_words: must be > {INDEX_FROM} (indices 0-2 are reserved), got {num_words}")
    root = folder / "imdb"
    source = local_imdb(folder)
    if source is not None and source.suffix != ".npz" and split == "test" and not (source / "test").is_dir():
        # never Keras' imdb.npz in its place: its words are numbered by another vocabulary
        raise NoTestSplitError(f"imdb: {source} holds no test/ folder, so no test part; add test/neg/*.txt and "
                               "test/pos/*.txt, or evaluate on a validation split instead")
    meta: dict[str, Any] = {"representation": representation, "num_words": num_words}
    if source is None:
        try:
            source = ensure_files(root, [RemoteFile("imdb.npz", IMDB_NPZ_URL, f"sha256:{IMDB_NPZ_SHA256}")],
                                  dataset="imdb")[0]
        except DataNotFoundError:
            raise DataNotFoundError(
                f"imdb: neither {root / 'imdb.npz'} nor {root / 'aclImdb' / split}/ exists and imdb.npz could not be "
                f"downloaded; put Keras' imdb.npz ({IMDB_NPZ_URL}) or the unpacked aclImdb/ folder ({ACL_IMDB_URL}) "
                f"in {root}, or set AEKIT_DATA_DIR to a folder holding imdb/"
            ) from None
    meta["source"] = str(source)
    if source.suffix == ".npz":
        ranks, y = _npz_ranks(source, split)
    else:
        ranks, y, meta["word_rank"] = _acl_imdb_ranks(source, split, num_words)
    sequences = keras_indices(ranks, num_words)
    if representation == "sequence":
        x = pad_sequences(sequences, maxlen).astype(np.float32) / num_words  # indices -> [0, 1)
        meta["maxlen"] = maxlen
    else:
        x = multi_hot(sequences, num_words)
    return Dataset(torch.from_numpy(x), torch.from_numpy(y), name="imdb", classes=list(IMDB_CLASSES), meta=meta)


register_dataset("imdb-bow")(partial(load_imdb, representation="bow"))


# --- TF-IDF / bag-of-words corpora ---------------------------------------------------------------


def make_vectorizer(representation: str = "tfidf", max_features: int = 2000, *, vocabulary=None, idf=None,
                    words: int = 2):
    """An unfitted scikit-learn vectorizer whose outputs lie in [0, 1] (l2-normalised TF-IDF, or 0/1); or,
    given a run's saved `vocabulary` (and TF-IDF's `idf` weights), the fitted one it saved (core.read_unit_map)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    if representation not in REPRESENTATIONS:
        raise ConfigError(f"representation: {representation!r} is not allowed; choose one of: {', '.join(REPRESENTATIONS)}")
    if isinstance(max_features, bool) or not isinstance(max_features, int) or max_features <= 0:  # (True: 1 word)
        raise ConfigError(f"max_features: must be a whole number of words > 0, got {max_features!r}")
    # scikit-learn's words of two or more characters, the combining marks counted in (its \\w split "हिन्दी" into
    # fragments below two letters, and the word was lost: a bug hunt), read from composed, lower-case text
    # `words` 1: scikit-learn's own, as runs saved before 2026-12-07 read their texts (kept for them)
    words = {"token_pattern": f"(?:\\w|{_marks()}){{2,}}", "preprocessor": _folded} if words == 2 else {}
    if representation == "bow":
        return CountVectorizer(max_features=max_features, stop_words="english", binary=True, dtype=np.float32,
                               vocabulary=vocabulary, **words)
    vectorizer = TfidfVectorizer(max_features=max_features, stop_words="english", sublinear_tf=True, dtype=np.float32,
                                 vocabulary=vocabulary, **words)
    if idf is not None:
        vectorizer.idf_ = idf
    return vectorizer


def _encode_labels(labels: Sequence | None, classes: list[str] | None, n: int, name: str):
    if labels is None:
        return None, classes
    labels = list(labels)
    if len(labels) != n:
        raise DataError(f"{name}: {n} texts but {len(labels)} labels")
    if all(isinstance(v, str) for v in labels):
        classes = list(classes) if classes is not None else sorted(set(labels))
        unknown = sorted(set(labels) - set(classes))
        if unknown:
            raise DataError(f"{name}: labels {unknown[:5]} are not among the classes {classes}")
        lookup = {c: i for i, c in enumerate(classes)}
        return np.array([lookup[v] for v in labels], dtype=np.int64), classes
    if any(isinstance(v, str) for v in labels):  # before numpy, which would turn the numbers into strings
        kinds = sorted({type(v).__name__ for v in labels})
        raise DataError(f"{name}: labels must be all strings or all integers, got a mix of {', '.join(kinds)}")
    y = np.asarray(labels)
    if not integer_valued(y):  # 1.0 too, as CSVs write them
        raise DataError(f"{name}: labels must be all strings or all integers (1.0 counts as 1), got {y.dtype}")
    return y.astype(np.int64), classes


def text_corpus(
    texts: Sequence[str],
    labels: Sequence[str] | Sequence[int] | None = None,
    *,
    representation: str = "tfidf",  # "tfidf" or "bow" (binary bag of words)
    max_features: int = 2000,  # vocabulary size: the most frequent words of the fitting texts
    vectorizer=None,  # an already fitted vectorizer (e.g. train.meta["vectorizer"]), used as is
    classes: list[str] | None = None,  # label index -> name; defaults to the sorted string labels
    name: str = "text",
    files: list[str] | None = None,  # each text's file (a folder's), which notes and per-sample scores name
) -> Dataset:
    """A Dataset of (N, vocabulary) vectors in [0, 1] from a list of strings and optional labels.

    Without `vectorizer` a new one is fitted on `texts`; to encode test texts, pass the training
    set's `meta["vectorizer"]` and `classes` so both share one vocabulary and label numbering.
    """
    if isinstance(texts, str):  # list() would make it a corpus of single characters
        raise DataError(f"{name}: texts must be a list of strings, got one string (wrap it: [text])")
    texts = list(texts)
    if not texts:
        raise DataError(f"{name}: the corpus is empty")
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise DataError(f"{name}: text {bad} is a {type(texts[bad]).__name__}, expected a string")
    y, classes = _encode_labels(labels, classes, len(texts), name)
    if vectorizer is None:
        vectorizer = make_vectorizer(representation, max_features)
        try:
            vectorizer.fit(texts)
        except ValueError as err:  # e.g. "empty vocabulary; perhaps the documents only contain stop words"
            raise DataError(f"{name}: cannot build a vocabulary ({err})") from None
        unspaced = sum(bool(_UNSPACED.search(t)) for t in texts)  # (a text trial: a sentence a "word", unsaid)
        if unspaced:
            warn(f"{name}: {unspaced} of {len(texts)} texts are written without spaces between words (Chinese, "
                 "Japanese, Thai): each run of their characters is one word of the vocabulary; split their words with "
                 "spaces first (jieba, fugashi) for a vocabulary of words")
    x = vectorizer.transform(texts).toarray().astype(np.float32)  # (N, vocabulary)
    empty = np.flatnonzero(x.sum(axis=1) == 0)
    if len(empty):  # out-of-vocabulary texts (another language, an empty file) would score as the most typical
        which = [files[i] if files is not None else f"row {i}" for i in empty[:3]]
        warn(f"{name}: {len(empty)} of {len(texts)} texts hold no word of the vocabulary ({', '.join(which)}"
             f"{' ...' * (len(empty) > 3)}): their rows are all zeros (as anomaly scores, the most typical)")
    from sklearn.feature_extraction.text import TfidfVectorizer

    meta = {
        "representation": "tfidf" if isinstance(vectorizer, TfidfVectorizer) else "bow",
        "vectorizer": vectorizer,
        "vocabulary": [str(w) for w in vectorizer.get_feature_names_out()],
        **({"files": list(files)} if files is not None else {}),
    }
    return Dataset(
        torch.from_numpy(x), None if y is None else torch.from_numpy(y), name=name, classes=classes, meta=meta
    )


def text_corpus_splits(
    texts: Sequence[str],
    labels: Sequence[str] | Sequence[int],
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    representation: str = "tfidf",
    max_features: int = 2000,
    name: str = "text",
) -> tuple[Dataset, Dataset]:
    """A seeded stratified (train, test) split; the vectorizer is fitted on the train texts only."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction: must be between 0 and 1, got {test_fraction}")
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise DataError(f"{name}: {len(texts)} texts but {len(labels)} labels")
    index = np.arange(len(texts))
    try:
        train_idx, test_idx = train_test_split(index, test_size=test_fraction, random_state=seed, stratify=labels)
    except ValueError as err:
        raise DataError(f"{name}: cannot split {len(texts)} texts with test_fraction {test_fraction} ({err})") from None
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    trained = {texts[i] for i in train_idx}  # (a bug hunt: BBC News holds 98 copies, 36 of its test texts in train)
    if shared := sum(texts[i] in trained for i in test_idx):
        warn(f"{name}: {shared} of {len(test_idx)} test texts are also in the training part, word for word (the "
             "corpus holds copies): the test figures measure texts the model trained on")
    train = text_corpus(
        [texts[i] for i in train_idx], [labels[i] for i in train_idx],
        representation=representation, max_features=max_features, name=name,
    )
    test = text_corpus(
        [texts[i] for i in test_idx], [labels[i] for i in test_idx],
        vectorizer=train.meta["vectorizer"], classes=train.classes, name=name,
    )
    train.meta["indices"], test.meta["indices"] = train_idx, test_idx  # rows of the original corpus
    return train, test


def text_folder(path: Path, split: str = "train", *, like: dict | None = None) -> Dataset:
    """A folder of texts as `load_dataset` reads it: class folders of .txt files or files without a suffix
    (one text a file, its folder its class; a flat folder: unlabelled), or a folder holding train/ and
    test/ alone, each such a folder. TF-IDF over the 2,000 most frequent words of the training texts
    (text_corpus's defaults; call it for others); the test part is encoded with that vocabulary and
    numbering of classes, and every part by `like`'s when given: a run's saved vocabulary
    (core.read_unit_map), so its inputs stay as trained."""
    parts = {d.name for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")}
    root = path / "train" if "train" in parts and parts <= {"train", "test"} else path  # else "train" is a class
    if split == "test" and (root == path or not (path / "test").is_dir()):
        raise NoTestSplitError(f"{path} holds no test/ folder beside train/, so no test part")
    if like is not None:
        idf = like["idf"]
        vectorizer = make_vectorizer("bow" if idf is None else "tfidf", vocabulary=like["vocabulary"], idf=idf,
                                     words=like.get("words", 1))
        classes = like["classes"]
    else:
        with warnings.catch_warnings():
            if split != "train":  # its notes were said when the training part was read (a text trial: twice)
                warnings.simplefilter("ignore")
            texts, labels, files = _text_files(root)
            train = text_corpus(texts, labels, name=path.name, files=files)
        if split == "train":
            return train
        vectorizer, classes, trained = train.meta["vectorizer"], train.classes, set(texts)
    texts, labels, files = _text_files(path / "test" if split == "test" else root)
    if like is None and (shared := sum(t in trained for t in texts)):  # (a text trial: copies in train/, unsaid)
        warn(f"{path.name}: {shared} of {len(texts)} test texts are also in train/, word for word: the test figures "
             "measure texts the model trained on")
    if split == "test" or like is not None:  # a class the run (or train/) does not know: numbered after its own
        classes = classes_with_test(path / "test" if split == "test" else root, labels, classes)
    return text_corpus(texts, labels, vectorizer=vectorizer, classes=classes, name=path.name, files=files)


def _text_files(folder: Path) -> tuple[list[str], list[str] | None, list[str]]:
    """(texts, their class folders' names or None, their files within `folder`) of the .txt files in `folder`'s
    class folders, or in it."""
    classes, files = class_files(folder, TEXT_FILES, "texts")
    if not files:
        raise DataError(f"{folder} holds no .txt files (or files without a suffix)")
    texts, other = zip(*(_read_text(f) for _, f in files))
    if any(other):
        first = next(f for (_, f), read in zip(files, other) if read).relative_to(folder)
        kinds = " or ".join(k for k in ("Windows-1252", "latin-1") if k in other)
        warn(f"{folder}: {sum(map(bool, other))} of {len(files)} texts are not UTF-8 (the first: {first}); read as {kinds}")
    names = None if classes is None else [classes[i] for i, _ in files]
    worded = [(t, n) for t, n in zip(texts, names or ()) if t.strip()]  # (empty ones are said alone: a bug hunt)
    twice = 0 if names is None else len(set(worded)) - len({t for t, _ in worded})  # Reuters: a story in two topics
    if twice:
        warn(f"{folder}: {twice} texts are in more than one class folder: each copy is a sample of its "
             "class")
    return list(texts), names, [str(f.relative_to(folder)) for _, f in files]


def _read_text(file: Path) -> tuple[str, str | None]:
    """(a text file's text, the encoding it was read in where not UTF-8): UTF-8, or UTF-32, UTF-16 or UTF-8 with a
    byte-order mark (UTF-32's first, as UTF-16's begins it), else Windows-1252 (Windows' "ANSI": its œ, Š and € are
    not latin-1's, a bug hunt), else latin-1 (20 Newsgroups' and Reuters' articles), which decodes any bytes."""
    raw = file.read_bytes()
    marks = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    for mark, encoding in zip(marks, ("utf-32", "utf-32", "utf-8-sig", "utf-16", "utf-16")):
        if raw.startswith(mark):
            return raw.decode(encoding, errors="replace"), None
    if b"\0" in raw:  # (a text trial: a program among the texts was read as latin-1, or not, by where it sorted)
        raise DataError(f"{file} is not a text (it holds NUL bytes: a binary file, or UTF-16 without its byte-order "
                        "mark); move it out of the corpus")
    for encoding in ("utf-8", "cp1252"):
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode(encoding), None if encoding == "utf-8" else "Windows-1252"
    return raw.decode("latin-1"), "latin-1"


def read_jsonl(path: Path, *, text_key: str = "text", label_key: str = "label") -> tuple[list[str], list[str]]:
    """Texts and labels from gzip-compressed JSON lines (one object a line)."""
    texts, labels = [], []
    try:
        with gzip.open(path, "rt", encoding="utf-8-sig") as f:  # (a byte-order mark: "line 1 is not a JSON object")
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    texts.append(row[text_key])
                    labels.append(row[label_key])
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise DataError(
                        f"{path}: line {number} is not a JSON object with '{text_key}' and '{label_key}'"
                    ) from None
                if not isinstance(texts[-1], str):  # (a bug hunt: "text 1597 is a NoneType", a shuffled part's row)
                    raise DataError(f"{path}: line {number}'s '{text_key}' is {json.dumps(texts[-1])[:40]}, not a text")
    except PermissionError as err:
        raise DataError(f"{path} cannot be read ({err.strerror}); check its permissions") from None
    except (OSError, EOFError) as err:
        raise DataError(f"{path} is truncated or not gzip ({err})") from None
    if not texts:
        raise DataError(f"{path} holds no texts")
    return texts, labels


@register_dataset("bbc-news")
def load_bbc_news(
    split: str,
    folder: Path,
    *,
    representation: str = "tfidf",
    max_features: int = 2000,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """BBC News from `folder/bbc-news/bbc-news.jsonl.gz` (id, label, text a line), split 80/20 by topic."""
    path = folder / "bbc-news" / BBC_FILE
    if not path.is_file():
        raise DataNotFoundError(
            f"bbc-news: missing {BBC_FILE} in {path.parent}; put the BBC News corpus there as gzip JSON lines "
            f"(id, label, text), or set AEKIT_DATA_DIR to a folder holding bbc-news/{BBC_FILE}"
        )
    texts, labels = read_jsonl(path)
    with warnings.catch_warnings():
        if split == "train":  # the copies in both parts: said of the test part, where they count (a review: twice)
            warnings.filterwarnings("ignore", message=".*also in the training part")
        train, test = text_corpus_splits(
            texts, labels, test_fraction=test_fraction, seed=seed,
            representation=representation, max_features=max_features, name="bbc-news",
        )
    return train if split == "train" else test


register_dataset("bbc-news-bow")(partial(load_bbc_news, representation="bow"))
