"""Codes and tokens: drawn from the OS CSPRNG, kept only as keyed or plain hashes."""

import hashlib
import hmac
import secrets
from uuid import UUID

USER_TOKEN_PREFIX = "gsu_"  # noqa: S105 - a prefix that lets secret scanners spot leaked tokens
ADMIN_TOKEN_PREFIX = "gsa_"  # noqa: S105


def new_code() -> str:
    """Six digits, uniformly random."""
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(secret_key: bytes, challenge_id: UUID, code: str) -> bytes:
    """HMAC under the server key: a leaked table alone does not let anyone test codes."""
    return hmac.new(secret_key, challenge_id.bytes + code.encode(), hashlib.sha256).digest()


def new_token(prefix: str) -> str:
    """256 random bits, URL-safe, with a recognisable prefix."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """A plain SHA-256 is enough for 256-bit random tokens: there is nothing to guess."""
    return hashlib.sha256(token.encode()).digest()
