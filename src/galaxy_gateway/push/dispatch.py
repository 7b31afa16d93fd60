"""What each push event means for the connected clients (docs/push-events.md)."""

import time
from collections import Counter
from collections.abc import Sequence

import orjson
from opentelemetry.metrics import Histogram

from galaxy_gateway.telemetry import get_logger
from galaxy_gateway.ws import frames
from galaxy_gateway.ws.hub import Hub
from galaxy_proto.push_pb2 import PushEvent

_log = get_logger(__name__)

RESET = "push.reset"
SESSION_REVOKED = "session.revoked"


class Dispatcher:
    """Turns each event into frames for the hub: routed, resync, or a session closed."""

    def __init__(self, hub: Hub, lag: Histogram) -> None:
        self._hub = hub
        self._lag = lag
        self.events: Counter[str] = Counter()
        self.resets = 0

    def resync(self, replica: str) -> None:
        """The stream from `replica` was broken where the backend cannot say what was lost."""
        self.resets += 1
        _log.info("push stream resumed without a cursor: every client resyncs", replica=replica)
        self._hub.resync()

    def __call__(self, replica: str, events: Sequence[PushEvent]) -> None:
        for event in events:
            self._one(replica, event)

    def _one(self, replica: str, event: PushEvent) -> None:
        kind = event.kind
        self.events[kind] += 1
        if kind == RESET:
            self.resets += 1
            _log.info("push reset: every client resyncs", replica=replica)
            self._hub.resync()
            return
        try:
            payload = orjson.loads(event.payload) if event.payload else None
        except orjson.JSONDecodeError:
            _log.error("push event with a payload that is not JSON dropped", kind=kind)
            return
        if kind == SESSION_REVOKED and isinstance(payload, dict):
            session_id = payload.get("session_id")
            if isinstance(session_id, str):
                self._hub.close_session(session_id, frames.UNAUTHORIZED, "session revoked")
        if not event.user_ids:
            return
        created_ns = event.created_at.seconds * 1_000_000_000 + event.created_at.nanos
        frame = frames.event(event.cursor, kind, payload, created_ns)
        if self._hub.to_users(list(event.user_ids), frame):
            self._lag.record(max(time.time() - created_ns / 1e9, 0.0))
