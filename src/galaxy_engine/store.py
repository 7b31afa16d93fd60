"""State files under the data directory, written so that a crash loses nothing.

Layout:
    CURRENT                     the last committed turn ("7\\n"), replaced atomically
    turns/000007/state.json     the game after turn 7, answer.json (the /admin/turn answer),
                reports/NNN.json, reports/NNN.txt  (one pair per race, NNN = race index)
    turns/000000/init.json      the accepted /admin/init request (canonical form)
    orders/000008/NNN.json      orders submitted for turn 8
    .lock                       held (flock) by the one process using the directory

A turn is written to `turns/.tmp-N`, every file and directory fsynced, renamed to
`turns/N`, and only then does CURRENT move to N. A crash before that last step leaves
the previous turn current; the stray directory is removed when the store is opened.
"""

import contextlib
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

LOG = logging.getLogger("galaxy_engine.store")


class StoreBusy(Exception):
    """Another process holds the data directory."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: readers see the old or the new content, never a part."""
    tmp = path.with_name(f".{path.name}.tmp")
    _write_file(tmp, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _ensure_dir(path: Path) -> None:
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        _fsync_dir(path.parent)


def turn_name(turn: int) -> str:
    return f"{turn:06d}"


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.turns = root / "turns"
        self.orders = root / "orders"
        self._lock_handle: int | None = None

    def open(self) -> int | None:
        """Take the directory, clean up after any crash; the committed turn or None."""
        _ensure_dir(self.root)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            raise StoreBusy(f"{self.root} is in use by another engine process") from error
        self._lock_handle = fd
        _ensure_dir(self.turns)
        _ensure_dir(self.orders)
        current = self.current()
        for entry in sorted(self.turns.iterdir()):
            stale = entry.name.startswith(".tmp-") or (
                entry.name.isdigit() and (current is None or int(entry.name) > current)
            )
            if stale:
                LOG.warning("removing uncommitted turn files %s", entry.name)
                shutil.rmtree(entry)
        return current

    def close(self) -> None:
        if self._lock_handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            os.close(self._lock_handle)
            self._lock_handle = None

    def current(self) -> int | None:
        try:
            text = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return int(text)

    def commit_turn(self, turn: int, files: Mapping[str, bytes], delay: float = 0.0) -> None:
        """Write every file of a turn, then make it the current turn in one rename."""
        tmp = self.turns / f".tmp-{turn_name(turn)}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        made: set[Path] = {tmp}
        for name in sorted(files):
            path = tmp / name
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            _write_file(path, files[name])
        for directory in sorted(made, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(directory)
        final = self.turns / turn_name(turn)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        _fsync_dir(self.turns)
        if delay > 0:
            LOG.warning(
                "turn %d written; committing after a test delay of %.1fs "
                "(GALAXY_ENGINE_TEST_TURN_DELAY)",
                turn,
                delay,
            )
            time.sleep(delay)
        write_atomic(self.root / "CURRENT", f"{turn}\n".encode())

    def read(self, turn: int, name: str) -> bytes:
        return (self.turns / turn_name(turn) / name).read_bytes()

    def write_orders(self, turn: int, race: int, data: bytes) -> None:
        directory = self.orders / turn_name(turn)
        _ensure_dir(directory)
        write_atomic(directory / f"{race:03d}.json", data)

    def read_orders(self, turn: int, race: int) -> bytes | None:
        try:
            return (self.orders / turn_name(turn) / f"{race:03d}.json").read_bytes()
        except FileNotFoundError:
            return None

    def orders_present(self, turn: int) -> set[int]:
        directory = self.orders / turn_name(turn)
        if not directory.is_dir():
            return set()
        return {
            int(path.stem)
            for path in directory.iterdir()
            if path.suffix == ".json" and path.stem.isdigit()
        }
