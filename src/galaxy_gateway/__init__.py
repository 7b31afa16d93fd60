"""Galaxy gateway: the players' entry point (HTTP forwarding, WebSocket push, web client)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("galaxy-backend")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
