"""The listener's transport: what one turn of the event loop writes leaves in one write."""

import asyncio

from galaxy_backend.server.http_server import _CoalescingTransport


class RecordingTransport(asyncio.Transport):
    """Stands in for the socket's transport: records each write and the close."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def get_write_buffer_size(self) -> int:
        return 0


async def test_a_head_and_body_written_in_one_turn_leave_in_one_write() -> None:
    socket = RecordingTransport()
    transport = _CoalescingTransport(socket, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert socket.writes == []
    assert transport.get_write_buffer_size() == 40
    await asyncio.sleep(0)
    assert socket.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert socket.writes[1:] == [b"next"]


async def test_close_sends_what_is_pending_first_and_abort_drops_it() -> None:
    socket = RecordingTransport()
    transport = _CoalescingTransport(socket, asyncio.get_running_loop())
    transport.write(b"last words")
    transport.close()
    assert (socket.writes, socket.closed) == ([b"last words"], True)

    socket = RecordingTransport()
    transport = _CoalescingTransport(socket, asyncio.get_running_loop())
    transport.write(b"never sent")
    transport.abort()
    await asyncio.sleep(0)
    assert (socket.writes, socket.aborted) == ([], True)


async def test_nothing_is_written_to_a_transport_already_closing() -> None:
    socket = RecordingTransport()
    transport = _CoalescingTransport(socket, asyncio.get_running_loop())
    transport.write(b"too late")
    socket.closed = True  # the peer went away within the turn
    await asyncio.sleep(0)
    assert socket.writes == []


async def test_a_large_body_is_not_held() -> None:
    socket = RecordingTransport()
    transport = _CoalescingTransport(socket, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"x" * 100_000)
    assert [len(w) for w in socket.writes] == [100_019]
    transport.write(b"tail")
    assert transport.get_write_buffer_size() == 4
    await asyncio.sleep(0)
    assert socket.writes[1:] == [b"tail"]
