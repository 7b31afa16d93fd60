"""Galaxy backend: the server at the heart of the Galaxy turn-based strategy platform."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("galaxy-backend")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
