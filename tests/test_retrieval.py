"""Retrieval: exact precision@k and MAP on hand-made rankings, code indexes on images and text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aekit
from aekit import ConfigError, DataError
from aekit.analysis.retrieval import (
    CodeIndex,
    average_precision,
    compare_retrieval,
    mean_average_precision,
    precision_at_k,
    retrieval_scores,
)
from aekit.data.text import text_corpus

QUERY = [0, 1]
RETRIEVED = [[0, 1, 0, 0], [1, 1, 0, 1]]  # hits: [1, 0, 1, 1] and [1, 1, 0, 1]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: on a shared 2-core machine, spinning threads cost several times the work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_precision_at_k_by_hand():
    assert precision_at_k(QUERY, RETRIEVED, 1) == 1.0
    assert precision_at_k(QUERY, RETRIEVED, 2) == pytest.approx((1 / 2 + 2 / 2) / 2)
    assert precision_at_k(QUERY, RETRIEVED, 3) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert precision_at_k(QUERY, RETRIEVED, 4) == pytest.approx(3 / 4)
    assert precision_at_k([2], [[0, 1, 0]], 3) == 0.0
    with pytest.raises(ConfigError, match="between 1 and the 4"):
        precision_at_k(QUERY, RETRIEVED, 5)
    with pytest.raises(DataError, match="retrieved_labels"):
        precision_at_k([0, 1, 2], RETRIEVED, 1)


def test_average_precision_by_hand():
    # query 0: hits at ranks 1, 3, 4 -> (1/1 + 2/3 + 3/4) / 3; query 1: ranks 1, 2, 4 -> (1 + 1 + 3/4) / 3
    ap = average_precision(QUERY, RETRIEVED)
    np.testing.assert_allclose(ap, [29 / 36, 11 / 12])
    assert mean_average_precision(QUERY, RETRIEVED) == pytest.approx(31 / 36)
    # dividing by all relevant items in the database (4 and 3) instead of those retrieved
    np.testing.assert_allclose(average_precision(QUERY, RETRIEVED, n_relevant=[4, 3]), [29 / 48, 11 / 12])
    assert mean_average_precision([5], [[0, 1, 2]]) == 0.0  # nothing relevant


def test_retrieval_scores_on_points_by_hand():
    # 1-D points 0, 1, 3, 10 with labels a, b, a, b; each point queries the other three (euclidean):
    #   0 -> 1(b) 3(a) 10(b): hits 0 1 0, AP 1/2     1 -> 0(a) 3(a) 10(b): 0 0 1, AP 1/3
    #   3 -> 1(b) 0(a) 10(b): 0 1 0, AP 1/2          10 -> 3(a) 1(b) 0(a): 0 1 0, AP 1/2
    points, labels = np.array([[0.0], [1.0], [3.0], [10.0]]), np.array([0, 1, 0, 1])
    scores = retrieval_scores(points, labels, k=2, metric="euclidean")
    assert scores["precision@2"] == pytest.approx((1 / 2 + 0 + 1 / 2 + 1 / 2) / 4)
    assert scores["map"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 2 + 1 / 2) / 4)
    only = retrieval_scores(points, labels, k=1, metric="euclidean", query_index=[1])
    assert only == {"precision@1": 0.0, "map": pytest.approx(1 / 3)}
    # separate queries rank the whole database
    outside = retrieval_scores(points, labels, [[2.1]], [0], k=1, metric="euclidean")
    assert outside["precision@1"] == 1.0 and outside["map"] == pytest.approx((1 + 2 / 3) / 2)



def test_unlabelled_items_are_relevant_to_no_query():
    """-1 marks an unlabelled sample across aekit; retrieval counted it as a class of its own (a bug hunt: random
    vectors, 270 of 300 unlabelled, scored 0.82 precision@10)."""
    points, labels = np.array([[0.0], [1.0], [3.0], [10.0], [0.5], [2.0]]), np.array([0, 1, 0, 1, -1, -1])
    # the -1 items are retrieved but never hits; the -1 queries are not scored (said)
    with pytest.warns(UserWarning, match=r"^query_labels: 2 unlabelled queries \(-1\) are not scored, the other 4 are"):
        scores = retrieval_scores(points, labels, k=2, metric="euclidean")
    # 0 -> 0.5(-1) 1(b): 0/2; 1 -> 0.5(-1) 0(a): 0/2; 3 -> 2(-1) 1(b): 0/2; 10 -> 3(a) 2(-1): 0/2
    assert scores["precision@2"] == 0.0
    rng = np.random.default_rng(0)  # random vectors: chance, not the unlabelled majority's agreement
    y = np.full(300, -1)
    y[:30] = np.arange(30) % 3
    with pytest.warns(UserWarning, match="270 unlabelled"):
        random = retrieval_scores(rng.normal(size=(300, 8)), y, k=10)
    assert random["precision@10"] < 0.1
    with pytest.raises(DataError, match=r"^query_labels: every query is unlabelled \(-1\)"):
        retrieval_scores(points, labels, k=1, query_index=[4, 5])
    with pytest.warns(UserWarning, match=r"^query_labels: 1 unlabelled queries \(-1\) are not scored, the other 1 are"):
        assert precision_at_k([-1, 0], [[-1, -1], [0, 1]], 2) == 0.5  # the scores alone say the same
    with pytest.warns(UserWarning, match="1 unlabelled"):
        assert mean_average_precision([-1, 0], [[-1, -1], [1, 0]]) == 0.5
    assert np.isnan(average_precision([-1, 0], [[-1, -1], [1, 0]])[0])
    names = retrieval_scores(points, np.array(["a", "b", "a", "b", "a", "b"]), k=2, metric="euclidean")
    assert names == retrieval_scores(points, np.array([0, 1, 0, 1, 0, 1]), k=2, metric="euclidean")  # text labels

@pytest.fixture(scope="module")
def digits(mnist_mini):
    return mnist_mini.subset(range(200))


@pytest.fixture(scope="module")
def model(digits):
    torch.manual_seed(0)
    m = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(64,), code_size=8)
    aekit.fit(m, digits, epochs=3, batch_size=32, lr=3e-3, progress=False)
    return m


def test_code_index_finds_the_query_itself(model, digits):
    index = CodeIndex(model).fit(digits)
    assert index.codes_.shape == (200, 8)
    dist, idx = index.query(digits.x[:5], k=3)
    assert dist.shape == idx.shape == (5, 3)
    assert idx[:, 0].tolist() == list(range(5)) and np.allclose(dist[:, 0], 0, atol=1e-5)
    assert np.all(np.diff(dist, axis=1) >= 0)
    _, one = index.query(digits.x[7], k=1)  # a single image
    assert one.tolist() == [[7]]
    flat = CodeIndex(model, metric="euclidean").fit(digits)
    _, by_vector = flat.query(digits.x[:2].reshape(2, -1).numpy(), k=1)  # flat vectors work too
    assert by_vector[:, 0].tolist() == [0, 1]
    np.testing.assert_array_equal(index.retrieved_labels(idx), digits.y.numpy()[idx])
    with pytest.raises(ConfigError, match="metric"):
        CodeIndex(model, metric="manhattan")
    with pytest.raises(ConfigError, match="text queries"):
        index.query("a text", k=1)


def test_code_index_text_queries():
    texts = ["goal match striker cup", "cup final goal team", "team win match goal",
             "bank shares profit", "shares market profit rise", "bank market shares fall"]
    corpus = text_corpus(texts, ["sport"] * 3 + ["business"] * 3, max_features=20)
    torch.manual_seed(0)
    model = aekit.create_model("dense", input_shape=corpus.sample_shape, hidden=(16,), code_size=4)
    aekit.fit(model, corpus, epochs=5, batch_size=6, lr=1e-2, progress=False)
    index = CodeIndex(model).fit(corpus)  # takes corpus.meta["vectorizer"]
    dist, idx = index.query(texts[:2], k=6)
    assert idx[:, 0].tolist() == [0, 1] and np.allclose(dist[:, 0], 0, atol=1e-5)
    vec = corpus.meta["vectorizer"].transform(["striker goal"]).toarray().astype(np.float32)
    np.testing.assert_array_equal(index.query("striker goal", k=3)[1], index.query(vec, k=3)[1])
    for nothing_known in ("xyzzy qwerty", ["striker", ""]):  # neighbours of an empty document mean nothing
        with pytest.raises(DataError, match=r"text query \d \('.*'\) has none of the index's 13 words"):
            index.query(nothing_known, k=3)


def test_compare_retrieval_table(model, digits):
    rows = compare_retrieval(model, digits, k=5, max_queries=60)
    assert [r["method"] for r in rows] == ["raw", "pca", "lsa", "ae"]
    assert [r["dim"] for r in rows] == [784, 8, 8, 8]
    for row in rows:
        assert 0 <= row["precision@5"] <= 1 and 0 < row["map"] <= 1
    chosen = np.sort(np.random.default_rng(0).permutation(200)[:60])
    raw = retrieval_scores(digits.x.reshape(200, -1).numpy(), digits.y.numpy(), k=5, query_index=chosen)
    assert rows[0]["precision@5"] == pytest.approx(raw["precision@5"]) and rows[0]["map"] == pytest.approx(raw["map"])
    assert rows[0]["precision@5"] > 0.5  # raw pixels of real digits retrieve their class well above chance (0.1)
    split = compare_retrieval(model, digits.subset(range(150)), digits.subset(range(150, 200)), k=5, methods=("ae",))
    assert len(split) == 1 and split[0]["dim"] == 8
    with pytest.raises(ConfigError, match="methods"):
        compare_retrieval(model, digits, methods=("tfidf",))
    with pytest.raises(DataError, match="labelled"):
        compare_retrieval(model, digits.x)
    wide = aekit.create_model("conv", input_shape=(1, 28, 28), channels=(4,), code_size=None)  # a 784-wide feature map
    with pytest.warns(UserWarning, match=r"pca and lsa left out: the code size 784 is not below the input size 784"):
        assert [r["method"] for r in compare_retrieval(wide, digits, k=5, max_queries=20)] == ["raw", "ae"]  # a trial:
    with pytest.raises(ConfigError, match=r"^methods: pca needs the code size 784 below"):  # refused whole, after raw
        compare_retrieval(wide, digits, methods=("raw", "pca"))


def test_queries_loaded_apart_are_numbered_by_the_databases_class_names():
    texts = ["goal match striker cup", "cup final goal team", "team win match goal", "bank shares profit",
             "shares market profit rise", "bank market shares fall", "vote party poll", "party leader vote poll"]
    topics = ["sport"] * 3 + ["business"] * 3 + ["politics"] * 2
    database = text_corpus(texts, topics, max_features=20)  # business 0, politics 1, sport 2
    queries = text_corpus(texts[:3] + texts[6:], ["sport"] * 3 + ["politics"] * 2,  # politics 0, sport 1: their own
                          vectorizer=database.meta["vectorizer"])
    model = aekit.create_model("dense", input_shape=database.sample_shape, hidden=(8,), code_size=2)
    (raw,) = compare_retrieval(model, database, queries, k=1, methods=("raw",))
    assert raw["precision@1"] == 1.0  # each query finds itself in the database, now of its own class
    with pytest.raises(DataError, match=r"texts must be a list of strings, got one string \(wrap it: \[text\]\)"):
        text_corpus("vote party poll", vectorizer=database.meta["vectorizer"])
    other = text_corpus(["vote party poll", "tennis match"], ["politics", "tennis"], vectorizer=database.meta["vectorizer"])
    with pytest.raises(DataError, match=r"queries: class\(es\) 'tennis' are not among the database's \(business, "):
        compare_retrieval(model, database, other, k=1, methods=("raw",))


def test_chance_precision_is_a_random_rankings_not_the_largest_class_share():
    from aekit.analysis.retrieval import chance_precision

    index = np.array([0] * 6 + [1] * 2 + [2] * 2)  # shares 0.6, 0.2, 0.2
    assert chance_precision(index, [0, 1, 2, 2]) == pytest.approx((0.6 + 0.2 + 0.2 + 0.2) / 4)
    assert chance_precision(index, [3]) == 0.0  # a class the index lacks: nothing relevant to find
    rng = np.random.default_rng(0)
    shuffled = [(index[rng.permutation(10)[:5]] == q).mean() for q in index for _ in range(200)]
    assert chance_precision(index, index) == pytest.approx(np.mean(shuffled), abs=0.01)
