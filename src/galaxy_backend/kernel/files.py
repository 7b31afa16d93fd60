"""Files written whole: a reader sees the old content or the new, never half of either."""

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: str | bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` through a hidden temporary file beside it, renamed over it.

    The file is readable by its owner only (the temporary file's mode). `durable` syncs the
    file and its directory, so the new content is on disk once this returns.
    """
    content = data.encode() if isinstance(data, str) else data
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
