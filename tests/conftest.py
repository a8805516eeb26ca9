"""Shared fixtures: small real data, and a skip for tests that need ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from aekit.data import load_dataset

# One thread per test process: on a small shared machine (and under pytest-xdist) more threads
# only fight over the cores (a 3-epoch fit measured 15 s with 2 threads and 3.6 s with 1).
torch.set_num_threads(1)
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # scikit-learn brings threadpoolctl; without it numpy/sklearn keep their default
    pass

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data_dir() -> Path | None:
    env = os.environ.get("AEKIT_DATA_DIR")
    for candidate in ([Path(env)] if env else []) + [SHARED]:
        if (candidate / "mnist" / "train-images-idx3-ubyte.gz").is_file():
            return candidate
    return None


needs_shared_data = pytest.mark.skipif(shared_data_dir() is None, reason="full MNIST is absent: set AEKIT_DATA_DIR to a folder holding mnist/ (or put it in ../shared/data)")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def mnist_mini():
    """The bundled real MNIST subset: 10,000 train digits (N, 1, 28, 28) in [0, 1] with labels."""
    return load_dataset("mnist-mini", "train")


@pytest.fixture(scope="session")
def real_batch(mnist_mini):
    """512 real MNIST digits (512, 1, 28, 28) in [0, 1]."""
    return mnist_mini.x[:512]


@pytest.fixture(scope="session")
def full_data_dir():
    d = shared_data_dir()
    if d is None:
        pytest.skip("full MNIST is absent: set AEKIT_DATA_DIR to a folder holding mnist/ (or put it in ../shared/data)")
    return d


@pytest.fixture(scope="session")
def feature_clf(tmp_path_factory):
    """The sample-quality feature classifier, trained once per session on mnist-mini (~5 s)."""
    from aekit.analysis.quality import feature_classifier

    return feature_classifier("mnist-mini", cache_dir=tmp_path_factory.mktemp("classifiers"))
