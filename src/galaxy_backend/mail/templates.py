"""Mail templates: the sign-in code and notifications, each as a subject, text and HTML."""

import html
from dataclasses import dataclass
from datetime import datetime

MAX_SUBJECT_LENGTH = 200

SIGN_IN_SUBJECT = "Your Galaxy sign-in code"

_SIGN_IN_TEXT = """\
Your Galaxy sign-in code is:

    {code}

It expires in {ttl} minutes. If you did not ask to sign in, ignore this mail:
nobody can sign in without the code.
"""

_SIGN_IN_HTML = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{subject}</title></head>
<body style="font-family: sans-serif">
<p>Your Galaxy sign-in code is:</p>
<p style="font-size: 28px; font-weight: bold; letter-spacing: 4px">{code}</p>
<p>It expires in {ttl} minutes. If you did not ask to sign in, ignore this mail:
nobody can sign in without the code.</p>
</body></html>
"""

_NOTIFICATION_TEXT = """\
{title}

{body}

Galaxy
{footer}"""

_UNSUBSCRIBE_TEXT = """
--
You get this mail because of your notification settings ({reason}).
Stop these mails: {url}
"""

_UNSUBSCRIBE_HTML = """<p style="color: #666; font-size: 12px">You get this mail because of your
notification settings ({reason}). <a href="{url}">Stop these mails</a>.</p>
"""

_NOTIFICATION_HTML = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif">
<h1 style="font-size: 20px">{title}</h1>
{paragraphs}
<p style="color: #666">Galaxy</p>
{footer}</body></html>
"""


@dataclass(frozen=True)
class RenderedMail:
    """A mail ready to enqueue: one subject line, a plain-text body and an HTML body; with
    `unsubscribe_url`, it carries a one-click unsubscribe (RFC 8058 headers)."""

    subject: str
    text: str
    html: str
    unsubscribe_url: str | None = None


def _one_line(text: str) -> str:
    # A subject is one header line: newlines would break it (or inject headers).
    line = " ".join(text.split())
    if len(line) > MAX_SUBJECT_LENGTH:
        line = line[: MAX_SUBJECT_LENGTH - 1] + "…"
    return line


def sign_in_code(code: str, *, ttl_minutes: int) -> RenderedMail:
    """The sign-in mail; the code is in the bodies only, never in the subject admins list."""
    if ttl_minutes < 1:
        raise ValueError("ttl_minutes must be at least 1")
    return RenderedMail(
        subject=SIGN_IN_SUBJECT,
        text=_SIGN_IN_TEXT.format(code=code, ttl=ttl_minutes),
        html=_SIGN_IN_HTML.format(subject=SIGN_IN_SUBJECT, code=html.escape(code), ttl=ttl_minutes),
    )


GUESSING_SUBJECT = "Someone is trying to sign in to your Galaxy account"

_GUESSING_TEXT = """\
Today someone sent {limit} wrong sign-in codes for your Galaxy account, from places you
have not signed in from.

Until {until} (UTC), codes for your account are refused from such places; from where you
signed in before, you can sign in as usual. Nobody can sign in without a code mailed to
you: if you did not ask for codes, you need not do anything.
"""


def sign_in_guessing(*, until: datetime, limit: int) -> RenderedMail:
    """The player's warning that strangers' guesses at their codes hit the daily limit."""
    text = _GUESSING_TEXT.format(limit=limit, until=until.strftime("%Y-%m-%d %H:%M"))
    paragraphs = "\n".join(
        f"<p>{html.escape(' '.join(p.split()))}</p>" for p in text.split("\n\n") if p.strip()
    )
    return RenderedMail(
        subject=GUESSING_SUBJECT,
        text=text,
        html=_NOTIFICATION_HTML.format(
            title=html.escape(GUESSING_SUBJECT), paragraphs=paragraphs, footer=""
        ),
    )


def notification(
    title: str,
    body: str,
    *,
    unsubscribe_url: str | None = None,
    reason: str = "notifications",
    preformatted: str | None = None,
) -> RenderedMail:
    """A notification mail; title and body are user-provided, so the HTML escapes them.

    With `unsubscribe_url` it says why it was sent and how to stop it (and carries the
    one-click headers); `preformatted` is appended in a fixed-width block (a turn report).
    """
    subject = _one_line(title) or "Galaxy notification"
    paragraphs = [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    html_paragraphs = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    text_body = body.strip()
    if preformatted:
        text_body += "\n\n" + preformatted.rstrip()
        html_paragraphs += (
            '\n<pre style="font-family: monospace; font-size: 12px">'
            + html.escape(preformatted.rstrip())
            + "</pre>"
        )
    text_footer = html_footer = ""
    if unsubscribe_url is not None:
        text_footer = _UNSUBSCRIBE_TEXT.format(reason=reason, url=unsubscribe_url)
        html_footer = _UNSUBSCRIBE_HTML.format(
            reason=html.escape(reason), url=html.escape(unsubscribe_url, quote=True)
        )
    return RenderedMail(
        subject=subject,
        text=_NOTIFICATION_TEXT.format(title=subject, body=text_body, footer=text_footer),
        html=_NOTIFICATION_HTML.format(
            title=html.escape(subject), paragraphs=html_paragraphs, footer=html_footer
        ),
        unsubscribe_url=unsubscribe_url,
    )
