"""Retrieval, text and CIFAR experiments: `retrieval-mnist`, `retrieval-bbc`, `imdb-bn-dropout`, `cifar-deep`.

Each trains its autoencoder(s) through the run layer (`run.train_model`), then writes into its run
folder: history-<model>.json and model-<model>.safetensors for every trained model, PNG pictures,
and results (tables as rows) that run_experiment saves to results.json.

Retrieval follows Hinton & Salakhutdinov (2006): a query retrieves the items whose vectors are
nearest (cosine or euclidean) and an item is relevant when it shares the query's label; we report
precision@k and MAP over the whole ranked database, and precision@k for k = 1..curve_k as a curve
(`aekit.analysis.retrieval.retrieval_scores`). Every projection (PCA, LSA, the autoencoder) is
fitted on the training split only.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from ...analysis import plots
from ...analysis.latent import latent_maps, reconstruction_grid
from ...analysis.retrieval import chance_precision, query_subset, retrieval_scores
from ...config import check
from ...data import Dataset, data_dir
from ...data.batches import encode_all
from ...data.text import (
    BBC_FILE,
    keras_indices,
    load_bbc_news,
    local_imdb,
    pad_sequences,
    read_jsonl,
    tokenize,
    word_ranks,
)
from ...errors import ConfigError, DataNotFoundError
from ...models.pca import PCABaseline
from ..run import load_data, load_splits, read_split, test_metrics
from . import (
    ExperimentConfig,
    Positive,
    Run,
    check_data,
    check_positive,
    register_experiment,
    table,
    test_part,
    with_test,
)

# --- shared pieces -------------------------------------------------------------------------------


CURVE_K = 100  # the precision curve's depth by default, or the items each query can retrieve where fewer


def check_depths(k: int, curve_k: int | None, can_retrieve: int) -> int:
    """Refuse `k` or `curve_k` outside 1..can_retrieve before any training is spent; returns the curve's depth
    (`curve_k`, by default CURVE_K or fewer)."""
    curve_k = min(CURVE_K, can_retrieve) if curve_k is None else curve_k
    for key, value in (("experiment.k", k), ("experiment.curve_k", curve_k)):
        check(0 < value <= can_retrieve, key,
              f"must be an integer between 1 and {can_retrieve} (the items each query can retrieve), got {value!r}")
    return curve_k


def precision_figure(curves: Mapping[str, np.ndarray], *, title: str, dashed: Sequence[str] = ()):
    """Precision@k against k for each method, on one plot (`dashed` names drawn dashed)."""
    fig = plots.new_figure(7.5, 4.8)
    ax = fig.add_subplot()
    colours: dict[str, str] = {}
    for name, curve in curves.items():
        family = name.split(" (")[0]  # one colour per method, the metric in brackets picks the line style
        colour = colours.setdefault(family, f"C{len(colours) % 10}")
        ks = np.arange(1, len(curve) + 1)
        ax.plot(ks, curve, color=colour, linestyle="--" if name in dashed else "-", linewidth=1.8, label=name)
    ax.set_xlabel("k (number of retrieved items)")
    ax.set_ylabel("precision@k (share with the query's label)")
    ax.set_xlim(1, max(len(c) for c in curves.values()))
    ax.locator_params(axis="x", integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(plots.fit_title(title, 7.0, fontsize=11), fontsize=11)
    return fig


def curves_figure(histories: Mapping[str, Mapping[str, Sequence[float]]], title: str):
    """`plots.learning_curves` with its title wrapped to the figure's width.

    With 3 or more epochs the y-axis is fitted to epochs 2 onwards, so a large first-epoch loss does not
    flatten the later curves where runs differ (first-epoch points may lie above the plot, as the title says).
    """
    later = [v for h in histories.values() for key in ("train_loss", "val_loss") for v in h.get(key, [])[1:]]
    zoom = len(later) > 0 and min(len(h["train_loss"]) for h in histories.values()) >= 3
    fig = plots.learning_curves(histories, title=plots.fit_title(title + (" [y-axis fitted to epochs 2 on]" if zoom else ""), 6.8))
    if zoom:
        lo, hi = min(later), max(later)
        pad = 0.05 * (hi - lo) or 0.05 * abs(hi) or 1.0
        fig.axes[0].set_ylim(lo - pad, hi + pad)
    return fig


def describe(values: Mapping[str, Any]) -> str:
    """Settings as one compact line: 'name=dense, hidden=[500, 250], ...'."""
    return ", ".join(f"{k}={v}" for k, v in values.items())


# --- retrieval-mnist -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RetrievalMnist(Positive):
    index_split: Literal["train", "test"] = "test"  # the split whose items are indexed; its items query the others
    index_limit: int | None = None  # index a seeded subset of this many items
    k: int = 10  # the precision@k of the table
    curve_k: int | None = None  # the curve shows precision@1..curve_k; None: 100, or fewer on a small index
    max_queries: int | None = 1000  # a seeded subset of items query the rest (MAP ranks the whole index)


@register_experiment(
    "retrieval-mnist",
    settings=RetrievalMnist,
    defaults={
        "data": {"name": "mnist", "val_fraction": 0.1},  # data.limit: train the autoencoder and PCA on a subset
        # Hinton & Salakhutdinov (2006)'s 784-1000-500-250-30 autoencoder, linear code
        "model": {"name": "dense", "hidden": [1000, 500, 250], "code_size": 30},
    },
    tiny={
        "data": {"name": "mnist-mini", "limit": 1000},
        "model": {"hidden": [64], "code_size": 8},
        "train": {"epochs": 4, "batch_size": 50, "lr": 0.003},
        "experiment": {"index_limit": 300, "curve_k": 20, "max_queries": 60},
    },
    data_keys=("name", "layout", "scale", "image_size", "limit", "val_fraction"),
)
def retrieval_mnist(cfg: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    s, seed, name = cfg.experiment, cfg.train.seed, cfg.data.name
    on_test = s.index_split == "test"
    train, val = load_data(cfg)
    full = (test_part("retrieval-mnist", cfg, name, instead=", or set experiment.index_split=train to index the training part")
            if on_test else read_split(cfg, "train", name).take(cfg.data.limit, seed=seed))
    index = full.take(s.index_limit, seed=seed)
    # relevant = sharing the query's label: the indexed part needs labels
    check_data("retrieval-mnist", cfg.data.name, train, index if on_test else None, labels="test" if on_test else True,
               pca={"model.code_size": cfg.model.get("code_size")})
    curve_k = check_depths(s.k, s.curve_k, len(index) - 1)  # leave-one-out: a query never retrieves itself
    run = Run(run_dir, cfg, (train, val, None))
    run.check()
    model, history = run.train("ae")
    size = model.code_size

    raw_index = index.x.reshape(len(index), -1).numpy()  # (N, 784)
    pca = PCABaseline(train.x, size, seed=seed)
    raw_name = "raw pixels" if run.unit == "image" else "raw values"
    vectors = {raw_name: raw_index, f"PCA-{size}": pca.encode(index.x), f"autoencoder-{size}": encode_all(model, index)}
    labels = index.y.numpy()
    chosen = query_subset(len(index), s.max_queries, seed)

    rows, curves = [], {}
    for metric in ("cosine", "euclidean"):
        for method, vecs in vectors.items():
            scores = retrieval_scores(vecs, labels, k=s.k, metric=metric, query_index=chosen, curve_k=curve_k)
            curves[f"{method} ({metric})"] = scores.pop("curve")
            rows.append({"method": method, "metric": metric, "dim": int(vecs.shape[1]), **scores})
    pk = f"precision@{s.k}"
    fig = precision_figure(curves, dashed=[n for n in curves if n.endswith("(euclidean)")],
                           title=f"{name}: precision@k of {raw_name}, PCA-{size} and {size}-d autoencoder codes "
                                 "(solid = cosine, dashed = euclidean)")
    run.picture(fig, "precision-at-k.png",
                f"Precision@k for k = 1..{curve_k}: {raw_name}, PCA-{size} and the autoencoder's codes")
    shown = min(10, len(index) - 1)
    texts = "vectorizer" in index.meta  # a text drawn as its word weights shows nothing of it: no picture
    if not texts:
        run.picture(_neighbour_picture(vectors[f"autoencoder-{size}"], index, _spread(chosen, labels), k=shown, size=size),
                    "neighbours.png", f"Query {run.noun}s (left) and their {shown} nearest {run.noun}s by autoencoder code")
    fig = curves_figure({"autoencoder": history}, f"{name}: autoencoder loss (solid = train, dashed = validation)")
    run.picture(fig, "learning-curves.png", "The autoencoder's training and validation loss")

    best = {m: max((r for r in rows if r["metric"] == m), key=lambda r: r["map"])["method"] for m in ("cosine", "euclidean")}
    cosine = {r["method"]: r for r in rows if r["metric"] == "cosine"}
    ae, pc, raw = cosine[f"autoencoder-{size}"], cosine[f"PCA-{size}"], cosine[raw_name]
    summary = (
        f"retrieval-mnist on {name}: cosine MAP autoencoder-{size} {ae['map']:.3f} vs PCA-{size} {pc['map']:.3f} vs {raw_name} "
        f"{raw['map']:.3f} ({pk} {ae[pk]:.3f} / {pc[pk]:.3f} / {raw[pk]:.3f}); best MAP: {best['cosine']} (cosine), "
        f"{best['euclidean']} (euclidean)"
    )
    notes = [f"PCA and the autoencoder were fitted on {len(train)} training {run.noun}s; relevant = same label; "
             f"a random ranking's precision = {chance_precision(labels, labels[chosen]):.3f}. Model {describe(cfg.model)}.",
             "No picture of neighbours: texts are measured by the table alone." * texts]
    return run.finish(
        {"summary": summary, "dataset": name, "index_split": s.index_split, "n_index": len(index),
         "n_queries": len(chosen), "code_size": size, "k": s.k, "rows": rows,
         "curves": {method: c.tolist() for method, c in curves.items()},
         "final_val_loss": history.get("val_loss", [None])[-1]},
        table(f"Retrieval on {name} {s.index_split} ({len(index)} items, {len(chosen)} leave-one-out queries)",
              ["method", "metric", "dim", pk, "map"], rows, notes),
    )


def _spread(chosen: np.ndarray, labels: np.ndarray, n: int = 8) -> np.ndarray:
    """`n` of the query indices `chosen`, taken from each label in turn (a folder read class by class would
    otherwise show its first class alone)."""
    by_label: dict[int, list[int]] = {}
    for q in chosen:
        by_label.setdefault(int(labels[q]), []).append(int(q))
    turns = (queue[i] for i in range(max(map(len, by_label.values()))) for queue in by_label.values() if i < len(queue))
    return np.array(list(itertools.islice(turns, n)))


def _neighbour_picture(codes: np.ndarray, index: Dataset, queries: np.ndarray, *, k: int, size: int):
    """Each query digit followed by its k nearest neighbours by autoencoder code (cosine)."""
    from sklearn.neighbors import NearestNeighbors

    _, idx = NearestNeighbors(metric="cosine").fit(codes).kneighbors(codes[queries], n_neighbors=k + 1)
    idx = np.stack([row[row != q][:k] for row, q in zip(idx, queries)])  # (Q, k), the query itself dropped
    x = index.x.numpy()
    grid = np.concatenate([x[queries][:, None], x[idx]], axis=1)  # (Q, 1 + k, *sample)
    labels = index.y.numpy()
    names = index.classes or [str(c) for c in range(int(labels.max()) + 1)]
    row_labels = [f"{names[labels[q]]}: {int((labels[i] == labels[q]).sum())}/{k} same" for q, i in zip(queries, idx)]
    return plots.image_grid(
        grid, title=f"Query (left) and its {k} nearest items by {size}-d autoencoder code (cosine)",
        row_labels=row_labels, col_labels=["query", *map(str, range(1, k + 1))],
    )


# --- retrieval-bbc -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RetrievalBbc(Positive):
    representation: Literal["tfidf", "bow"] = "tfidf"  # the autoencoder's input: tfidf (l2-normalised) or bow (binary)
    max_features: int = 2000  # vocabulary: the 2,000 most frequent words of the training articles
    lsa_sizes: tuple[int, ...] = (10, 50)
    metric: Literal["cosine", "euclidean"] = "cosine"  # the paper compares codes by the cosine of their angle
    k: int = 10
    curve_k: int | None = None  # as retrieval-mnist's
    map_methods: tuple[Literal["code", "pca", "tsne", "umap"], ...] = ("pca", "tsne")  # 2-D maps of the test codes


@register_experiment(
    "retrieval-bbc",
    settings=RetrievalBbc,
    defaults={
        # training articles held out to watch the autoencoder's loss (never the queries)
        "data": {"name": "bbc-news", "val_fraction": 0.1},
        # 2000-500-250-125-10 as in the paper, linear 10-d code, sigmoid outputs with BCE on TF-IDF;
        # dropout 0.3 on the hidden layers: with 1,600 articles the plain model overfits (MAP 0.65 vs 0.78)
        "model": {"name": "dense", "hidden": [500, 250, 125], "code_size": 10, "dropout": 0.3},
        "train": {"epochs": 100, "batch_size": 64},
    },
    tiny={
        "model": {"hidden": [32]},
        "train": {"epochs": 2, "batch_size": 128, "lr": 0.003},
        "experiment": {"max_features": 300, "curve_k": 20, "map_methods": ["pca"]},
    },
    data_keys=("name", "val_fraction"),
)
def retrieval_bbc(cfg: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    from sklearn.decomposition import TruncatedSVD

    s, seed, folder = cfg.experiment, cfg.train.seed, data_dir()
    check(cfg.data.name == "bbc-news", "data.name", f"retrieval-bbc reads BBC News (bbc-news), got {cfg.data.name!r}; "
          "retrieval-mnist takes a folder of your own (texts or images, with train/ and test/)")
    options = {"representation": s.representation, "max_features": s.max_features}
    train = load_bbc_news("train", folder, **options)  # the database: 1,780 articles
    test = load_bbc_news("test", folder, **options)  # the queries: 445 unseen articles
    # the LSA baselines always see TF-IDF, as in the paper's comparison (the autoencoder may see bow)
    tfidf_train, tfidf_test = (
        (train, test) if s.representation == "tfidf"
        else (load_bbc_news(split, folder, max_features=s.max_features) for split in ("train", "test"))
    )
    curve_k = check_depths(s.k, s.curve_k, len(train))
    for dim in s.lsa_sizes:
        if not 0 < dim < tfidf_train.x.shape[1]:
            raise ConfigError(f"experiment.lsa_sizes: {dim} must be at least 1 and below the vocabulary's "
                              f"{tfidf_train.x.shape[1]} words (experiment.max_features)")
    fit_on, val = train.split(cfg.data.val_fraction, seed=seed) if cfg.data.val_fraction else (train, None)
    run = Run(run_dir, cfg, (fit_on, val, None))
    run.check()
    model, history = run.train("ae")
    size = model.code_size

    vectors = {f"TF-IDF ({tfidf_train.x.shape[1]}-d)": (tfidf_train.x.numpy(), tfidf_test.x.numpy())}
    for dim in s.lsa_sizes:
        svd = TruncatedSVD(dim, random_state=seed).fit(tfidf_train.x.numpy())
        vectors[f"LSA-{dim}"] = (svd.transform(tfidf_train.x.numpy()), svd.transform(tfidf_test.x.numpy()))
    ae_name = f"autoencoder-{size}"
    vectors[ae_name] = (encode_all(model, train), encode_all(model, test))

    y_db, y_q = train.y.numpy(), test.y.numpy()
    rows, curves = [], {}
    for method, (db, q) in vectors.items():
        scores = retrieval_scores(db, y_db, q, y_q, k=s.k, metric=s.metric, curve_k=curve_k)
        curves[method] = scores.pop("curve")
        rows.append({"method": method, "dim": int(db.shape[1]), **scores})
    pk = f"precision@{s.k}"
    ae = next(r for r in rows if r["method"] == ae_name)
    lsa = {int(r["method"][4:]): r for r in rows if r["method"].startswith("LSA-")}
    verdict = _verdict(ae, lsa[max(lsa)], f"LSA-{max(lsa)}", pk)
    notes = [
        f"Queries: the {len(test)} test articles; database: the {len(train)} training articles; relevant = same topic "
        f"(5 topics; a random ranking's precision = {chance_precision(y_db, y_q):.3f}); {s.metric} similarity. LSA was fitted on "
        f"the {len(train)} training articles, the autoencoder on {len(fit_on)} of them ({len(train) - len(fit_on)} held "
        f"out to watch its loss); input {s.representation}; model {describe(cfg.model)}.",
        f"Hinton & Salakhutdinov (2006) claim 10-d autoencoder codes retrieve about as well as (or better than) 50-d LSA. "
        f"Here: {verdict}.",
    ]
    fig = precision_figure(curves, title=f"BBC News: precision@k of {len(test)} test queries against {len(train)} "
                                         f"training articles ({s.metric})")
    run.picture(fig, "precision-at-k.png", f"Precision@k for k = 1..{curve_k} of test articles querying the training articles")
    if s.map_methods:
        _, fig = latent_maps(model, test, methods=s.map_methods, n=len(test), seed=seed)
        run.picture(fig, "codes-map.png",
                    f"2-D maps ({', '.join(s.map_methods)}) of the test articles' {size}-d codes, coloured by topic")
    fig = curves_figure({ae_name: history}, "BBC News autoencoder loss (solid = train, dashed = held-out training articles)")
    run.picture(fig, "learning-curves.png", "The autoencoder's training and validation loss")
    summary = (
        f"retrieval-bbc: {s.metric} MAP {ae_name} {ae['map']:.3f} vs "
        + ", ".join(f"LSA-{d} {r['map']:.3f}" for d, r in sorted(lsa.items()))
        + f", raw TF-IDF {rows[0]['map']:.3f}; {verdict}"
    )
    return run.finish(
        {"summary": summary, "verdict": verdict, "n_database": len(train), "n_queries": len(test), "code_size": size,
         "metric": s.metric, "k": s.k, "rows": rows, "curves": {n: c.tolist() for n, c in curves.items()},
         "final_val_loss": history.get("val_loss", [None])[-1]},
        table("BBC News retrieval by topic", ["method", "dim", pk, "map"], rows, notes),
    )


def _verdict(ae: Mapping[str, Any], lsa: Mapping[str, Any], lsa_name: str, pk: str, tolerance: float = 0.02) -> str:
    """How the autoencoder's MAP and precision@k compare with LSA's: better, about as well (within `tolerance`), worse."""

    def word(metric: str) -> str:
        gap = ae[metric] - lsa[metric]
        return "better than" if gap > tolerance else "about as well as" if gap >= -tolerance else "worse than"

    by_map, by_pk = word("map"), word(pk)
    numbers = f"MAP {ae['map']:.3f} vs {lsa['map']:.3f}, {pk} {ae[pk]:.3f} vs {lsa[pk]:.3f}"
    if by_map == by_pk:
        return f"the autoencoder's codes retrieve {by_map} {lsa_name} ({numbers})"
    short = {"better than": "higher", "about as well as": "about equal", "worse than": "lower"}
    return f"mixed against {lsa_name}: {short[by_map]} MAP, {short[by_pk]} {pk} ({numbers})"


# --- imdb-bn-dropout -----------------------------------------------------------------------------

TEXT_SETS = ("imdb", "bbc-news-sequences", "bbc-news-bow")


def bbc_sequences(split: str, folder: Path, *, maxlen: int, num_words: int) -> Dataset:
    """BBC News as IMDb-style word-index sequences: Keras indices of frequency ranks, padded to `maxlen`, / num_words.

    Ranks are counted over the training articles of the loader's seeded 80/20 split.
    """
    train_rows = load_bbc_news("train", folder, max_features=10).meta["indices"]  # the split; the vectors are unused
    texts, labels = read_jsonl(folder / "bbc-news" / BBC_FILE)
    rows = train_rows if split == "train" else np.setdiff1d(np.arange(len(texts)), train_rows)
    docs = [tokenize(texts[i]) for i in rows]
    rank = word_ranks(docs if split == "train" else (tokenize(texts[i]) for i in train_rows))
    sequences = keras_indices([[rank.get(w, 0) for w in doc] for doc in docs], num_words)
    x = pad_sequences(sequences, maxlen).astype(np.float32) / num_words  # (N, maxlen) in [0, 1)
    classes = sorted(set(labels))
    y = np.array([classes.index(labels[i]) for i in rows], dtype=np.int64)
    return Dataset(torch.from_numpy(x), torch.from_numpy(y), name="bbc-news-sequences", classes=classes,
                   meta={"maxlen": maxlen, "num_words": num_words})


def load_text_set(name: str, folder: Path, *, maxlen: int, num_words: int) -> Dataset:
    """The training split of one of TEXT_SETS."""
    if name == "imdb":
        from ...data.text import load_imdb

        return load_imdb("train", folder, maxlen=maxlen, num_words=num_words)
    if name == "bbc-news-sequences":
        return bbc_sequences("train", folder, maxlen=maxlen, num_words=num_words)
    if name == "bbc-news-bow":
        return load_bbc_news("train", folder, representation="bow")
    raise ConfigError(f"data.name: {name!r} is not allowed; choose one of: {', '.join(TEXT_SETS)}")


@dataclass(frozen=True, kw_only=True)
class ImdbBnDropout:
    fallback: Literal["bbc-news-sequences", "bbc-news-bow"] | None = "bbc-news-sequences"  # when IMDb is absent (said so); null = fail
    download: bool = False  # try to download imdb.npz when it is absent (needs a network)
    maxlen: int = 512  # words per review (sequences)
    num_words: int = 10000  # vocabulary of the word indices
    batch_norm: bool = True  # what the "batch norm" run sets (on the hidden layers)
    dropout: float = 0.2  # what the "dropout" run sets (after the hidden layers' activations)
    adagrad_lr: float = 0.01  # the adagrad run's learning rate (torch's default)

    def __post_init__(self) -> None:
        check_positive(self, "maxlen", "num_words", "adagrad_lr")
        check(0 <= self.dropout < 1, "dropout", f"must be a probability in [0, 1), got {self.dropout}")


@register_experiment(
    "imdb-bn-dropout",
    models=(("dense",), "compares the dense model with its batch-norm and dropout twins; it trains dense only"),
    settings=ImdbBnDropout,
    defaults={
        "data": {"name": "imdb", "val_fraction": 0.2},  # imdb, bbc-news-sequences or bbc-news-bow
        "model": {"name": "dense", "hidden": [256], "code_size": 128, "activation": "relu"},
        "train": {"epochs": 30},
    },
    tiny={
        "data": {"limit": 400},
        "model": {"hidden": [32], "code_size": 16},
        "train": {"epochs": 2, "batch_size": 64, "lr": 0.003},
        "experiment": {"maxlen": 64},
    },
    data_keys=("name", "limit", "val_fraction"),
    unused={"model.dropout": "experiment.dropout sets the dropout run's (the others have none)",  # (a bug hunt: the
            "model.batch_norm": "experiment.batch_norm sets the batch-norm run's (the others have none)"},  # plain run's)
)
def imdb_bn_dropout(cfg: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    s, folder = cfg.experiment, data_dir()
    name, note, imdb = cfg.data.name, None, folder / "imdb"
    if name == "imdb" and local_imdb(folder) is None and not s.download:
        missing = f"IMDb is not here: none of {imdb / 'imdb.npz'}, {imdb / 'aclImdb'}/, {folder / 'aclImdb'}/ exists"
        if s.fallback is None:
            raise DataNotFoundError(f"{missing}; put one there, set experiment.download=true, or set experiment.fallback")
        name = s.fallback
        note = f"{missing}, so this ran the same comparison on {name} instead"
        print(f"imdb-bn-dropout: {note}")
    check(cfg.data.val_fraction > 0, "data.val_fraction", "imdb-bn-dropout draws validation curves: it must be above 0")
    data = load_text_set(name, folder, maxlen=s.maxlen, num_words=s.num_words).take(cfg.data.limit, seed=cfg.train.seed)
    train, val = data.split(cfg.data.val_fraction, seed=cfg.train.seed)
    run = Run(run_dir, cfg, (train, val, None))

    plain = f"plain ({cfg.train.optimizer})"  # (a bug hunt: "plain (adam)" read beside train.optimizer=sgd)
    runs = {
        plain: cfg,
        "batch norm": cfg.with_model(batch_norm=s.batch_norm),
        "dropout": cfg.with_model(dropout=s.dropout),
        "adagrad": cfg.with_train(optimizer="adagrad", lr=s.adagrad_lr, momentum=0.0),  # (an sgd run's momentum)
    }
    run.check(*runs.values())  # a variant the data cannot take (batch norm and a batch of 1): before any is saved
    histories, rows = {}, []
    for tag, variant in runs.items():
        _, history = run.train(tag.split(" (")[0].replace(" ", "-"), variant)
        histories[tag] = history
        rows.append({
            "run": tag, "optimizer": variant.train.optimizer, "lr": variant.train.lr,
            "final train loss": history["train_loss"][-1], "final val loss": history["val_loss"][-1],
            "best val loss": min(history["val_loss"]), "best epoch": int(np.argmin(history["val_loss"])) + 1,
        })
    dim, hidden = train.x.shape[1], list(cfg.model.get("hidden", []))
    widths = "-".join(map(str, [dim, *hidden, cfg.model.get("code_size", "?"), *hidden[::-1], dim]))  # mirrored
    pairs = {
        "batch-norm.png": (plain, "batch norm", "without vs with batch norm"),
        "dropout.png": (plain, "dropout", f"without vs with dropout {s.dropout}"),
        "optimizer.png": (plain, "adagrad", f"{cfg.train.optimizer} (lr {cfg.train.lr}) vs adagrad (lr {s.adagrad_lr})"),
    }
    for file, (a, b, what) in pairs.items():
        fig = curves_figure({a: histories[a], b: histories[b]},
                            f"{name}, {widths} dense autoencoder, BCE: {what} (solid = train, dashed = validation)")
        run.picture(fig, file, f"Learning curves: {what}")
    notes = [f"Note: {note}." if note else "",
             f"{len(train)} training and {len(val)} validation samples of {name}; loss = BCE summed over the "
             f"{train.x.shape[1]} inputs, mean over samples."]
    best = min(rows, key=lambda r: r["best val loss"])
    summary = (
        ("imdb-bn-dropout: " + (f"IMDb absent, ran on {name} instead; " if note else f"on {name}; "))
        + "final val loss " + ", ".join(f"{r['run']} {r['final val loss']:.2f}" for r in rows)
        + f"; lowest: {best['run']}"
    )
    return run.finish({"summary": summary, "dataset": name, "fallback_note": note, "rows": rows,
                       "n_train": len(train), "n_val": len(val)},
                      table(f"Dense autoencoder {widths} on {name}", list(rows[0]), rows, notes))


# --- cifar-deep ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CifarDeep(Positive):
    map_points: int = 2000  # test images in the 2-D map


@register_experiment(
    "cifar-deep",
    settings=CifarDeep,
    defaults={
        "data": {"name": "cifar10", "val_fraction": 0.1},
        # the same model as configs/cifar-deep.yaml: per-layer lists = encoder hidden layers, then the code
        "model": {
            "name": "dense", "hidden": [2048, 1024, 512, 256, 128], "code_size": 64, "activation": "relu",
            "code_activation": "tanh",
            "batch_norm": [False, True, False, True, False, True],
            "dropout": [0.0, 0.2, 0.0, 0.2, 0.2, 0.0],
            "output_activation": "sigmoid", "recon_loss": "bce",
        },
        "train": {"epochs": 20, "batch_size": 256},
    },
    tiny={
        "data": {"limit": 2000, "test_limit": 500},  # in seconds, as every preset (it read all 50,000 photos)
        "model": {"hidden": [64, 32], "code_size": 8, "batch_norm": [False, True, True], "dropout": [0.0, 0.2, 0.0]},
        "train": {"epochs": 2, "batch_size": 32, "lr": 0.003},
        "experiment": {"map_points": 200},
    },
)
def cifar_deep(cfg: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    seed = cfg.train.seed
    run = Run(run_dir, cfg, with_test(load_splits(cfg), cfg.data.test_limit))  # one-line DataNotFoundError when CIFAR-10 is absent
    train, _, test = run.splits
    check_data("cifar-deep", cfg.data.name, train, test, pca={"model.code_size": cfg.model.get("code_size")},
               min_test=(5, "a 2-D map of their codes"))
    run.check()
    model, history = run.train("ae")
    metrics = test_metrics(model, train, test, seed=seed)
    sse, pca_sse, bce = metrics["squared_error_per_sample"], metrics["pca_squared_error_per_sample"], metrics["test_recon"]
    _, fig = reconstruction_grid(model, test, n=10)
    part, unit = run.part, run.unit
    run.picture(fig, "reconstructions.png", f"{part.capitalize()} {unit}s (top) above their reconstructions (bottom)")
    # the 2-D map by UMAP where umap-learn is installed, else by t-SNE (the note says which and why)
    method, method_note = (("umap", "UMAP (umap-learn)") if importlib.util.find_spec("umap") is not None
                           else ("tsne", "t-SNE (umap-learn is not installed: pip install 'aekit[umap]')"))
    _, fig = latent_maps(model, test, methods=(method,), n=cfg.experiment.map_points, seed=seed)
    run.picture(fig, "codes-map.png", f"2-D map of the {part} {unit}s' {model.code_size}-d codes by {method_note}, "
                "coloured by class")
    fig = curves_figure({"cifar-deep": history}, f"{cfg.data.name}: deep autoencoder BCE (solid = train, dashed = validation)")
    run.picture(fig, "learning-curves.png", "Training and validation loss")
    rows = [[f"autoencoder ({model.code_size}-d tanh code)", sse, bce], [f"PCA-{model.code_size}", pca_sse, None]]
    summary = (
        f"cifar-deep on {cfg.data.name}: {part} squared error per {unit} {sse:.4g} (PCA-{model.code_size}: {pca_sse:.4g}), "
        f"{part} BCE {bce:.4g}; code map by {method_note}"
    )
    return run.finish(
        {"summary": summary, "test": {k.removeprefix("test_"): v for k, v in metrics.items() if k.startswith("test_")},
         "squared_error_per_image": sse, "pca_squared_error_per_image": pca_sse,
         "map_method": method, "n_train": len(train), "n_test": len(test)},
        table(f"Deep dense autoencoder on {cfg.data.name}", ["model", f"{part} squared error per {unit}",
              f"{part} BCE per {unit}"], rows,
              [f"{len(train)} training, {len(test)} {part} {unit}s; squared error summed over the "
               f"{math.prod(train.sample_shape):,} values in [0, 1]. "
               f"2-D map of {min(cfg.experiment.map_points, len(test))} {part} codes by {method_note}."]),
    )
