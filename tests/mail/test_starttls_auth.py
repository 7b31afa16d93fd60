"""STARTTLS and AUTH against a real TLS-requiring, AUTH-requiring aiosmtpd."""

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from galaxy_backend.mail import MailService
from galaxy_backend.postgres import Database
from tests.mail.helpers import WorkerFactory, enqueue_many, statuses
from tests.support import eventually
from tests.support.receiver import Receiver

CREDENTIALS = ("galaxy", "s3cret-relay-password")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def secure_receiver(certificate: tuple[Path, Path]) -> AsyncIterator[Receiver]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Receiver(tls_context=context, credentials=CREDENTIALS)
    await server.start()
    yield server
    await server.stop()


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def test_the_worker_upgrades_with_starttls_and_logs_in(
    service: MailService,
    database: Database,
    secure_receiver: Receiver,
    certificate: tuple[Path, Path],
    make_worker: WorkerFactory,
) -> None:
    ids = await enqueue_many(service, database, 2)
    await make_worker(
        smtp_port=secure_receiver.port,
        smtp_tls="starttls",
        smtp_username=CREDENTIALS[0],
        smtp_password=CREDENTIALS[1],
        tls_context=client_context(certificate),
    )

    async def sent() -> bool:
        return set((await statuses(database)).values()) == {"sent"}

    await eventually(sent, message="sent over TLS")
    assert secure_receiver.counts() == {str(i): 1 for i in ids}
    # One connection, one login, reused for both mails.
    assert secure_receiver.handler.logins == [CREDENTIALS[0]]


async def test_refused_credentials_pause_the_worker_without_failing_the_mail(
    service: MailService,
    database: Database,
    secure_receiver: Receiver,
    certificate: tuple[Path, Path],
    make_worker: WorkerFactory,
) -> None:
    [delivery_id] = await enqueue_many(service, database, 1)
    await make_worker(
        smtp_port=secure_receiver.port,
        smtp_tls="starttls",
        smtp_username=CREDENTIALS[0],
        smtp_password="wrong",
        tls_context=client_context(certificate),
        max_attempts=5,
        backoff_min=timedelta(seconds=5),
        backoff_max=timedelta(seconds=5),
    )

    async def attempted() -> bool:
        return bool(await database.pool.fetchval("SELECT count(*) FROM mail_attempts"))

    await eventually(attempted, message="an attempt")
    row = await database.pool.fetchrow(
        "SELECT outcome, smtp_code, error FROM mail_attempts WHERE delivery_id = $1", delivery_id
    )
    assert row is not None
    assert (row["outcome"], row["smtp_code"]) == ("connection", 535)
    assert "wrong" not in row["error"]  # the password the worker sent is not recorded
    assert (await statuses(database))[delivery_id] == "retrying"
    assert secure_receiver.received == []
