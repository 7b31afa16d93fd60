"""A real SMTP server (aiosmtpd on loopback) that keeps what it gets, refuses or stalls on cue.

Used by the mail tests and, as the inbox players read their codes from, by tests/support.api.
"""

import asyncio
import email
import functools
import re
import ssl
import warnings
from collections import Counter, deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from galaxy_backend.mail.message import DELIVERY_ID_HEADER
from galaxy_backend.mail.sink import TrackedSMTP, close_smtp_server
from galaxy_backend.mail.templates import SIGN_IN_SUBJECT

_DELIVERY_ID = re.compile(rb"^" + DELIVERY_ID_HEADER.encode() + rb": (\S+)\r?$", re.M | re.I)


@dataclass
class Received:
    delivery_id: str
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    peer: Any
    # Whether the mail travelled over TLS (STARTTLS or implicit).
    tls: bool = False

    @functools.cached_property
    def message(self) -> EmailMessage:
        # Parsed on demand: the email package costs more than the SMTP exchange itself.
        message = email.message_from_bytes(self.raw, policy=default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Handler:
    """aiosmtpd hooks; `refuse[address]` holds replies given to RCPT before it accepts."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, deque[str]] = field(default_factory=dict)
    stall_data: int = 0
    # Accept this many messages, then stall on the next one (until `release`).
    stall_after_accepting: int | None = None
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    logins: list[str] = field(default_factory=list)
    credentials: tuple[str, str] | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        replies = self.refuse.get(address)
        if replies:
            return replies.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.stall_data > 0 or (
            self.stall_after_accepting is not None
            and len(self.received) >= self.stall_after_accepting
        ):
            self.stall_data = max(0, self.stall_data - 1)
            self.stall_after_accepting = None
            self.stalled.set()
            await self.release.wait()
        raw = envelope.original_content
        found = _DELIVERY_ID.search(raw.split(b"\r\n\r\n", 1)[0])
        self.received.append(
            Received(
                delivery_id=found.group(1).decode() if found else "",
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                raw=raw,
                peer=session.peer,
                tls=server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 OK queued"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if (login, password) != self.credentials:
            return AuthResult(success=False, handled=False)
        self.logins.append(login)
        return AuthResult(success=True)


class Receiver:
    """The server; `port` is known after start (0 binds a free one)."""

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        require_starttls: bool | None = None,
        implicit_tls: bool = False,
        auth_without_tls: bool = False,
    ) -> None:
        """With `tls_context`: STARTTLS offered (and required unless `require_starttls` is
        False), or TLS from the first byte with `implicit_tls`."""
        self.handler = Handler(credentials=credentials)
        self._tls_context = tls_context
        self._require_starttls = (
            tls_context is not None if require_starttls is None else require_starttls
        )
        self._implicit_tls = implicit_tls
        self._auth_without_tls = auth_without_tls
        self._server: asyncio.Server | None = None
        self._connections: set[SMTP] = set()
        self.port = 0

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def counts(self) -> Counter[str]:
        return Counter(r.delivery_id for r in self.handler.received)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages received for `address` (compared case-insensitively), oldest first."""
        wanted = address.lower()
        return [r.message for r in self.received if wanted in (a.lower() for a in r.rcpt_tos)]

    def sign_in_mails(self, address: str) -> list[EmailMessage]:
        """Sign-in code mails to `address`, oldest first (notification mails may interleave)."""
        return [m for m in self.to(address) if m["Subject"] == SIGN_IN_SUBJECT]

    def code_for(self, address: str) -> str:
        """The sign-in code in the newest sign-in mail to `address`."""
        mails = self.sign_in_mails(address)
        assert mails, f"no sign-in mail to {address}"
        body = mails[-1].get_body(preferencelist=("plain",))
        assert body is not None
        match = re.search(r"\b(\d{6})\b", body.get_content())
        assert match is not None, "no code in the mail"
        return match.group(1)

    async def start(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        handler = self.handler
        implicit = self._implicit_tls
        auth_require_tls = not (implicit or self._auth_without_tls)

        def protocol() -> SMTP:
            with warnings.catch_warnings():
                # It warns about AUTH without STARTTLS: implicit TLS, or a careless relay.
                warnings.simplefilter("ignore", UserWarning)
                return TrackedSMTP(
                    handler,
                    self._connections,
                    hostname="receiver.test",
                    tls_context=None if implicit else self._tls_context,
                    require_starttls=self._require_starttls and not implicit,
                    auth_required=handler.credentials is not None,
                    auth_require_tls=auth_require_tls,
                    authenticator=handler.authenticate,
                    loop=loop,
                )

        self._server = await loop.create_server(
            protocol, "127.0.0.1", port, ssl=self._tls_context if implicit else None
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.handler.release.set()
        server, self._server = self._server, None
        if server is None:
            return
        await asyncio.wait_for(close_smtp_server(server, self._connections), 5)
