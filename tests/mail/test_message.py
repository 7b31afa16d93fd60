"""The composed wire form parses back, with every header and both bodies intact."""

import email
import uuid
from email.message import EmailMessage
from email.policy import default

import pytest

from galaxy_backend.mail.message import DELIVERY_ID_HEADER, Sender, compose


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_headers_and_parts_survive_a_round_trip() -> None:
    delivery_id = uuid.uuid4()
    text = "Grüße = greetings\n.a line starting with a dot\n" + "long " * 60 + "\nend "
    html = "<p>a=b &amp; ü</p>\n" * 3
    raw = compose(
        delivery_id=delivery_id,
        sender=Sender.parse("Galaxy Ωmega <noreply@galaxy.test>"),
        to="player@example.org",
        subject="Zug 12 — Grüße aus der Galaxie",
        text=text,
        html=html,
    )
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    message = parse(raw)
    assert message["Subject"] == "Zug 12 — Grüße aus der Galaxie"
    assert message["From"].addresses[0].display_name == "Galaxy Ωmega"
    assert message["From"].addresses[0].addr_spec == "noreply@galaxy.test"
    assert message["To"] == "player@example.org"
    assert message["Message-ID"] == f"<{delivery_id}@galaxy.test>"
    assert message[DELIVERY_ID_HEADER] == str(delivery_id)
    assert message["Date"] is not None
    assert message.get_content_type() == "multipart/alternative"
    assert body(message, "plain").rstrip("\n") == text
    assert body(message, "html").rstrip("\n") == html.rstrip("\n")


def test_a_non_ascii_recipient_is_written_raw_for_smtputf8() -> None:
    raw = compose(
        delivery_id=uuid.uuid4(),
        sender=Sender.parse("noreply@galaxy.test"),
        to="jörg@example.org",
        subject="Hi",
        text="t",
        html="h",
    )
    assert "To: jörg@example.org\r\n".encode() in raw


@pytest.mark.parametrize("mail_from", ["", "Galaxy", "Galaxy <>", "Ω <ω@galaxy.test>"])
def test_an_unusable_sender_is_refused(mail_from: str) -> None:
    with pytest.raises(ValueError, match="mail_from"):
        Sender.parse(mail_from)
