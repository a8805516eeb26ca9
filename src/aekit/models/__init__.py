"""Every module in this package is imported so that its `@register_model` classes are registered."""

import importlib
import pkgutil

from .base import Autoencoder, AutoencoderConfig, Output

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["Autoencoder", "AutoencoderConfig", "Output"]
