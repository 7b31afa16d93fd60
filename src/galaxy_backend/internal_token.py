"""Server secrets: configured, or generated once into the data dir and reused."""

import os
import secrets
from pathlib import Path

from galaxy_backend.config import MIN_INTERNAL_TOKEN_LENGTH

TOKEN_FILE = "internal-token"  # noqa: S105 - a file name, not a secret
SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name, not a secret


def resolve_secret(configured: str | None, path: Path) -> tuple[str, Path | None]:
    """The secret and, when it came from `path`, that path (never log the secret)."""
    if configured is not None:
        return configured, None
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(32)
    try:
        # O_EXCL: two processes starting together agree on whichever secret was written first.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(candidate + "\n")
    value = path.read_text().strip()
    if len(value) < MIN_INTERNAL_TOKEN_LENGTH:
        raise ValueError(
            f"{path} holds a secret shorter than {MIN_INTERNAL_TOKEN_LENGTH} characters"
        )
    return value, path


def resolve_internal_token(configured: str | None, data_dir: Path) -> tuple[str, Path | None]:
    """The gateway's shared secret (BACKEND_INTERNAL_TOKEN, else `<data dir>/internal-token`)."""
    return resolve_secret(configured, data_dir / TOKEN_FILE)
