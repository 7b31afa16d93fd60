"""The real process: `galaxy-backend serve` started, probed, logged and stopped by signal."""

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import backend_env, cli, free_port


class Process:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.http_port = free_port()
        self.grpc_port = free_port()
        full = {
            "BACKEND_HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{self.grpc_port}",
            "BACKEND_OTEL_TRACES_EXPORTER": "none",
            "BACKEND_OTEL_METRICS_EXPORTER": "none",
            "BACKEND_DATA_DIR": str(cwd / "data"),
            **env,
        }
        self.stderr_path = cwd / "stderr.log"
        self.stdout_path = cwd / "stdout.log"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                cli("serve"), env=backend_env(full), cwd=cwd, stdout=out, stderr=err
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited early:\n{self.stderr_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"not ready in {timeout}s:\n{self.stderr_path.read_text()}")

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def log_lines(self) -> list[dict[str, object]]:
        lines = []
        for raw in self.stderr_path.read_text().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[type[Process]]:
    started: list[Process] = []

    def make(env: dict[str, str]) -> Process:
        process = Process(env, tmp_path)
        started.append(process)
        return process

    yield make  # type: ignore[misc]
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


def test_serves_then_exits_0_on_sigterm_with_trace_ids_in_request_logs(
    spawn,
    db_dsn: str,  # type: ignore[no-untyped-def]
) -> None:
    process = spawn(
        {
            "BACKEND_POSTGRES_DSN": db_dsn,
            "BACKEND_LOG_LEVEL": "debug",
            "BACKEND_OTEL_TRACES_EXPORTER": "stdout",
        }
    )
    process.wait_ready()
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    response = httpx.get(
        f"{process.url}/api/v1/public/nothing",
        headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"},
    )
    assert response.status_code == 404
    request_id = response.headers["x-request-id"]
    assert process.terminate() == 0

    lines = process.log_lines()
    request_lines = [line for line in lines if line.get("request_id") == request_id]
    assert request_lines, "the request was not logged"
    for line in request_lines:
        assert line["otel_trace_id"] == trace_id
        assert len(str(line["otel_span_id"])) == 16
    events = [line["event"] for line in lines]
    assert "started" in events
    assert "stopping" in events
    token = (process.stderr_path.parent / "data" / "internal-token").read_text().strip()
    assert token not in process.stderr_path.read_text()
    # The stdout exporter flushed the request's span at shutdown.
    assert trace_id in process.stdout_path.read_text()


def test_a_taken_port_fails_start_with_exit_1(spawn, db_dsn: str) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        process = spawn({"BACKEND_POSTGRES_DSN": db_dsn, "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}"})
        assert process.proc.wait(60) == 1
    events = [line.get("event") for line in process.log_lines()]
    assert "start failed" in events


def test_a_fresh_directory_runs_on_embedded_postgres(spawn) -> None:  # type: ignore[no-untyped-def]
    process = spawn({})
    process.wait_ready(timeout=120)
    assert process.terminate() == 0
    events = [line.get("event") for line in process.log_lines()]
    assert "embedded PostgreSQL running (BACKEND_POSTGRES_DSN is unset)" in events
    pid_file = process.stderr_path.parent / "data" / "postgres" / "postmaster.pid"
    assert not pid_file.exists(), "the embedded server was left running"
