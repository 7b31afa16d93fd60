"""Run a command as the terminal's foreground job, so Ctrl-C reaches it and not `make`.

Ctrl-C sends SIGINT to the terminal's whole foreground process group: the command, but
also `make` and the recipe's shell, which both die of it after the command has stopped
cleanly (make then reports "Interrupt"). Run from a terminal, this puts the command in
a process group of its own, hands that group the terminal, waits for it, takes the
terminal back and exits with the command's status. Anywhere else it just runs the
command. Standard library only: it runs before anything is installed.

    python scripts/foreground.py COMMAND [ARG...]
"""

import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

USAGE = "usage: foreground.py COMMAND [ARG...]"
# Signals sent to this process alone (make forwards SIGTERM to its children, a closed
# terminal sends SIGHUP) are passed on to the command, which owns the stop.
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _terminal() -> int | None:
    """Standard input's descriptor when it is a terminal whose foreground job we are."""
    fd = sys.stdin.fileno() if sys.stdin is not None else -1
    try:
        if fd >= 0 and os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except OSError:
        pass
    return None


def _give_terminal(fd: int, pgrp: int) -> None:
    # A background group may change the foreground group only while ignoring SIGTTOU.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(fd, pgrp)
    finally:
        signal.signal(signal.SIGTTOU, previous)


def _signal_group(pgrp: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgrp, sig)


def _exit_like(status: int) -> int:
    """Exit the way the command did: with its code, or killed by the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(OSError):  # SIGKILL's disposition cannot be set
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        return 128 + sig
    return os.waitstatus_to_exitcode(status)


def run_in_foreground(command: Sequence[str], fd: int) -> int:
    """Run `command` as the terminal's foreground process group until it exits."""
    own = os.getpgrp()
    # setpgroup=0: the command leads a new process group, set before it runs.
    pid = os.posix_spawnp(command[0], list(command), os.environ, setpgroup=0)

    def forward(sig: int, _: FrameType | None) -> None:
        _signal_group(pid, sig)

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    try:
        _give_terminal(fd, pid)
        while True:
            _, status = os.waitpid(pid, os.WUNTRACED)
            if not os.WIFSTOPPED(status):
                break
            # Ctrl-Z stopped the command: stop our own job too, so the shell regains
            # the terminal, and carry on with the command when the shell resumes us.
            _give_terminal(fd, own)
            _signal_group(own, signal.SIGTSTP)
            _give_terminal(fd, pid)
            _signal_group(pid, signal.SIGCONT)
    finally:
        # The terminal may be gone (hung up); then there is nothing to give back.
        with contextlib.suppress(OSError):
            _give_terminal(fd, own)
    return _exit_like(status)


def main(argv: Sequence[str]) -> int:
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    fd = _terminal()
    if fd is None:
        os.execvp(argv[0], list(argv))  # noqa: S606 - the command line is the caller's
    return run_in_foreground(argv, fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
