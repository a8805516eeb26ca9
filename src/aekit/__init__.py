"""aekit: build, train, inspect and apply every classic kind of autoencoder."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aekit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from .errors import AekitError, CheckpointError, ConfigError, DataError, NonFiniteLossError
from .models import Autoencoder, Output
from .registry import create_model, list_models, register_model
from .training.checkpoint import load_model, save_model
from .training.loop import TrainConfig, fit

__all__ = [
    "AekitError",
    "Autoencoder",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "NonFiniteLossError",
    "Output",
    "TrainConfig",
    "__version__",
    "create_model",
    "fit",
    "list_models",
    "load_model",
    "register_model",
    "save_model",
]
