"""Retrieval with autoencoder codes: index a data set's codes, query by image, vector or text, score it.

`CodeIndex(model).fit(dataset).query(x, k)` finds the k nearest codes (cosine or euclidean, via
scikit-learn's NearestNeighbors). Text queries go through the data set's fitted TF-IDF vectorizer,
then the model. `precision_at_k` and `mean_average_precision` score retrieved labels, and
`compare_retrieval` tabulates raw inputs vs PCA vs LSA vs the autoencoder's codes at the same
size, as in Hinton & Salakhutdinov (2006), where 10-d codes of documents beat 10-d LSA.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..config import count
from ..data.batches import autoencoder_of, encode_all, inputs_of
from ..data.core import progress_bar
from ..errors import ConfigError, DataError, warn
from ..models.pca import PCABaseline

METRICS = ("cosine", "euclidean")
METHODS = ("raw", "pca", "lsa", "ae")


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ConfigError(f"metric: {metric!r} is not allowed; choose one of: {', '.join(METRICS)}")


def _check_k(key: str, k: Any, most: int, what: str) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 < k <= most:
        raise ConfigError(f"{key}: must be a whole number between 1 and {what}, got {k!r}")


class CodeIndex:
    """Nearest neighbours among the codes of a data set.

    Fitted state: `codes_` (N, code_size), `labels_` (N,) or None, `vectorizer_` (for text queries)
    and `neighbors_` (the fitted NearestNeighbors).
    """

    def __init__(self, model, *, metric: str = "cosine", batch_size: int = 512, vectorizer: Any = None) -> None:
        _check_metric(metric)
        count("batch_size", batch_size)
        self.model = autoencoder_of(model)
        self.metric = metric
        self.batch_size = batch_size
        self.vectorizer = vectorizer  # a fitted text vectorizer; None: the indexed Dataset's meta["vectorizer"]

    def fit(self, data: Any) -> CodeIndex:
        """Encode `data` (a Dataset, array or tensor; its labels kept where it has them) and index its codes."""
        from sklearn.neighbors import NearestNeighbors

        x, y = inputs_of(self.model, data, "indexed data")
        self.codes_ = encode_all(self.model, x, batch_size=self.batch_size)
        self.labels_ = None if y is None else y.numpy()
        self.vectorizer_ = self.vectorizer if self.vectorizer is not None else getattr(data, "meta", {}).get("vectorizer")
        self.neighbors_ = NearestNeighbors(metric=self.metric).fit(self.codes_)
        return self

    def encode_queries(self, queries: Any) -> np.ndarray:
        """Codes (Q, code_size) of queries: images/vectors (one or a batch), or text (a string or a list)."""
        if isinstance(queries, str) or (
            isinstance(queries, Sequence) and len(queries) > 0 and all(isinstance(q, str) for q in queries)
        ):
            vectorizer = getattr(self, "vectorizer_", self.vectorizer)
            if vectorizer is None:
                raise ConfigError(
                    "text queries need the fitted vectorizer: index a text Dataset (its meta['vectorizer']) "
                    "or pass CodeIndex(model, vectorizer=...)"
                )
            texts = [queries] if isinstance(queries, str) else list(queries)
            queries = vectorizer.transform(texts).toarray().astype(np.float32)
            empty = [i for i, q in enumerate(queries) if not q.any()]
            if empty:  # its code would be the code of an empty document: neighbours that mean nothing
                raise DataError(f"text query {empty[0]} ({texts[empty[0]][:40]!r}) has none of the index's "
                                f"{queries.shape[1]:,} words; give text with some of them")
        x, _ = inputs_of(self.model, queries, "queries")
        return encode_all(self.model, x, batch_size=self.batch_size)

    def query(self, queries: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(distances (Q, k), indices (Q, k)) of the k nearest indexed samples, nearest first."""
        if not hasattr(self, "neighbors_"):
            raise ConfigError("CodeIndex is not fitted; call fit(dataset) first")
        _check_k("k", k, len(self.codes_), f"the {len(self.codes_)} indexed samples")
        return self.neighbors_.kneighbors(self.encode_queries(queries), n_neighbors=k)

    def retrieved_labels(self, indices: np.ndarray) -> np.ndarray:
        """The labels of the indexed items at `indices` (as `query` returns them)."""
        if self.labels_ is None:
            raise DataError("the indexed data has no labels")
        return self.labels_[indices]


