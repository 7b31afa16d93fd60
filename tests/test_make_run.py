"""Ctrl-C on `make run`: the backend and the gateway stop cleanly, make reports no interrupt.

Each test runs make on a real pseudo-terminal, as a person does, and types Ctrl-C.
"""

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

LAUNCHER = REPO / "scripts" / "foreground.py"
WAITING = "backend waiting for SIGINT"
STOPPED = "backend stopped by SIGINT"
# Stands in for the backend: waits for SIGINT, then exits 0 as `galaxy-backend serve` does.
FAKE_BACKEND = f"""\
import signal
signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGINT}})
print({WAITING!r}, flush=True)
signal.sigwait({{signal.SIGINT}})
print({STOPPED!r}, flush=True)
"""
GATEWAY_WAITING = "gateway waiting for SIGINT"
GATEWAY_STOPPED = "gateway stopped by SIGINT"
SECOND_SIGINT = "gateway got a second SIGINT"
# The gateway's stand-in also reports a second SIGINT, which would force a real stop.
FAKE_GATEWAY = FAKE_BACKEND.replace("backend", "gateway") + (
    f"if signal.sigtimedwait({{signal.SIGINT}}, 0.5) is not None:\n"
    f"    print({SECOND_SIGINT!r}, flush=True)\n"
)
DEADLINE = 30.0


def _read_until(fd: int, done: Callable[[bytes], bool], deadline: float) -> bytes:
    output = b""
    while not done(output):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            shown = output.decode(errors="replace")
            raise AssertionError(f"timed out; the terminal showed:\n{shown}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every process holding the terminal has exited
            chunk = b""
        if not chunk:
            break
        output += chunk
    return output


def _wait_exit(pid: int, deadline: float) -> int:
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, 9)
            raise AssertionError("make did not exit")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(pidfd)
    return os.waitstatus_to_exitcode(status)


def ctrl_c_on_make(
    args: list[str], cwd: Path, waiting: tuple[str, ...] = (WAITING,)
) -> tuple[int, str]:
    """Run make on a new terminal, type Ctrl-C once everything waits; (exit code, screen)."""
    make = shutil.which("make")
    assert make is not None
    env = {**os.environ, "MAKEFLAGS": ""}
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes make at once
        try:
            os.chdir(cwd)
            os.execve(make, [make, *args], env)
        finally:
            os._exit(127)
    deadline = time.monotonic() + DEADLINE
    try:
        screen = _read_until(fd, lambda out: all(w.encode() in out for w in waiting), deadline)
        os.write(fd, b"\x03")
        screen += _read_until(fd, lambda _: False, deadline)
        code = _wait_exit(pid, deadline)
    finally:
        os.close(fd)
    return code, screen.decode(errors="replace")


def _fake_venv(tmp_path: Path) -> Path:
    """A venv for the real Makefile: up to date, its `galaxy-backend` and `galaxy-gateway`
    the stand-ins."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    for name, fake in (("galaxy-backend", FAKE_BACKEND), ("galaxy-gateway", FAKE_GATEWAY)):
        command = venv / "bin" / name
        command.write_text(f"#!{sys.executable}\n{fake}")
        command.chmod(0o755)
    (venv / ".installed").touch()
    return venv


def _small_makefile(tmp_path: Path, *, launcher: bool) -> Path:
    (tmp_path / "backend.py").write_text(FAKE_BACKEND)
    prefix = f"{sys.executable} {LAUNCHER} " if launcher else ""
    # A variable with a default, as in the real recipe, so make runs it through the shell.
    recipe = f"MODE=$${{MODE:-dev}} {prefix}{sys.executable} backend.py"
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"run:\n\t{recipe}\n")
    return makefile


def test_without_the_launcher_make_reports_an_interrupt(tmp_path: Path) -> None:
    # Shows what the launcher is for (and that this test can see the defect).
    _small_makefile(tmp_path, launcher=False)
    code, screen = ctrl_c_on_make(["run"], tmp_path)
    assert STOPPED in screen
    assert "Interrupt" in screen
    assert code != 0


def test_with_the_launcher_ctrl_c_stops_the_backend_and_make_exits_0(tmp_path: Path) -> None:
    _small_makefile(tmp_path, launcher=True)
    code, screen = ctrl_c_on_make(["run"], tmp_path)
    assert STOPPED in screen
    assert "Interrupt" not in screen
    assert code == 0, screen


def test_make_run_stops_backend_and_gateway_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path)
    code, screen = ctrl_c_on_make(
        ["-C", str(REPO), f"VENV={venv}", "run"], tmp_path, waiting=(WAITING, GATEWAY_WAITING)
    )
    assert STOPPED in screen
    assert GATEWAY_STOPPED in screen
    assert SECOND_SIGINT not in screen
    assert "Interrupt" not in screen
    assert code == 0, screen


def test_without_a_terminal_the_launcher_just_runs_the_command() -> None:
    result = subprocess.run(
        [sys.executable, str(LAUNCHER), sys.executable, "-c", "raise SystemExit(3)"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=DEADLINE,
        check=False,
    )
    assert result.returncode == 3
