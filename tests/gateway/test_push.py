"""WebSocket push through the gateway: real backend, real gRPC stream, real WebSocket clients."""

import asyncio
import json
import logging
import socket as net
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support import eventually
from tests.support.gateway import Stack


async def next_frame(socket: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(decode=True), timeout))
    return frame


async def closed_with(socket: ClientConnection, timeout: float = 10.0) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""

    async def drain() -> None:
        while True:
            await socket.recv()

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(drain(), timeout)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_event_reaches_every_connection_of_its_user_and_no_other(stack: Stack) -> None:
    alice = await stack.sign_in("alice@example.org")
    bob = await stack.sign_in("bob@example.org")
    alice_phone = await stack.subscribe(alice["token"])
    alice_laptop = await stack.subscribe(alice["token"])
    bob_socket = await stack.subscribe(bob["token"])
    alice_id, bob_id = alice["user"]["id"], bob["user"]["id"]

    cursor = stack.backend.push.publish("notification", {"id": "n-1"}, user_ids=[alice_id])
    for socket in (alice_phone, alice_laptop):
        frame = await next_frame(socket)
        assert frame == {
            "type": "event",
            "cursor": cursor,
            "kind": "notification",
            "payload": {"id": "n-1"},
            "created_at": frame["created_at"],
        }
        assert frame["created_at"].endswith("Z")
    # Bob's first frame is his own event, published after Alice's: hers never reached him.
    stack.backend.push.publish("notification", {"id": "n-2"}, user_ids=[bob_id])
    assert (await next_frame(bob_socket))["payload"] == {"id": "n-2"}


async def test_an_application_event_reaches_the_game_owner(stack: Stack) -> None:
    """A real domain event: a player applies, the owner's socket hears of it."""
    owner = await stack.sign_in("owner@example.org")
    player = await stack.sign_in("player@example.org")
    socket = await stack.subscribe(owner["token"])
    created = await stack.client.post(
        "/api/v1/user/games",
        headers=bearer(owner["token"]),
        json={
            "name": "Gateway Cup",
            "min_players": 2,
            "max_players": 4,
            "enrollment_deadline": "2099-01-01T00:00:00Z",
            "turn_schedule": "@every 1h",
            "visibility": "public",
            "settings": {},
        },
    )
    assert created.status_code == 201, created.text
    game_id = created.json()["id"]
    applied = await stack.client.post(
        f"/api/v1/user/games/{game_id}/applications",
        headers=bearer(player["token"]),
        json={"race_name": "Zorgons"},
    )
    assert applied.status_code == 201, applied.text

    async def heard() -> bool:
        frame = await next_frame(socket)
        return frame["type"] == "event" and frame["payload"].get("kind") == (
            "lobby.application.received"
        )

    await eventually(heard, timeout=20, message="the owner hears of the application")


async def test_logout_closes_the_sessions_sockets_with_4401(stack: Stack) -> None:
    signed = await stack.sign_in("leaver@example.org")
    other = await stack.sign_in("leaver@example.org")  # a second session of the same player
    first = await stack.subscribe(signed["token"])
    second = await stack.subscribe(signed["token"])
    kept = await stack.subscribe(other["token"])
    logout = await stack.client.post("/api/v1/user/auth/logout", headers=bearer(signed["token"]))
    assert logout.status_code == 204
    assert await closed_with(first) == (4401, "session revoked")
    assert await closed_with(second) == (4401, "session revoked")
    # The player's other session stays, and hears that one of its sessions ended.
    frame = await next_frame(kept)
    assert frame["kind"] == "session.revoked"
    assert frame["payload"]["session_id"] == signed["session_id"]