# --- scores --------------------------------------------------------------------------------------


def _hits(query_labels: Any, retrieved_labels: Any) -> np.ndarray:
    """(Q, R) bool: does the r-th retrieved item share the query's label (-1, unlabelled, shares none)."""
    q = np.asarray(query_labels).reshape(-1)
    r = np.asarray(retrieved_labels)
    if not q.size or not r.size:  # a mean of nothing: NaN and numpy's warnings
        raise DataError(f"{'query_labels' if not q.size else 'retrieved_labels'}: empty; give at least one query and "
                        "the labels retrieved for it")
    if r.ndim == 1:
        r = r[None]
    if r.ndim != 2 or r.shape[0] != q.shape[0]:
        raise DataError(f"retrieved_labels must be (queries, ranks) = ({q.shape[0]}, R), got {r.shape}")
    hits = r == q[:, None]
    return hits & (r != -1) if r.dtype.kind in "iuf" else hits  # -1: an unlabelled item, relevant to no query


def _unlabelled_queries(query_labels: Any) -> np.ndarray:
    """(Q,) bool: the queries labelled -1 (unlabelled), which have nothing relevant to them and are not scored
    (said; every query unlabelled: refused)."""
    labels = np.asarray(query_labels).reshape(-1)
    unlabelled = labels == -1 if labels.dtype.kind in "iuf" else np.zeros(len(labels), bool)
    if len(labels) and unlabelled.all():
        raise DataError("query_labels: every query is unlabelled (-1); relevance means sharing a label")
    if unlabelled.any():  # (a bug hunt: -1 counted as a class of its own, 0.82 precision on random data)
        warn(f"query_labels: {int(unlabelled.sum()):,} unlabelled queries (-1) are not scored, the other "
             f"{int((~unlabelled).sum()):,} are; unlabelled items are relevant to none")
    return unlabelled


def precision_at_k(query_labels: Any, retrieved_labels: Any, k: int) -> float:
    """Mean over the labelled queries of the fraction of the top `k` retrieved items with the query's label."""
    hits = _hits(query_labels, retrieved_labels)
    _check_k("k", k, hits.shape[1], f"the {hits.shape[1]} retrieved items per query")
    return float(hits[~_unlabelled_queries(query_labels), :k].mean())


def average_precision(query_labels: Any, retrieved_labels: Any, *, n_relevant: Any = None) -> np.ndarray:
    """AP of each query (Q,): the mean of precision@r over the ranks r that hold a relevant item.

    The mean divides by `n_relevant` (per query: how many relevant items exist in the database)
    when given, else by the relevant items found in the list; the two agree for full rankings.
    A query with nothing relevant scores 0; an unlabelled one (-1), NaN.
    """
    hits = _hits(query_labels, retrieved_labels).astype(np.float64)
    if np.shape(n_relevant) not in ((), (1,), hits.shape[:1]):
        raise DataError(f"n_relevant: one number, or one a query (shape ({len(hits)},)), got shape {np.shape(n_relevant)}")
    ranks = np.arange(1, hits.shape[1] + 1)
    precision = np.cumsum(hits, axis=1) / ranks  # precision@r at every rank
    total = hits.sum(axis=1) if n_relevant is None else np.broadcast_to(np.asarray(n_relevant, float), hits.shape[:1])
    summed = (precision * hits).sum(axis=1)
    ap = np.divide(summed, total, out=np.zeros_like(summed), where=total > 0)
    labels = np.asarray(query_labels).reshape(-1)
    return np.where(labels == -1, np.nan, ap) if labels.dtype.kind in "iuf" else ap


def mean_average_precision(query_labels: Any, retrieved_labels: Any, *, n_relevant: Any = None) -> float:
    """The mean of `average_precision` over the labelled queries (MAP)."""
    ap = average_precision(query_labels, retrieved_labels, n_relevant=n_relevant)
    return float(ap[~_unlabelled_queries(query_labels)].mean())


