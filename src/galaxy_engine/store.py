"""State files under the data directory, written so that a crash loses nothing.

Layout:
    CURRENT                     the last committed turn ("7\\n"), replaced atomically
    turns/000007/state.json     the game after turn 7, answer.json (the /admin/turn answer),
                reports/NNN.json, reports/NNN.txt  (one pair per race, NNN = race index)
    turns/000003/packed.tar.xz  an older turn's reports/NNN.* and orders/NNN.json, packed
    turns/000000/init.json      the accepted /admin/init request (canonical form)
    orders/000008/NNN.json      orders submitted for turn 8
    .lock                       held (flock) by the one process using the directory

A turn is written to `turns/.tmp-N`, every file and directory fsynced, renamed to
`turns/N`, and only then does CURRENT move to N. A crash before that last step leaves
the previous turn current; the stray directory is removed when the store is opened.

Only the last `keep_states` turns keep their full state and loose files: an older
turn's reports, and the orders it ran with, are packed into one xz tar (the reports of
one turn repeat each other, so they shrink about thirtyfold), written and fsynced before
the loose files go, and its state is deleted. Reports of every turn stay readable,
answers stay as they are.
"""

import contextlib
import fcntl
import io
import logging
import lzma
import os
import shutil
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

LOG = logging.getLogger("galaxy_engine.store")

DEFAULT_KEEP_STATES = 3
ARCHIVE = "packed.tar.xz"
REPORTS = "reports"
ORDERS = "orders"
# xz's fast preset: a 30-race turn's 1.7 MB of reports pack in a few tens of ms.
ARCHIVE_PRESET: Final = 1
# Turns packed per commit beyond the one that just aged out: a backlog (an older data
# directory, an earlier failure) drains a little at each turn, never all at once.
BACKLOG_PER_COMMIT = 2


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


def pack_files(files: list[tuple[str, Path]]) -> bytes:
    """The files as one xz tar of (member name, path), the same bytes for the same files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz", preset=ARCHIVE_PRESET) as archive:
        for name, path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Store:
    def __init__(self, root: Path, keep_states: int = DEFAULT_KEEP_STATES) -> None:
        """`keep_states`: how many of the last turns keep their full state (0: all)."""
        if keep_states < 0:
            raise ValueError("keep_states must be 0 or more")
        self.root = root
        self.turns = root / "turns"
        self.orders = root / ORDERS
        self.keep_states = keep_states
        self._lock_handle: int | None = None
        self._backlog: list[int] = []

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
        if current is not None:
            self._backlog = [
                turn for turn in range(self._last_to_compact(current) + 1) if self._loose(turn)
            ]
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
        self._compact_after(turn)

    def read(self, turn: int, name: str) -> bytes:
        return (self.turns / turn_name(turn) / name).read_bytes()

    def read_report(self, turn: int, name: str) -> bytes:
        """A report file (`NNN.json`, `NNN.txt`) of a turn, loose or packed.

        Lock-free: a turn is packed, fsynced and renamed into place before its loose
        reports are removed, so a report missing there is always in the archive.
        """
        directory = self.turns / turn_name(turn)
        try:
            return (directory / REPORTS / name).read_bytes()
        except FileNotFoundError:
            pass
        with tarfile.open(directory / ARCHIVE, "r:xz") as archive:
            try:
                member = archive.extractfile(f"{REPORTS}/{name}")
            except KeyError:
                raise FileNotFoundError(f"no report {name} for turn {turn}") from None
            assert member is not None
            return member.read()

    # --- compaction ----------------------------------------------------------------------

    def _last_to_compact(self, current: int) -> int:
        """The latest turn that no longer keeps its state (-1: none)."""
        return -1 if self.keep_states == 0 else current - self.keep_states

    def _loose_folders(self, turn: int) -> dict[str, Path]:
        """The folders a turn's archive takes in, by their name in the archive."""
        return {
            REPORTS: self.turns / turn_name(turn) / REPORTS,
            ORDERS: self.orders / turn_name(turn),
        }

    def _loose(self, turn: int) -> bool:
        state = self.turns / turn_name(turn) / "state.json"
        return state.exists() or any(f.is_dir() for f in self._loose_folders(turn).values())

    def _compact_after(self, current: int) -> None:
        aged = self._last_to_compact(current)
        if aged < 0:
            return
        backlog = [turn for turn in self._backlog if turn < aged][:BACKLOG_PER_COMMIT]
        todo = [*backlog, aged]
        for turn in todo:
            try:
                self.compact(turn)
            except (OSError, lzma.LZMAError, tarfile.TarError):
                LOG.exception("could not pack turn %d; it is tried again after the next", turn)
                if turn not in self._backlog:
                    self._backlog.append(turn)
                return
            if turn in self._backlog:
                self._backlog.remove(turn)

    def compact(self, turn: int) -> None:
        """Pack a turn's reports and orders into one archive, delete its state (again: no-op)."""
        directory = self.turns / turn_name(turn)
        folders = {name: f for name, f in self._loose_folders(turn).items() if f.is_dir()}
        archive = directory / ARCHIVE
        if folders and not archive.exists():
            started = time.perf_counter()
            files = [
                (f"{name}/{path.name}", path)
                for name, folder in folders.items()
                for path in sorted(folder.iterdir())
            ]
            tmp = directory / f".{ARCHIVE}.tmp"
            _write_file(tmp, pack_files(files))
            os.replace(tmp, archive)
            _fsync_dir(directory)
            LOG.info(
                "turn %d packed in %.0f ms (%d bytes)",
                turn,
                (time.perf_counter() - started) * 1000,
                archive.stat().st_size,
            )
        for folder in folders.values():
            shutil.rmtree(folder)
            _fsync_dir(folder.parent)
        (directory / "state.json").unlink(missing_ok=True)
        _fsync_dir(directory)

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
