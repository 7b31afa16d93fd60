"""A real process at debug level logs a whole sign-in and admin login without any secret."""

import asyncio
import re
import signal
from pathlib import Path

import httpx

from tests.support import backend_env, cli, eventually, free_port, wait_ready
from tests.support.api import ADMIN_PASSWORD, ADMIN_USER
from tests.support.receiver import Receiver


async def test_codes_tokens_and_passwords_never_reach_the_log(
    smtp: Receiver, db_dsn: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "backend.log"
    spans = tmp_path / "spans.log"
    env = backend_env(
        {
            "BACKEND_POSTGRES_DSN": db_dsn,
            "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}",
            "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{free_port()}",
            "BACKEND_DATA_DIR": str(tmp_path / "data"),
            "BACKEND_SMTP_ADDR": smtp.address,
            "BACKEND_LOG_LEVEL": "debug",
            "BACKEND_OTEL_TRACES_EXPORTER": "stdout",
            "BACKEND_OTEL_METRICS_EXPORTER": "none",
            "BACKEND_ADMIN_BOOTSTRAP_USERNAME": ADMIN_USER,
            "BACKEND_ADMIN_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD,
        }
    )
    with log.open("wb") as err, spans.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(*cli("serve"), env=env, stdout=out, stderr=err)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_ready(client)
            challenge = await client.post(
                "/api/v1/public/auth/email-code", json={"email": "quiet@example.org"}
            )
            await eventually(lambda: bool(smtp.to("quiet@example.org")))
            code = smtp.code_for("quiet@example.org")
            signed = await client.post(
                "/api/v1/public/auth/email-code/confirm",
                json={"challenge_id": challenge.json()["challenge_id"], "code": code},
            )
            token = signed.json()["token"]
            await client.get("/api/v1/user/me", headers={"Authorization": f"Bearer {token}"})
            admin = await client.post(
                "/api/v1/admin/auth/login",
                json={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
            )
            admin_token = admin.json()["token"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    text = log.read_text()
    assert '"event":"signed in"' in text  # the flow was logged...
    # Timestamps and ids are digit soup where six digits could match by chance.
    scrubbed = re.sub(r'"(timestamp|otel_trace_id|otel_span_id|duration_ms)":[^,}]*', "", text)
    for secret in (code, token, token.removeprefix("gsu_"), admin_token, ADMIN_PASSWORD):
        assert secret not in scrubbed  # ...without any of its secrets
    exported = spans.read_text()
    assert "trace_id" in exported
    for secret in (token, admin_token, ADMIN_PASSWORD):
        assert secret not in exported
    # The code only as a number of its own, not six digits inside an id or a timestamp.
    assert not re.search(rf"(?<![\w.:-]){code}(?!\w)", exported)
