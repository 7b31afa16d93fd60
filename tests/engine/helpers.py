"""Helpers for the engine tests: small hand-made games, order runs, a server subprocess."""

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from galaxy_engine.mapgen import new_race
from galaxy_engine.model import DRIVE, Game, Group, Planet, Race
from galaxy_engine.orders import parse_orders
from galaxy_engine.settings import validate_settings
from galaxy_engine.turn import execute_orders
from galaxy_engine.turnlog import TurnLog

SRC = Path(__file__).resolve().parents[2] / "src"
TOKEN = "test-token-0123456789abcdef"


def tiny_game(**settings: Any) -> Game:
    """Two races on a 100 ly map: Alpha owns 1 and 2, Beta owns 4; 3 and 5 are free."""
    s = validate_settings({"galaxy_size": 100.0, **settings})
    planets = [
        Planet(1, "1", 10.0, 10.0, 1000.0, 10.0, owner=0, pop=1000.0, ind=1000.0, product=DRIVE),
        Planet(2, "2", 12.0, 10.0, 500.0, 5.0, owner=0, pop=500.0, ind=250.0),
        Planet(3, "3", 40.0, 10.0, 300.0, 1.0),
        Planet(4, "4", 90.0, 90.0, 1000.0, 10.0, owner=1, pop=1000.0, ind=1000.0, product=DRIVE),
        Planet(5, "5", 60.0, 60.0, 100.0, 2.0),
    ]
    races = [new_race(0, "p0", "Alpha", s), new_race(1, "p1", "Beta", s)]
    return Game("tiny", 1, s, 100.0, planets, races)


def add_race(game: Game, name: str) -> Race:
    race = new_race(len(game.races), f"p{len(game.races)}", name, game.settings)
    game.races.append(race)
    return race


def orders(
    game: Game, race: int, text: str, log: TurnLog | None = None
) -> tuple[list[str], list[str]]:
    """Run `text` as race `race`'s orders (all three phases); the refusals and warnings."""
    log = log or TurnLog(turn=game.turn)
    parsed = parse_orders(text)
    errors = [i.message for i in parsed.errors]
    warnings: list[str] = []
    for phase in (1, 2, 3):
        outcome = execute_orders(game, game.races[race], parsed, phase, log)
        errors += [i.message for i in outcome.errors]
        warnings += [i.message for i in outcome.warnings]
    return errors, warnings


def add_group(game: Game, race: int, type_name: str, ships: int, at: int, **fields: Any) -> Group:
    r = game.races[race]
    t = next(t for t in r.types if t.name == type_name)
    number = max((g.number for g in r.groups), default=0) + 1
    g = Group(
        number=number,
        type_id=t.id,
        ships=ships,
        drive=1.0 if t.drive else 0.0,
        weapons=1.0 if t.attacks else 0.0,
        shields=1.0 if t.shields else 0.0,
        cargo=1.0 if t.cargo else 0.0,
        where=at,
        origin=at,
    )
    for key, value in fields.items():
        setattr(g, key, value)
    r.groups.append(g)
    return g


def eventually(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy; fail after `timeout` seconds (no blind sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s")
        time.sleep(0.02)


def engine_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALAXY_ENGINE_")}
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "galaxy_engine", *args]


class EngineProcess:
    """`python -m galaxy_engine serve` as a real subprocess, on a port it picks itself."""

    def __init__(self, data: Path, log: Path, host: str = "127.0.0.1", **env: str) -> None:
        self.data = data
        self.host = host
        self.log = log
        self.env = engine_env(GALAXY_ENGINE_ADMIN_TOKEN=TOKEN, **env)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> "EngineProcess":
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as sink:
            where = ["--host", self.host] if self.host else []
            self.process = subprocess.Popen(
                cli_command("serve", "--data", str(self.data), "--port", "0", *where),
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )

        def listening() -> int | None:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"engine exited: {self.log.read_text()[offset:]}")
            found = re.search(r"listening on \S+ port (\d+)", self.log.read_text()[offset:])
            return int(found.group(1)) if found else None

        self.port = eventually(listening, what="engine listening")
        return self

    def log_text(self) -> str:
        return self.log.read_text()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        raw: bytes | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            if data is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def raw(self, request: str, timeout: float = 10.0) -> str:
        """Send `request` as it is (latin-1) and return the first line of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(request.encode("latin-1"))
            return sock.makefile("rb").readline().decode("latin-1")

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _headers, data = self.request(method, path, body, **kw)
        return status, json.loads(data)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(20)


@contextlib.contextmanager
def running(data: Path, log: Path, host: str = "127.0.0.1", **env: str) -> Iterator[EngineProcess]:
    engine = EngineProcess(data, log, host, **env).start()
    try:
        yield engine
    finally:
        with contextlib.suppress(Exception):
            engine.stop()
        if engine.process is not None and engine.process.poll() is None:
            engine.kill()


def players(n: int) -> list[dict[str, str]]:
    return [{"player_id": f"player-{i}", "race_name": f"Race{i}"} for i in range(n)]
