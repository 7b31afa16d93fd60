"""Mail over TLS by default (BACKEND_SMTP_TLS), through the running backend, against real
aiosmtpd servers whose certificates a test CA signs; the system store is that CA alone
(`SSL_CERT_FILE`), so a certificate it did not sign is refused."""

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from galaxy_backend.wiring import Backend
from tests.mail.certificates import ServerCertificate, issue, make_ca
from tests.support import eventually
from tests.support.receiver import Receiver

CREDENTIALS = ("galaxy", "s3cret-relay-password")
StartBackend = Callable[..., Awaitable[Backend]]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    directory = tmp_path_factory.mktemp("pki")
    trusted = make_ca(directory, "Galaxy Test CA")
    stranger = make_ca(directory, "Unknown CA")
    return {
        "ca": trusted[0],
        "server": issue(directory, trusted, "relay"),
        "impostor": issue(directory, stranger, "impostor"),
    }


def server_context(certificate: object) -> ssl.SSLContext:
    assert isinstance(certificate, ServerCertificate)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    return context


@pytest.fixture(autouse=True)
def _system_store_is_the_test_ca(pki: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    ca = pki["ca"]
    assert isinstance(ca, Path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    started: list[Receiver] = []

    async def start(**options: object) -> Receiver:
        receiver = Receiver(**options)  # type: ignore[arg-type]
        await receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        await receiver.stop()


async def ask_for_code(backend: Backend, email: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}") as client:
        response = await client.post("/api/v1/public/auth/email-code", json={"email": email})
    assert response.status_code == 202, response.text


def with_credentials(receiver: Receiver) -> dict[str, str]:
    return {
        "BACKEND_SMTP_ADDR": receiver.address,
        "BACKEND_SMTP_USERNAME": CREDENTIALS[0],
        "BACKEND_SMTP_PASSWORD": CREDENTIALS[1],
    }


async def test_credentials_travel_only_over_verified_starttls_by_default(
    start_backend: StartBackend, receivers: Callable[..., Awaitable[Receiver]], pki: dict
) -> None:
    relay = await receivers(tls_context=server_context(pki["server"]), credentials=CREDENTIALS)
    backend = await start_backend(**with_credentials(relay))
    await ask_for_code(backend, "tls@example.org")
    await eventually(lambda: len(relay.received) == 1, message="the code mailed")
    assert relay.received[0].tls is True
    assert relay.handler.logins == [CREDENTIALS[0]]


async def test_without_credentials_starttls_is_taken_when_the_relay_offers_it(
    start_backend: StartBackend, receivers: Callable[..., Awaitable[Receiver]], pki: dict
) -> None:
    relay = await receivers(tls_context=server_context(pki["server"]), require_starttls=False)
    backend = await start_backend(BACKEND_SMTP_ADDR=relay.address)
    await ask_for_code(backend, "opportunistic@example.org")
    await eventually(lambda: len(relay.received) == 1, message="the code mailed")
    assert relay.received[0].tls is True


async def test_implicit_tls_connects_over_tls_from_the_first_byte(
    start_backend: StartBackend, receivers: Callable[..., Awaitable[Receiver]], pki: dict
) -> None:
    relay = await receivers(
        tls_context=server_context(pki["server"]), credentials=CREDENTIALS, implicit_tls=True
    )
    backend = await start_backend(**with_credentials(relay), BACKEND_SMTP_TLS="implicit")
    await ask_for_code(backend, "implicit@example.org")
    await eventually(lambda: len(relay.received) == 1, message="the code mailed")
    assert relay.received[0].tls is True
    assert relay.handler.logins == [CREDENTIALS[0]]


async def test_a_certificate_the_store_does_not_trust_gets_no_mail_and_no_password(
    start_backend: StartBackend, receivers: Callable[..., Awaitable[Receiver]], pki: dict
) -> None:
    impostor = await receivers(tls_context=server_context(pki["impostor"]), credentials=CREDENTIALS)
    backend = await start_backend(**with_credentials(impostor))
    await ask_for_code(backend, "verify@example.org")

    async def attempted() -> str | None:
        error: str | None = await backend.database.pool.fetchval(
            "SELECT error FROM mail_attempts ORDER BY finished_at LIMIT 1"
        )
        return error

    await eventually(attempted, message="an attempt recorded")
    assert "CERTIFICATE_VERIFY_FAILED" in str(await attempted())
    assert impostor.received == []
    assert impostor.handler.logins == []


async def test_a_relay_without_tls_gets_no_credentials(
    start_backend: StartBackend, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    # A plaintext relay that would take the password: STARTTLS is required with credentials.
    plain = await receivers(credentials=CREDENTIALS, auth_without_tls=True)
    backend = await start_backend(**with_credentials(plain))
    await ask_for_code(backend, "plain@example.org")

    async def attempted() -> str | None:
        error: str | None = await backend.database.pool.fetchval(
            "SELECT error FROM mail_attempts ORDER BY finished_at LIMIT 1"
        )
        return error

    await eventually(attempted, message="an attempt recorded")
    assert "STARTTLS" in str(await attempted())
    assert plain.received == []
    assert plain.handler.logins == []
