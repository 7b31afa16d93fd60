"""The bare ASGI app (bare_app.py) under the backend's own HTTP listener (server/http_server.py):
the same uvicorn settings and transport as `galaxy-backend serve`, with nothing else around it.

Run: `python bench/bare_listener.py PORT` (hot_reads.py starts it).
"""

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvloop
from bare_app import app

from galaxy_backend.config import Address
from galaxy_backend.server.http_server import HttpListener


async def main(port: int) -> None:
    listener = HttpListener(
        name="bare", address=Address("127.0.0.1", port), app=app, shutdown_timeout=5.0
    )
    await listener.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    listener.refuse_new()
    await listener.stop()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
