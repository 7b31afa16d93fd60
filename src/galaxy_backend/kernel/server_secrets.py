"""The server's two secrets: BACKEND_SECRET_KEY and BACKEND_INTERNAL_TOKEN.

A configured value is used as is and never stored. An unset one is generated once and kept
in the database, so every replica sharing that database uses the same one (a code asked
for on one replica is accepted by another). The internal token is also written to
`BACKEND_DATA_DIR/internal-token` for a gateway on the same host; the file is written
whole (temporary file, fsync, rename), so a process starting at the same moment never
reads it empty. In production set both: a generated key sits next to the data it guards.
"""

import secrets
from pathlib import Path

from galaxy_backend.config import MIN_INTERNAL_TOKEN_LENGTH
from galaxy_backend.kernel.files import write_atomically
from galaxy_backend.postgres import PoolProvider
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

TOKEN_FILE = "internal-token"  # noqa: S105 - a file name, not a secret
SECRET_KEY = "secret_key"  # noqa: S105 - the row's name
INTERNAL_TOKEN = "internal_token"  # noqa: S105 - the row's name


class ServerSecrets:
    """Resolved at start, after migrations; read by whoever needs them from then on."""

    name = "secrets"
    stop_timeout: float | None = None

    def __init__(
        self,
        *,
        database: PoolProvider,
        data_dir: Path,
        secret_key: str | None,
        internal_token: str | None,
    ) -> None:
        self._database = database
        self._data_dir = data_dir
        self._configured = {SECRET_KEY: secret_key, INTERNAL_TOKEN: internal_token}
        self._values: dict[str, str] = {}

    @property
    def secret_key(self) -> bytes:
        return self._value(SECRET_KEY).encode()

    @property
    def internal_token(self) -> str:
        return self._value(INTERNAL_TOKEN)

    def _value(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise RuntimeError(f"{name} is read before the secrets component started") from None

    async def start(self) -> None:
        for name, configured in self._configured.items():
            self._values[name] = configured or await self._generated(name)
        if self._configured[INTERNAL_TOKEN] is None:
            path = self._data_dir / TOKEN_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, self._values[INTERNAL_TOKEN] + "\n")
            _log.info(
                "internal token generated and kept in the database "
                "(BACKEND_INTERNAL_TOKEN is unset); a copy is in the file",
                path=str(path),
            )
        if self._configured[SECRET_KEY] is None:
            _log.info("secret key generated and kept in the database (BACKEND_SECRET_KEY is unset)")

    async def _generated(self, name: str) -> str:
        candidate = secrets.token_urlsafe(32)
        async with self._database.pool.acquire() as conn:
            # The first replica to start decides; the others read what it wrote (in a
            # statement of its own, whose snapshot sees a row committed meanwhile).
            await conn.execute(
                "INSERT INTO generated_secrets (name, value) VALUES ($1, $2)"
                " ON CONFLICT (name) DO NOTHING",
                name,
                candidate,
            )
            value: str = await conn.fetchval(
                "SELECT value FROM generated_secrets WHERE name = $1", name
            )
        if len(value) < MIN_INTERNAL_TOKEN_LENGTH:
            raise ValueError(f"the stored {name} is shorter than {MIN_INTERNAL_TOKEN_LENGTH}")
        return value

    async def stop(self) -> None:
        return None