async def test_a_backend_restart_ends_in_resync(
    stack: Stack, start_backend: Callable[..., Awaitable[Any]]
) -> None:
    signed = await stack.sign_in("survivor@example.org")
    socket = await stack.subscribe(signed["token"])
    old = stack.backend
    await old.app.stop()
    await eventually(lambda: not stack.gateway.subscribers[0].live, message="stream down")
    # The same backend comes back on the same ports (and database).
    stack.backend = await start_backend(
        BACKEND_HTTP_ADDR=f"127.0.0.1:{old.http.port}",
        BACKEND_GRPC_PUSH_ADDR=f"127.0.0.1:{old.grpc.port}",
        BACKEND_SMTP_ADDR=stack.inbox.address,
    )
    assert await next_frame(socket, timeout=20) == {"type": "resync"}
    # And events flow again, on the same socket.
    stack.backend.push.publish("notification", {"id": "after"}, user_ids=[signed["user"]["id"]])
    assert (await next_frame(socket))["payload"] == {"id": "after"}


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        ("hello", "the first frame is not JSON"),
        ('{"type":"subscribe"}', 'the first frame must be {"type":"auth","token":...}'),
        ("[1,2]", 'the first frame must be {"type":"auth","token":...}'),
        ('{"type":"auth"}', "the auth frame needs a session token"),
        ('{"type":"auth","token":42}', "the auth frame needs a session token"),
        (b"\x00binary", "the first frame must be a text frame"),
        ('{"type":"auth","token":"' + "x" * 5000 + '"}', "the first frame is too large"),
    ],
)
async def test_a_malformed_first_frame_is_closed_with_4400(
    stack: Stack, first: str | bytes, reason: str
) -> None:
    socket = await stack.connect()
    await socket.send(first)
    assert await closed_with(socket) == (4400, reason)


@pytest.mark.parametrize(
    "token",
    [
        "gsu_not-a-real-token",
        # No token can be these; "backend unavailable, try again" would have the client retry.
        "g" * 300,
        "gsu_\u0000",
        "gsu_\ud7ff",
        "gsu_with space",
    ],
)
async def test_an_unknown_token_is_closed_with_4401(stack: Stack, token: str) -> None:
    socket = await stack.connect()
    await socket.send(json.dumps({"type": "auth", "token": token}))
    assert await closed_with(socket) == (4401, "invalid or expired session")


@pytest.mark.parametrize("frame", ["x" * 5000, b"x" * 5000])
async def test_a_frame_over_the_limit_after_auth_is_closed_with_4400(
    stack: Stack, frame: str | bytes
) -> None:
    signed = await stack.sign_in("wordy@example.org")
    socket = await stack.subscribe(signed["token"])
    await socket.send(frame)
    assert await closed_with(socket) == (4400, "frame too large")


