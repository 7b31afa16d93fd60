"""How the mail worker protects its SMTP connection (`BACKEND_SMTP_TLS`).

aiosmtplib upgrades with STARTTLS when the server offers it only while `start_tls` is left
unset; forcing it off sent codes and credentials in plaintext to relays that offered TLS.
Certificates are verified against the system's store (which honours `SSL_CERT_FILE`).
"""

from typing import Any, Literal

SmtpTls = Literal["auto", "starttls", "implicit", "none"]
# Submission over implicit TLS (RFC 8314): the port's meaning, whatever `auto` else decides.
IMPLICIT_TLS_PORT = 465


def tls_options(mode: SmtpTls, *, port: int, with_credentials: bool) -> dict[str, Any]:
    """aiosmtplib's `use_tls` and `start_tls` for a mode.

    `auto`: implicit TLS on port 465; else STARTTLS, required when credentials are sent and
    taken whenever the server offers it otherwise.
    """
    if mode == "none":
        return {"use_tls": False, "start_tls": False}
    if mode == "implicit" or (mode == "auto" and port == IMPLICIT_TLS_PORT):
        return {"use_tls": True, "start_tls": False}
    if mode == "starttls" or with_credentials:
        return {"use_tls": False, "start_tls": True}
    return {"use_tls": False, "start_tls": None}
