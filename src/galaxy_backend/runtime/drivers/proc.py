"""What a pid is now: gone, a zombie, or a live process with a start marker and a command.

The process driver keeps an engine's pid across backend restarts; a pid can be reused by
another process, so the driver also keeps the start marker and checks the command line.
Linux reads `/proc`; elsewhere (macOS, the BSDs) `ps` answers the same questions.
"""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
# Seconds `ps` may take; it is only a fallback where there is no /proc.
_PS_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """One process as the kernel sees it now."""

    # Equal markers (for one pid, on one boot) mean the same process.
    started: str
    # Exited but not yet reaped by its parent: dead for every purpose but its pid.
    zombie: bool
    # Its argument vector joined by spaces ("" for a zombie).
    command: str


def process_info(pid: int) -> ProcessInfo | None:
    """The process `pid` now, or None when there is none (blocking: call it in a thread)."""
    if pid <= 0:
        return None
    if (_PROC / "self" / "stat").exists():
        return proc_info(pid)
    return ps_info(pid)


def proc_info(pid: int) -> ProcessInfo | None:
    """From /proc/{pid}/stat (state and start time in clock ticks) and /proc/{pid}/cmdline."""
    base = _PROC / str(pid)
    try:
        stat = (base / "stat").read_text()
        argv = (base / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name in parentheses may itself hold spaces and parentheses.
    fields = stat.rpartition(")")[2].split()
    state, start_ticks = fields[0], fields[19]
    command = " ".join(part.decode(errors="replace") for part in argv.split(b"\0") if part)
    return ProcessInfo(started=start_ticks, zombie=state in ("Z", "X"), command=command)


def ps_info(pid: int) -> ProcessInfo | None:
    """From `ps` (stat, lstart and command columns): BSD and procps both have them."""
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["ps", "-o", "stat=", "-o", "lstart=", "-o", "command=", "-p", str(pid)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=_PS_TIMEOUT,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    words = result.stdout.split()
    # stat, then lstart's five words (e.g. "Mon Dec  1 11:45:42 2026"), then the command.
    if result.returncode != 0 or len(words) < 6:
        return None
    zombie = words[0].startswith("Z")
    return ProcessInfo(
        started=" ".join(words[1:6]), zombie=zombie, command="" if zombie else " ".join(words[6:])
    )


def processes_running(needle: str) -> list[int]:
    """Pids of live processes whose command line contains `needle` (blocking)."""
    if not (_PROC / "self" / "stat").exists():
        return _ps_processes_running(needle)
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        command = " ".join(part.decode(errors="replace") for part in argv.split(b"\0") if part)
        if needle in command:
            found.append(int(entry.name))
    return found


def _ps_processes_running(needle: str) -> list[int]:
    result = subprocess.run(
        ["ps", "-ax", "-o", "pid=", "-o", "command="],  # noqa: S607 - ps from PATH
        capture_output=True,
        text=True,
        timeout=_PS_TIMEOUT,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    found = []
    for line in result.stdout.splitlines():
        pid, _, command = line.strip().partition(" ")
        if pid.isdigit() and needle in command:
            found.append(int(pid))
    return found


def reap(pid: int) -> int | None:
    """Collect `pid`'s exit status if it is our exited child; its exit code, or None."""
    try:
        waited, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if waited == 0:
        return None
    return os.waitstatus_to_exitcode(status)
