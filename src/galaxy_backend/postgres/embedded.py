"""An embedded PostgreSQL under the data dir, for machines where none is configured."""

import warnings
from pathlib import Path
from typing import Any

# pgserver keeps its inter-process lock in platformdirs' user runtime directory, looked up
# when `pgserver.postgres_server` is imported. Without XDG_RUNTIME_DIR (containers, CI,
# cron, ssh without a login session) platformdirs warns and falls back to a private
# directory it checks and creates itself (`/run/user/<uid>` or `$TMPDIR/runtime-<uid>`),
# which is what the lock needs. Only that notice is silenced: a set but unsafe
# XDG_RUNTIME_DIR still warns.
_NO_RUNTIME_DIR = r"XDG_RUNTIME_DIR is not set, falling back to "


def _get_server() -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=_NO_RUNTIME_DIR, category=UserWarning, module="platformdirs"
        )
        # Imported here: heavy, and only needed when the embedded server is used.
        from pgserver.postgres_server import get_server  # noqa: PLC0415

    return get_server


class EmbeddedPostgres:
    """A private server started with `pgserver`; shared safely by processes on one data dir."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return its DSN; blocking, run it in a thread."""
        get_server = _get_server()
        self.directory.mkdir(parents=True, exist_ok=True)
        # 'stop' shuts the server down when the last process using this directory lets go.
        self._server = get_server(self.directory, cleanup_mode="stop")
        dsn: str = self._server.get_uri("postgres")
        return dsn

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