def retrieval_scores(
    database: np.ndarray,
    database_labels: np.ndarray,
    queries: np.ndarray | None = None,
    query_labels: np.ndarray | None = None,
    *,
    k: int = 10,
    metric: str = "cosine",
    query_index: np.ndarray | None = None,
    curve_k: int | None = None,
) -> dict[str, Any]:
    """precision@k and MAP (over the whole ranked database) of vectors by their labels; with
    `curve_k`, also "curve": mean precision@1..curve_k (an array) from the same ranking.

    Without `queries`, database items query the others (leave-one-out: an item never retrieves
    itself): those at `query_index`, or all of them.
    """
    from sklearn.neighbors import NearestNeighbors

    _check_metric(metric)
    database = np.asarray(database, dtype=np.float32).reshape(len(database), -1)
    database_labels = np.asarray(database_labels).reshape(-1)
    n = len(database)
    if len(database_labels) != n:  # (an API trial: an IndexError from inside the ranking)
        raise DataError(f"database_labels: {len(database_labels):,} labels for {n:,} database items; give one each")
    own = None
    if queries is None:
        own = np.arange(n) if query_index is None else np.asarray(query_index, dtype=np.int64).reshape(-1)
        queries, query_labels = database[own], database_labels[own]
    elif query_labels is None:
        raise DataError("query_labels are needed with queries")
    queries = np.asarray(queries, dtype=np.float32).reshape(len(queries), -1)
    query_labels = np.asarray(query_labels).reshape(-1)
    if len(query_labels) != len(queries):
        raise DataError(f"query_labels: {len(query_labels):,} labels for {len(queries):,} queries; give one each")
    unlabelled = _unlabelled_queries(query_labels)
    if unlabelled.any():
        queries, query_labels = queries[~unlabelled], query_labels[~unlabelled]
        own = None if own is None else own[~unlabelled]
    depth = n - 1 if own is not None else n
    for key, value in (("k", k), ("curve_k", curve_k if curve_k is not None else k)):
        _check_k(key, value, depth, f"{depth} (the items each query can retrieve)")
    neighbors = NearestNeighbors(metric=metric).fit(database)
    chunk = max(1, 2_000_000 // n)  # bounds the (chunk, n) rank matrix in memory
    precisions, aps, curves = [], [], []
    starts = range(0, len(queries), chunk)  # a bar on a terminal once it takes 2 s (60,000 queries: minutes, a hunt)
    for start in progress_bar(starts, desc="ranking", unit="chunk", leave=False, delay=2, shown=True, dynamic_ncols=True):
        stop = min(start + chunk, len(queries))
        _, idx = neighbors.kneighbors(queries[start:stop], n_neighbors=n)
        if own is not None:  # drop each query's own index wherever ties put it
            idx = idx[idx != own[start:stop, None]].reshape(stop - start, n - 1)
        retrieved = database_labels[idx]
        labels = query_labels[start:stop]
        precisions.append(_hits(labels, retrieved[:, :k]).mean(axis=1))
        aps.append(average_precision(labels, retrieved))
        if curve_k is not None:
            hits = _hits(labels, retrieved[:, :curve_k])
            curves.append(np.cumsum(hits, axis=1) / np.arange(1, curve_k + 1))  # (chunk, curve_k) precision@r
    scores: dict[str, Any] = {f"precision@{k}": float(np.concatenate(precisions).mean()), "map": float(np.concatenate(aps).mean())}
    if curve_k is not None:
        scores["curve"] = np.concatenate(curves).mean(axis=0)
    return scores


def chance_precision(index_labels: Any, query_labels: Any) -> float:
    """The precision a random ranking expects: the mean, over the queries, of the index's share of each
    query's class (not the largest class's share, which only a query of that class would expect)."""
    classes, counts = np.unique(np.asarray(index_labels), return_counts=True)
    share = dict(zip(classes.tolist(), (counts / counts.sum()).tolist()))
    return float(np.mean([share.get(c, 0.0) for c in np.asarray(query_labels).tolist()]))


def labels_note(index_labels: Any, query_labels: Any) -> str:
    """"" or why figures by shared labels (kNN accuracy, precision, MAP) of queries `query_labels` against an index of
    `index_labels` say little: the index holds one class, or queries are of classes it lacks (a shapes hunt: 100% and
    0% said as results)."""
    index, queries = np.asarray(index_labels), np.asarray(query_labels)
    classes = np.unique(index[index >= 0])
    if len(classes) == 1:
        return (f"the labels hold one class ({classes[0]}): every neighbour shares it, so accuracy and precision are "
                "1 and say nothing of the codes")
    lacking = int((~np.isin(queries, classes) & (queries >= 0)).sum())  # (-1: unlabelled, a review)
    if lacking:
        return (f"{lacking} of {len(queries)} queries are of classes the index lacks: no neighbour shares their label, "
                "so they count as misses whatever the codes")
    return ""


def query_subset(pool: int, max_queries: int | None, seed: int) -> np.ndarray:
    """A seeded sorted subset of at most `max_queries` of `pool` query indices (all when None)."""
    if max_queries and pool > max_queries:
        return np.sort(np.random.default_rng(seed).permutation(pool)[:max_queries])
    return np.arange(pool)


def as_database_labels(y: Tensor, names: list[str] | None, database_names: list[str] | None) -> Tensor:
    """Query labels `y` numbered by their class `names` as the database numbers its classes: two sets
    loaded apart number their own names (a test file of two of four topics calls them 0 and 1)."""
    if not names or not database_names or list(names) == list(database_names):
        return y
    unknown = sorted(set(names) - set(database_names))
    if unknown:
        raise DataError(f"queries: class(es) {', '.join(map(repr, unknown[:5]))} are not among the database's "
                        f"({', '.join(database_names[:10])}): no item would be relevant to them")
    return torch.tensor([list(database_names).index(c) for c in names])[y]


def compare_retrieval(
    model,
    database: Any,
    queries: Any = None,
    *,
    k: int = 10,
    metric: str = "cosine",
    methods: Sequence[str] = METHODS,
    max_queries: int | None = 1000,  # a seeded subset of queries keeps the full-ranking MAP fast
    seed: int = 0,
) -> list[dict[str, Any]]:
    """A table, one row per method: raw inputs, PCA, LSA (TruncatedSVD) and the model's codes ("ae").

    PCA and LSA are fitted on `database` at the model's code size. Columns: method, dim,
    precision@k, map. Without `queries`, database items query the rest (leave-one-out).
    """
    from sklearn.decomposition import TruncatedSVD

    autoencoder_of(model)
    _check_metric(metric)
    count("k", k)  # (its upper bound, the items a query can retrieve, once the data are read)
    if max_queries is not None:
        count("max_queries", max_queries)
    if isinstance(methods, str):
        raise ConfigError(f"methods: give a list of methods, such as ['{methods}'], not the string {methods!r}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"methods: {unknown[0]!r} is not allowed; choose from: {', '.join(METHODS)}")
    x_db, y_db = inputs_of(model, database, "database")
    if y_db is None:
        raise DataError("compare_retrieval needs labelled data: relevance means sharing a label")
    x_q, y_q = (None, None) if queries is None else inputs_of(model, queries, "queries")
    if x_q is not None and y_q is None:
        raise DataError("compare_retrieval needs labelled queries")
    y_q = None if y_q is None else as_database_labels(y_q, getattr(queries, "classes", None),
                                                       getattr(database, "classes", None))
    chosen = query_subset(len(x_db) if x_q is None else len(x_q), max_queries, seed)
    raw_db = x_db.reshape(len(x_db), -1).numpy()
    raw_q = None if x_q is None else x_q[chosen].reshape(len(chosen), -1).numpy()
    q_labels = None if y_q is None else y_q[chosen].numpy()
    size = model.code_size
    linear = [m for m in methods if m in ("pca", "lsa")]
    if linear and size >= raw_db.shape[1]:  # an overcomplete code (a conv model's feature map): before any work
        if methods is not METHODS:
            raise ConfigError(f"methods: {linear[0]} needs the code size {size} below the input size {raw_db.shape[1]}")
        warn(f"methods: pca and lsa left out: the code size {size} is not below the input size {raw_db.shape[1]}")
        methods = [m for m in methods if m not in linear]

    if note := labels_note(y_db.numpy(), y_db.numpy()[chosen] if q_labels is None else q_labels):
        warn(f"compare_retrieval: {note}")
    rows = []
    for method in methods:
        if method == "raw":
            db, q = raw_db, raw_q
        elif method in ("pca", "lsa"):
            if method == "pca":
                project = PCABaseline(raw_db, size, seed=seed).encode
            else:
                project = TruncatedSVD(size, random_state=seed).fit(raw_db).transform
            db = project(raw_db)
            q = None if raw_q is None else project(raw_q)
        else:
            db = encode_all(model, x_db)
            q = None if x_q is None else encode_all(model, x_q[chosen])
        scores = retrieval_scores(db, y_db.numpy(), q, q_labels, k=k, metric=metric, query_index=chosen)
        rows.append({"method": method, "dim": int(db.shape[1]), **scores})
    return rows
