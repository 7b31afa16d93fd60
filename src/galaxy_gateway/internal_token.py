"""The backend's internal token: from GATEWAY_INTERNAL_TOKEN, or the file the backend writes."""

from pathlib import Path

from galaxy_gateway.telemetry import get_logger

_log = get_logger(__name__)


class TokenUnavailable(Exception):
    """No internal token yet (the backend has not written its file)."""


class InternalToken:
    """A configured token, or the development file's, read lazily and again when refused."""

    def __init__(self, *, value: str | None, file: Path) -> None:
        self._fixed = value
        self._file = file
        self._cached: str | None = value

    @property
    def source(self) -> str:
        return "GATEWAY_INTERNAL_TOKEN" if self._fixed is not None else str(self._file)

    def get(self) -> str:
        """The token; raises TokenUnavailable while the file does not exist or is empty."""
        if self._cached is None:
            try:
                text = self._file.read_text().strip()
            except OSError:
                raise TokenUnavailable(f"no internal token in {self._file}") from None
            if not text:
                raise TokenUnavailable(f"{self._file} is empty")
            self._cached = text
            _log.info("internal token read", file=str(self._file))
        return self._cached

    def refused(self) -> None:
        """The backend refused the token: read the file again next time (it may be new)."""
        if self._fixed is None:
            self._cached = None
