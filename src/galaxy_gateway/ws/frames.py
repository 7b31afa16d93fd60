"""The frames the gateway sends on `/ws` and the close codes it uses (docs/gateway.md)."""

from datetime import UTC, datetime
from typing import Any, Final

import orjson

# Close codes: the standard ones, and 4000 + the HTTP status that means the same.
GOING_AWAY: Final = 1001
TRY_AGAIN_LATER: Final = 1013
BAD_FRAME: Final = 4400
UNAUTHORIZED: Final = 4401
TIMEOUT: Final = 4408
TOO_MANY: Final = 4429

RESYNC: Final = '{"type":"resync"}'
PONG: Final = '{"type":"pong"}'


def ready(user_id: str, session_id: str) -> str:
    return orjson.dumps({"type": "ready", "user_id": user_id, "session_id": session_id}).decode()


def event(cursor: int, kind: str, payload: Any, created_at_ns: int) -> str:
    created = datetime.fromtimestamp(created_at_ns / 1e9, tz=UTC)
    return orjson.dumps(
        {
            "type": "event",
            "cursor": cursor,
            "kind": kind,
            "payload": payload,
            "created_at": created.isoformat().replace("+00:00", "Z"),
        }
    ).decode()
