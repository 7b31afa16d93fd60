"""A front of an engine's HTTP server for fault injection: it forwards every request to the
engine, except report requests while it is told to refuse them (503), as an engine that
fails half-way through a turn's reports would."""

import asyncio
import contextlib


class ReportRefuser:
    def __init__(self, engine_address: str) -> None:
        host, _, port = engine_address.rpartition(":")
        self._engine = (host, int(port))
        self.refusing = False
        self.refused = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen on a free loopback port; the address to put where the engine's was."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One request per connection: every answer says `Connection: close`.
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")[:-2]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length)
            if self.refusing and b"/reports/" in lines[0]:
                self.refused += 1
                refusal = b'{"error":{"code":"unavailable","message":"refused by the front"}}'
                writer.write(
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(refusal), refusal)
                )
            else:
                kept = [line for line in lines if not line.lower().startswith(b"connection:")]
                upstream_reader, upstream_writer = await asyncio.open_connection(*self._engine)
                upstream_writer.write(b"\r\n".join([*kept, b"connection: close", b"", b""]) + body)
                await upstream_writer.drain()
                writer.write(await upstream_reader.read())
                upstream_writer.close()
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
