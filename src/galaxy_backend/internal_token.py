"""The gateway's shared secret: configured, or generated once and kept in the data dir."""

import os
import secrets
from pathlib import Path

from galaxy_backend.config import MIN_INTERNAL_TOKEN_LENGTH

TOKEN_FILE = "internal-token"  # noqa: S105 - a file name, not a secret


def resolve_internal_token(configured: str | None, data_dir: Path) -> tuple[str, Path | None]:
    """The token and, when it came from a file, that file's path (never log the token)."""
    if configured is not None:
        return configured, None
    path = data_dir / TOKEN_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(32)
    try:
        # O_EXCL: two processes starting together agree on whichever token was written first.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(candidate + "\n")
    token = path.read_text().strip()
    if len(token) < MIN_INTERNAL_TOKEN_LENGTH:
        raise ValueError(
            f"{path} holds a token shorter than {MIN_INTERNAL_TOKEN_LENGTH} characters"
        )
    return token, path
