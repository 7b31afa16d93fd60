"""`make run`: the backend and the gateway together, stopped together by one Ctrl-C.

Each runs in a process group of its own, so a Ctrl-C reaches them once, through this
process, which passes each signal on to both and waits for both to stop. When one of them
exits by itself the other is stopped too. Once the gateway answers /readyz, the address to
open is printed. Standard library only.

    python scripts/run_stack.py BIN_DIR     # runs BIN_DIR/galaxy-backend and galaxy-gateway
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

USAGE = "usage: run_stack.py BIN_DIR"
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# How long the gateway may take to be ready before the address is printed with a warning.
_READY_WITHIN = 180.0


def gateway_url() -> str:
    """Where a browser on this machine reaches the gateway (GATEWAY_HTTP_ADDR)."""
    address = os.environ.get("GATEWAY_HTTP_ADDR") or ":8000"
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - reading the setting, not binding
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as reply:  # noqa: S310 - local
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def run(bin_dir: Path) -> int:
    # The commands are this checkout's own console scripts.
    children = {
        name: subprocess.Popen([str(bin_dir / f"galaxy-{name}"), "serve"], process_group=0)  # noqa: S603
        for name in ("backend", "gateway")
    }
    stopping = False

    def stop_all(sig: int) -> None:
        for child in children.values():
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(sig)

    def forward(sig: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        stop_all(sig)

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    url = gateway_url()
    began = time.monotonic()
    announced = False
    while any(child.poll() is None for child in children.values()):
        exited = [name for name, child in children.items() if child.returncode is not None]
        if exited and not stopping:
            print(f"run_stack: {exited[0]} exited; stopping the rest", file=sys.stderr, flush=True)
            stopping = True
            stop_all(signal.SIGTERM)
        if not announced and not stopping:
            if _ready(url):
                print(f"\n  Galaxy is running: open {url}\n", flush=True)
                announced = True
            elif time.monotonic() - began > _READY_WITHIN:
                print(f"run_stack: the gateway at {url} is not ready yet", file=sys.stderr)
                announced = True
        time.sleep(0.2)
    codes = [child.returncode for child in children.values()]
    return 0 if all(code == 0 for code in codes) else 1


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    return run(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
