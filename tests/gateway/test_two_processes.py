"""The deployed shape: `galaxy-backend serve` and `galaxy-gateway serve` as two processes of
their own, a player reaching the backend only through the gateway. Sign-in, a lobby event
reaching every socket of its user and no one else's, logout closing the sockets with 4401,
the backend restarted (the sockets get `resync`), and both stopping cleanly on SIGTERM."""

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.gateway.test_push import closed_with, next_frame
from tests.support import backend_env, cli, eventually, free_port, wait_ready
from tests.support.gateway import gateway_env
from tests.support.lobby import game_body
from tests.support.receiver import Receiver

INTERNAL_TOKEN = "two-processes-internal-token-0123456789abcdef"


class Processes:
    """The two servers as child processes, each one's log kept in a file."""

    def __init__(self, directory: Path, db_dsn: str, smtp: Receiver) -> None:
        self.directory = directory
        self.backend_http, self.backend_grpc, self.gateway_http = (free_port() for _ in "abc")
        self.backend_env = backend_env(
            {
                "BACKEND_POSTGRES_DSN": db_dsn,
                "BACKEND_HTTP_ADDR": f"127.0.0.1:{self.backend_http}",
                "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{self.backend_grpc}",
                "BACKEND_INTERNAL_TOKEN": INTERNAL_TOKEN,
                "BACKEND_DATA_DIR": str(directory / "data"),
                "BACKEND_SMTP_ADDR": smtp.address,
                "BACKEND_MAIL_BACKOFF_MIN": "100ms",
                "BACKEND_MAIL_BACKOFF_MAX": "500ms",
                "BACKEND_OTEL_TRACES_EXPORTER": "none",
                "BACKEND_OTEL_METRICS_EXPORTER": "none",
            }
        )
        self.gateway_env = {
            k: v for k, v in self.backend_env.items() if not k.startswith("BACKEND_")
        } | gateway_env(
            None,
            GATEWAY_HTTP_ADDR=f"127.0.0.1:{self.gateway_http}",
            GATEWAY_BACKEND_URL=f"http://127.0.0.1:{self.backend_http}",
            GATEWAY_BACKEND_PUSH_ADDRS=f"127.0.0.1:{self.backend_grpc}",
            GATEWAY_INTERNAL_TOKEN=INTERNAL_TOKEN,
        )
        self.children: list[asyncio.subprocess.Process] = []
        self.logs: list[Path] = []

    async def _spawn(self, command: list[str], env: dict[str, str], name: str) -> Any:
        log = self.directory / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            child = await asyncio.create_subprocess_exec(
                *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=out
            )
        self.children.append(child)
        return child

    async def backend(self) -> Any:
        return await self._spawn(cli("serve"), self.backend_env, "backend")

    async def gateway(self) -> Any:
        command = [cli("serve")[0], "-m", "galaxy_gateway", "serve"]
        return await self._spawn(command, self.gateway_env, "gateway")


@pytest.fixture
async def processes(tmp_path: Path, db_dsn: str, smtp: Receiver) -> AsyncIterator[Processes]:
    running = Processes(tmp_path, db_dsn, smtp)
    yield running
    for child in running.children:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def sign_in(client: httpx.AsyncClient, smtp: Receiver, email: str) -> dict[str, Any]:
    asked = await client.post("/api/v1/public/auth/email-code", json={"email": email})
    assert asked.status_code == 202, asked.text
    await eventually(lambda: smtp.sign_in_mails(email), timeout=20, message=f"code to {email}")
    confirmed = await client.post(
        "/api/v1/public/auth/email-code/confirm",
        json={"challenge_id": asked.json()["challenge_id"], "code": smtp.code_for(email)},
    )
    assert confirmed.status_code == 200, confirmed.text
    body: dict[str, Any] = confirmed.json()
    return body


async def next_notification(socket: ClientConnection) -> dict[str, Any]:
    """The next `notification` event (lobby updates may come between)."""
    while True:
        frame = await next_frame(socket, timeout=20)
        if frame["type"] == "event" and frame["kind"] == "notification":
            return frame


async def test_a_player_through_the_gateway_process_to_the_backend_process(
    processes: Processes, smtp: Receiver
) -> None:
    backend = await processes.backend()
    gateway = await processes.gateway()
    base = f"http://127.0.0.1:{processes.gateway_http}"
    ws_url = f"ws://127.0.0.1:{processes.gateway_http}/ws"
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        await wait_ready(client)
        alice = await sign_in(client, smtp, "alice@example.org")
        bob = await sign_in(client, smtp, "bob@example.org")

        async def subscribe(token: str) -> ClientConnection:
            socket = await websockets.connect(ws_url, open_timeout=10)
            await socket.send(json.dumps({"type": "auth", "token": token}))
            assert (await next_frame(socket))["type"] == "ready"
            return socket

        alice_sockets = [await subscribe(alice["token"]), await subscribe(alice["token"])]
        bob_socket = await subscribe(bob["token"])

        # Bob applies to Alice's game: the notice reaches both of Alice's sockets.
        made = await client.post(
            "/api/v1/user/games",
            json=game_body(name="Two Processes Cup", owner_race_name="Alicians"),
            headers={"Authorization": f"Bearer {alice['token']}"},
        )
        assert made.status_code == 201, made.text
        game_id = made.json()["id"]
        applied = await client.post(
            f"/api/v1/user/games/{game_id}/applications",
            json={"race_name": "Bobbians"},
            headers={"Authorization": f"Bearer {bob['token']}"},
        )
        assert applied.status_code == 201, applied.text
        seen = [await next_notification(s) for s in alice_sockets]
        assert {f["payload"]["id"] for f in seen} == {seen[0]["payload"]["id"]}
        assert seen[0]["payload"]["payload"]["game_id"] == game_id
        # Alice approves: Bob's first notice is his own, never Alice's (the stream is ordered).
        approved = await client.post(
            f"/api/v1/user/games/{game_id}/applications/{applied.json()['id']}/approve",
            headers={"Authorization": f"Bearer {alice['token']}"},
        )
        assert approved.status_code == 200, approved.text
        bobs = await next_notification(bob_socket)
        assert bobs["payload"]["id"] != seen[0]["payload"]["id"]
        assert bobs["payload"]["payload"]["game_id"] == game_id

        # Alice signs out: both her sockets close with 4401; Bob's stays.
        ended = await client.post(
            "/api/v1/user/auth/logout", headers={"Authorization": f"Bearer {alice['token']}"}
        )
        assert ended.status_code == 204
        for socket in alice_sockets:
            assert (await closed_with(socket))[0] == 4401

        # The backend restarts: Bob's socket is told to resync, and it still serves.
        backend.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(backend.wait(), 40) == 0
        backend = await processes.backend()
        frames = [await next_frame(bob_socket, timeout=60)]
        while frames[-1]["type"] != "resync":
            frames.append(await next_frame(bob_socket, timeout=60))
        await wait_ready(client)
        me = await client.get(
            "/api/v1/user/me", headers={"Authorization": f"Bearer {bob['token']}"}
        )
        assert me.status_code == 200

    # Both stop cleanly: the gateway closes Bob's socket with 1001.
    gateway.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(gateway.wait(), 30) == 0
    assert await closed_with(bob_socket) == (1001, "server shutting down")
    backend.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(backend.wait(), 40) == 0
    logs = "".join(log.read_text() for log in processes.logs)
    assert alice["token"] not in logs and bob["token"] not in logs
    assert "Traceback" not in logs
