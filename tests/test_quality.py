"""Sample-quality measures: Fréchet distance, precision/recall, the cached feature classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aekit
from aekit.analysis.quality import frechet_distance, precision_recall, sample_quality
from aekit.training.feature_classifier import feature_classifier


def test_frechet_distance_matches_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20000, 3))
    b = rng.standard_normal((20000, 3)) * [1.0, 2.0, 0.5] + [1.0, 0.0, 0.0]
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2 for diagonal covariances: 1 + 1 + 0.25
    assert frechet_distance(a, b) == pytest.approx(2.25, abs=0.05)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_precision_and_recall_separate_quality_from_coverage():
    rng = np.random.default_rng(1)
    modes = np.array([[0.0, 0.0], [20.0, 0.0]])
    real = np.concatenate([m + rng.standard_normal((500, 2)) for m in modes])
    same = np.concatenate([m + rng.standard_normal((500, 2)) for m in modes])
    one_mode = modes[0] + rng.standard_normal((1000, 2))  # good samples of half the data: mode dropping
    far = real + 100.0
    p, r = precision_recall(real, same)
    assert p > 0.9 and r > 0.9
    p, r = precision_recall(real, one_mode)
    assert p > 0.9 and 0.4 < r < 0.6
    assert precision_recall(real, far) == (0.0, 0.0)
    with pytest.raises(aekit.ConfigError, match="k"):
        precision_recall(real, same, k=0)


def test_classifier_is_cached_with_its_checksum(feature_clf, mnist_mini):
    assert feature_clf.test_accuracy > 0.85
    mtime = feature_clf.path.stat().st_mtime_ns
    again = feature_classifier("mnist-mini", cache_dir=feature_clf.path.parent)
    assert again.sha256 == feature_clf.sha256 and feature_clf.path.stat().st_mtime_ns == mtime  # not retrained
    assert feature_clf.features(mnist_mini.x[:10]).shape == (10, 64)


def test_a_tampered_cache_is_refused(feature_clf, tmp_path):
    for f in feature_clf.path.parent.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    copy = tmp_path / feature_clf.path.name
    copy.write_bytes(copy.read_bytes()[:-1] + b" ")
    with pytest.raises(aekit.DataError, match="checksum"):
        feature_classifier("mnist-mini", cache_dir=tmp_path)


def test_a_classifier_that_cannot_be_cached_is_used_all_the_same(feature_clf, tmp_path, monkeypatch):
    """A full disk or a read-only cache folder cost the minute of training and the evaluation with it."""
    import errno

    from aekit.training import feature_classifier as module

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(module, "atomic_write_bytes", full)
    with pytest.warns(UserWarning, match="could not be cached .*No space.*used uncached, and trained again next time"):
        clf = feature_classifier("mnist-mini", cache_dir=tmp_path / "classifiers")
    assert clf.sha256 == feature_clf.sha256 and clf.test_accuracy == feature_clf.test_accuracy  # the same classifier
    assert not clf.network.training and not list(tmp_path.rglob("*.json"))


def test_real_digits_score_far_better_than_noise(feature_clf, mnist_mini):
    real, other = mnist_mini.x[:1000], mnist_mini.x[1000:2000]
    noise = np.random.default_rng(0).random((1000, 1, 28, 28)).astype(np.float32)
    good = sample_quality(other, real, feature_clf)
    bad = sample_quality(noise, real, feature_clf)
    assert good.classifier_sha256 == feature_clf.sha256 and good.n_samples == 1000
    assert good.frechet_distance < 0.05 * bad.frechet_distance
    assert good.precision > 0.6 and good.recall > 0.6
    assert bad.precision < 0.05


def test_a_classifier_of_other_data_is_said_to_rank_only_roughly():
    from aekit.training.feature_classifier import other_data

    assert other_data("mnist-mini", "mnist", setting="--classifier ") == other_data("mnist", "mnist-mini", setting="") == ""
    note = other_data("fashion-mnist", "mnist-mini", setting="--classifier ")
    assert "judged in the features of a classifier of mnist-mini, other data" in note
    assert "--classifier fashion-mnist judges them in their own" in note
    assert "trained only on mnist, mnist-mini, fashion-mnist, kmnist" in other_data("mydigits", "mnist", setting="")


def test_the_feature_classifier_is_the_same_whatever_the_thread_count(tmp_path):
    """A reproducibility trial: trained at 2 threads the classifier was another file than at 1 (float sums in
    another order), so machines of other core counts measured sample quality under other checksums."""
    shas = []
    before = torch.get_num_threads()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        try:
            shas.append(feature_classifier("mnist-mini", cache_dir=tmp_path / str(threads)).sha256)
            assert torch.get_num_threads() == threads  # the caller's count back
        finally:
            torch.set_num_threads(before)
    assert shas[0] == shas[1]
