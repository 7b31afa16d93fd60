"""Push: the ring buffer of events for gateways, its publisher API and its gRPC stream."""

from galaxy_backend.push.ring import PushEvent, PushRing
from galaxy_backend.push.service import Publisher, PushService, PushStatus

__all__ = ["Publisher", "PushEvent", "PushRing", "PushService", "PushStatus"]
