"""One-click unsubscribe tokens: which user, which kind, signed so they cannot be forged.

A token names one user and one kind and carries an HMAC over both under a key derived from
BACKEND_SECRET_KEY for this purpose alone; changing either part, or making one for another
user, fails verification. Using a token twice only repeats the same change.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from uuid import UUID

from galaxy_backend.notification.errors import InvalidUnsubscribeToken

_PURPOSE = b"galaxy notification unsubscribe v1"
_MAC_BYTES = 16


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeTokens:
    def __init__(self, secret_key: Callable[[], bytes]) -> None:
        self._secret_key = secret_key

    def _mac(self, message: bytes) -> bytes:
        key = hmac.new(self._secret_key(), _PURPOSE, hashlib.sha256).digest()
        return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, user_id: UUID, kind: str) -> str:
        message = user_id.bytes + kind.encode()
        return f"{_b64(message)}.{_b64(self._mac(message))}"

    def verify(self, token: str) -> tuple[UUID, str]:
        """The (user, kind) a token stands for; InvalidInput for anything we did not sign."""
        try:
            body, _, mac = token.partition(".")
            message = _unb64(body)
            valid = len(message) > 16 and hmac.compare_digest(_unb64(mac), self._mac(message))
            if not valid:
                raise ValueError("bad signature")
            return UUID(bytes=message[:16]), message[16:].decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidUnsubscribeToken(field="token") from None
