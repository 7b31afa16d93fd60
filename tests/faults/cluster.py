"""A private PostgreSQL cluster that a test may stop and start: `initdb` and `pg_ctl` in a
temporary directory, on a free port, sockets in /tmp; removed afterwards.

The machine's own cluster is shared by every test, so faults are never injected there.
As root, the binaries run as the `postgres` user (initdb refuses root); the directory is
made over to it.
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support import free_port

_DEBIAN_BINARIES = Path("/usr/lib/postgresql")
_RUN_AS = "postgres"


def binaries() -> Path:
    """The newest Debian PostgreSQL's binaries, else the ones pgserver ships."""
    if _DEBIAN_BINARIES.is_dir():
        versions = sorted(
            (p for p in _DEBIAN_BINARIES.iterdir() if (p / "bin" / "pg_ctl").exists()),
            key=lambda p: int(p.name) if p.name.isdigit() else 0,
        )
        if versions:
            return versions[-1] / "bin"
    from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore[import-untyped]

    return Path(POSTGRES_BIN_PATH)


class PrivateCluster:
    def __init__(self, *, host: str = "127.0.0.1", netns: str | None = None) -> None:
        self.host = host
        self.netns = netns
        self.root = Path(tempfile.mkdtemp(prefix="galaxy-pgfault-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._bin = binaries()
        self._user = _RUN_AS if os.geteuid() == 0 else None
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.running = False

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        if self.netns is not None:
            command = ["ip", "netns", "exec", self.netns, *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}\n{log}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        if self.host != "127.0.0.1":  # initdb trusts loopback only; this one's subnet too
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write("host all all samenet trust\n")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k /tmp -c listen_addresses={self.host}"
            # Throwaway data: no need to wait on the disk.
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl -m fast stop`: sessions are ended, the server shuts down cleanly."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def remove(self) -> None:
        if self.running:
            with contextlib.suppress(RuntimeError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
