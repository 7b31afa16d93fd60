"""How long any wait on PostgreSQL may last, and how a dead peer is noticed.

Every connection gets the same bounds: a connect timeout, a server-side
`statement_timeout` with a client-side wait one second longer (so the server's clean
cancel normally comes first and the client's bound only catches a connection that no
longer answers), an `idle_in_transaction_session_timeout` so a transaction its client
abandoned cannot hold row locks for ever, and TCP keepalives with `TCP_USER_TIMEOUT` on
both ends so a peer that vanished without a FIN is dropped within `dead_peer_timeout`.
"""

import socket
from dataclasses import dataclass
from typing import Any

# The client waits this much longer than the server's statement_timeout.
CLIENT_MARGIN_SECONDS = 1.0
# An abandoned transaction lives at most this many statement timeouts (and at least 30 s).
_IDLE_IN_TRANSACTION_FACTOR = 4
_IDLE_IN_TRANSACTION_FLOOR = 30.0
_KEEPALIVE_PROBES = 3


@dataclass(frozen=True, slots=True)
class DatabaseBounds:
    """The waits of `BACKEND_POSTGRES_*_TIMEOUT`, in seconds."""

    acquire_timeout: float = 5.0
    statement_timeout: float = 5.0
    dead_peer_timeout: float = 15.0

    @property
    def connect_timeout(self) -> float:
        """One connection attempt (inside an acquire, so never longer than it)."""
        return self.acquire_timeout

    @property
    def client_timeout(self) -> float:
        """How long the client waits for one statement before it gives the connection up."""
        return self.statement_timeout + CLIENT_MARGIN_SECONDS

    @property
    def idle_in_transaction_timeout(self) -> float:
        return max(_IDLE_IN_TRANSACTION_FLOOR, _IDLE_IN_TRANSACTION_FACTOR * self.statement_timeout)

    @property
    def request_bound(self) -> float:
        """The longest a request may wait on a database that stopped answering: an acquire,
        then a statement and the rollback (or cancel) that follows it."""
        return self.acquire_timeout + 2 * self.client_timeout

    def keepalive(self) -> tuple[int, int, int]:
        """(idle, interval, probes) in whole seconds, all well inside dead_peer_timeout."""
        idle = max(1, int(self.dead_peer_timeout / 3))
        interval = max(1, int(self.dead_peer_timeout / (2 * _KEEPALIVE_PROBES)))
        return idle, interval, _KEEPALIVE_PROBES

    def server_settings(self) -> dict[str, str]:
        """Session settings sent at connect: the server's half of the same bounds."""
        idle, interval, probes = self.keepalive()
        return {
            "statement_timeout": str(_ms(self.statement_timeout)),
            "idle_in_transaction_session_timeout": str(_ms(self.idle_in_transaction_timeout)),
            "tcp_keepalives_idle": str(idle),
            "tcp_keepalives_interval": str(interval),
            "tcp_keepalives_count": str(probes),
            "tcp_user_timeout": str(_ms(self.dead_peer_timeout)),
        }

    def tune(self, sock: Any) -> bool:
        """Keepalives and TCP_USER_TIMEOUT on a connection's socket; False for a unix socket
        (nothing to tune there)."""
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return False
        idle, interval, probes = self.keepalive()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (
            ("TCP_KEEPIDLE", idle),
            ("TCP_KEEPINTVL", interval),
            ("TCP_KEEPCNT", probes),
            # Unacknowledged data (a keepalive probe included) for this long ends the
            # connection: a vanished peer is noticed in seconds, not after minutes of
            # retransmissions.
            ("TCP_USER_TIMEOUT", _ms(self.dead_peer_timeout)),
        ):
            option = getattr(socket, name, None)
            if option is not None:  # Linux has them all; other systems some
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
        return True


def connection_socket(conn: Any) -> Any:
    """The socket under an asyncpg connection.

    asyncpg has no keepalive options of its own (MagicStack/asyncpg#606); its maintainers
    point at the transport's socket, which the connection keeps as `_transport`.
    """
    transport = getattr(conn, "_transport", None)
    return transport.get_extra_info("socket") if transport is not None else None


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
