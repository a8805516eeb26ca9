"""Shared fixtures: small real data, and a skip for tests that need ../shared/data."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
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

# the suite's own cache folder, inherited by the commands it runs: the trust markers of the files its tests import,
# and classifiers cached by default, go there, not into the user's ~/.cache/aekit (a review found 91 markers)
_CACHE = tempfile.mkdtemp(prefix="aekit-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


def shared_data_dir() -> Path | None:
    env = os.environ.get("AEKIT_DATA_DIR")
    for candidate in ([Path(env)] if env else []) + [SHARED]:
        if (candidate / "mnist" / "train-images-idx3-ubyte.gz").is_file():
            return candidate
    return None


needs_shared_data = pytest.mark.skipif(shared_data_dir() is None, reason="full MNIST is absent: set AEKIT_DATA_DIR to a folder holding mnist/ (or put it in ../shared/data)")


# quick-to-train sizes of the registered models (a model not listed is built with its defaults)
SMALL = {
    "dense": {"hidden": (128, 64), "code_size": 16},
    "tied": {"hidden": (128, 64), "code_size": 16},
    "denoising": {"hidden": (64,), "code_size": 16},
    "sparse-l1": {"hidden": (64,), "code_size": 32},
    "sparse-kl": {"code_size": 64},
    "contractive": {"code_size": 64},
    "vae": {"hidden": (128,), "code_size": 8},
}


def small_config(name: str, shape: tuple[int, ...]) -> dict:
    if name == "conv":  # two pooling layers where the image size allows it
        n_pool = 2
        if len(shape) == 3:
            while n_pool > 1 and (shape[1] % 2**n_pool or shape[2] % 2**n_pool):
                n_pool -= 1
        return {"channels": (8, 16)[:n_pool]}
    return dict(SMALL.get(name, {}))


@pytest.fixture(scope="session")
def small_model():
    """`small_model(name, shape=(1, 28, 28))`: a small instance of registered model `name`."""
    from aekit import create_model

    def make(name: str, shape: tuple[int, ...] = (1, 28, 28)):
        return create_model(name, input_shape=shape, **small_config(name, shape))

    return make


STOP_SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1") if hasattr(signal, name)]
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background of a script (`pytest &`), which
    signal.signal(signal.SIGINT, signal.default_int_handler)  # ignores Ctrl-C: the tests of Ctrl-C send it themselves
    # (aekit leaves an ignored signal ignored, as nohup asks: 15 such tests failed, the signal never came)


@pytest.fixture(autouse=True)
def _stop_handlers_put_back():
    """Every test leaves the stop signals' handlers as it found them, no fit's stop signals active and none blocked
    (a test that did would swallow the signals of later tests in its worker), and names itself where it did not."""
    from aekit.training.stops import StopSignals

    before = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    yield
    left = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number, handler in before.items():
        signal.signal(number, handler)
    changed = [f"{signal.Signals(n).name}: {left[n]!r}" for n in before if left[n] is not before[n]]
    active, StopSignals.active = StopSignals.active, None
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM])
    assert signal.SIGINT not in blocked and signal.SIGTERM not in blocked, f"this test left signals blocked: {blocked}"
    assert not changed, f"this test left stop signals' handlers changed: {', '.join(changed)}"
    assert active is None, "this test left a fit's stop signals active (the next fits took themselves for fits inside it)"


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
    from aekit.training.feature_classifier import feature_classifier

    return feature_classifier("mnist-mini", cache_dir=tmp_path_factory.mktemp("classifiers"))


@pytest.fixture
def fit_notes(capsys):
    """The notes a fit added to the exception it let through: its __notes__ (Python 3.11 and later), else the lines it
    said on stderr instead (3.10)."""

    def notes(err: BaseException) -> list[str]:
        if sys.version_info >= (3, 11):
            return list(getattr(err, "__notes__", []))
        return [line.removeprefix("aekit: note: ") for line in capsys.readouterr().err.splitlines()
                if line.startswith("aekit: note: ")]

    return notes