async def test_no_first_frame_in_time_is_closed_with_4401(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_stack(GATEWAY_WS_AUTH_TIMEOUT="300ms")
    socket = await stack.connect()
    assert await closed_with(socket) == (4401, "no auth frame in time")


async def test_pings_are_answered_and_other_frames_ignored(stack: Stack) -> None:
    signed = await stack.sign_in("chatty@example.org")
    socket = await stack.subscribe(signed["token"])
    await socket.send('{"type":"what"}')
    await socket.send("not json at all")
    await socket.send(b"\x01\x02")
    await socket.send('{"type":"ping"}')
    assert await next_frame(socket) == {"type": "pong"}


async def test_the_session_expiry_closes_its_sockets(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_stack({"BACKEND_SESSION_TTL": "3s"})
    signed = await stack.sign_in("brief@example.org")
    socket = await stack.subscribe(signed["token"])
    assert await closed_with(socket, timeout=15) == (4401, "session expired")


async def test_connections_per_session_and_per_address_are_capped(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_stack(GATEWAY_WS_MAX_PER_SESSION="2", GATEWAY_WS_MAX_PER_ADDRESS="3")
    signed = await stack.sign_in("many@example.org")
    await stack.subscribe(signed["token"])
    await stack.subscribe(signed["token"])
    third = await stack.connect()
    await third.send(json.dumps({"type": "auth", "token": signed["token"]}))
    assert await closed_with(third) == (4429, "too many connections for this session")
    # Three sockets from one address: the fourth is refused before it may even sign in.
    await eventually(lambda: stack.gateway.hub.pending_and_open == 2, message="third released")
    held = await stack.connect()
    refused = await stack.connect()
    assert await closed_with(refused) == (4429, "too many connections from this address")
    await held.close()


async def test_the_address_cap_counts_an_ipv6_clients_whole_64(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    # Named by a trusted proxy (loopback): rotating inside one /64 buys no more sockets,
    # another /64 and an IPv4 address each have their own.
    stack = await start_stack(GATEWAY_WS_MAX_PER_SESSION="2", GATEWAY_WS_MAX_PER_ADDRESS="2")

    def from_(address: str) -> Any:
        return stack.connect(additional_headers={"X-Forwarded-For": address})

    held = [await from_("2001:db8:1:2::1"), await from_("2001:db8:1:2:ffff::9")]
    refused = await from_("2001:db8:1:2::abcd")
    assert await closed_with(refused) == (4429, "too many connections from this address")
    others = [await from_("2001:db8:1:3::1"), await from_("203.0.113.9")]
    for socket in others:
        await socket.send(json.dumps({"type": "auth", "token": "gsu_unknown"}))
        assert await closed_with(socket) == (4401, "invalid or expired session")
    for socket in held:
        await socket.close()


async def test_a_client_that_stops_reading_is_closed_with_4408_and_slows_no_one(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_stack(GATEWAY_WS_QUEUE_SIZE="8")
    signed = await stack.sign_in("slow@example.org")
    user_id = signed["user"]["id"]
    # A client with a small receive buffer that never reads after `ready`.
    small = net.socket()
    small.setsockopt(net.SOL_SOCKET, net.SO_RCVBUF, 4096)
    small.connect(("127.0.0.1", stack.gateway.http.port))
    stalled = await stack.connect(sock=small)
    await stalled.send(json.dumps({"type": "auth", "token": signed["token"]}))
    assert json.loads(await stalled.recv(decode=True))["type"] == "ready"
    stalled.transport.pause_reading()
    lively = await stack.subscribe(signed["token"])
    payload = {"blob": "x" * 60_000}
    received = 0

    async def lively_reads() -> None:
        nonlocal received
        while True:
            frame = await next_frame(lively)
            if frame["type"] == "event":
                received += 1

    reader = asyncio.create_task(lively_reads())
    try:
        # Until the gateway's socket buffers are full and the queue overflows (bounded).
        for _ in range(2000):
            stack.backend.push.publish("notification", payload, user_ids=[user_id])
            await asyncio.sleep(0.002)
            if stack.gateway.hub.close_codes[4408]:
                break
        await eventually(lambda: stack.gateway.hub.close_codes[4408] == 1, message="4408")
        await eventually(lambda: received >= 1, message="the lively client still hears")
    finally:
        reader.cancel()
        stalled.transport.resume_reading()


async def test_a_stopping_gateway_closes_sockets_with_1001(stack: Stack) -> None:
    signed = await stack.sign_in("last@example.org")
    socket = await stack.subscribe(signed["token"])
    unauthenticated = await stack.connect()
    assert await stack.gateway.app.stop()
    assert (await closed_with(socket))[0] == 1001
    assert (await closed_with(unauthenticated))[0] == 1001


@pytest.mark.parametrize("signed_in", [False, True])
async def test_a_text_frame_that_is_not_utf8_is_closed_with_1007_and_no_error_logged(
    stack: Stack, caplog: pytest.LogCaptureFixture, signed_in: bool
) -> None:
    if signed_in:
        signed = await stack.sign_in("garbled@example.org")
        socket = await stack.subscribe(signed["token"])
    else:
        socket = await stack.connect()
    with caplog.at_level(logging.ERROR):
        await socket.send(b"\xff\xfe{", text=True)
        assert await closed_with(socket) == (1007, "invalid UTF-8")
    # A client's bad bytes are not the gateway's error.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
