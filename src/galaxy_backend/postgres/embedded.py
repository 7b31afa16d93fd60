"""An embedded PostgreSQL under the data dir, for machines where none is configured."""

from pathlib import Path
from typing import Any


class EmbeddedPostgres:
    """A private server started with `pgserver`; shared safely by processes on one data dir."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return its DSN; blocking, run it in a thread."""
        # Imported here: heavy, and only needed when the embedded server is used.
        from pgserver.postgres_server import get_server  # noqa: PLC0415

        self.directory.mkdir(parents=True, exist_ok=True)
        # 'stop' shuts the server down when the last process using this directory lets go.
        self._server = get_server(self.directory, cleanup_mode="stop")
        dsn: str = self._server.get_uri("postgres")
        return dsn

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
