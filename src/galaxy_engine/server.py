"""The engine's HTTP/JSON server (docs/engine.md), on the standard library alone.

One lock serialises everything that reads or changes the game, except report reads,
which only open committed (immutable) files. Every route but /healthz needs
`Authorization: Bearer $GALAXY_ENGINE_ADMIN_TOKEN`. Every error is a JSON body
`{"error": {"code", "message", "details"?}}`; an unexpected failure is logged and
answered 500 `internal` without details.
"""

import contextlib
import hmac
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from galaxy_engine.game import EngineError, GameService
from galaxy_engine.report_json import dumps

LOG = logging.getLogger("galaxy_engine.http")
MAX_BODY = 1024 * 1024
IDLE_TIMEOUT = 120.0
# A body refused unread is drained this long (and this much) before the close, so that the
# client reads the answer instead of a reset (a lingering close, as nginx does).
LINGER_SECONDS = 2.0
LINGER_BYTES = 8 * MAX_BODY
JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"


class HttpError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return dumps({"error": error})


def _json(status: int, data: Any) -> Response:
    return Response(status, dumps(data))


_Route = Callable[[list[str], dict[str, list[str]], Callable[[], bytes]], Response]


class EngineApp:
    """Routes requests to the game service; knows HTTP, holds no rules."""

    def __init__(self, service: GameService, token: str) -> None:
        self.service = service
        self._token = token.encode()
        self.lock = threading.Lock()

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), self._token)

    def handle(
        self,
        method: str,
        target: str,
        authorization: str | None,
        read_body: Callable[[], bytes],
    ) -> Response:
        url = urlsplit(target)
        path = url.path
        if path == "/healthz":
            if method != "GET":
                raise HttpError(405, "method_not_allowed", "use GET", headers={"Allow": "GET"})
            return _json(200, {"status": "ok"})
        if not self._authorised(authorization):
            raise HttpError(401, "unauthorized", "a valid bearer token is required")
        parts = [unquote(part) for part in path.split("/")[1:]]
        route, allowed = self._route(parts, method)
        if route is None:
            raise HttpError(404, "not_found", f"no route {path}")
        if method != allowed:
            raise HttpError(405, "method_not_allowed", f"use {allowed}", headers={"Allow": allowed})
        return route(parts, parse_qs(url.query), read_body)

    def _route(self, parts: list[str], method: str) -> tuple[_Route | None, str]:
        if parts == ["admin", "init"]:
            return self._init, "POST"
        if parts == ["admin", "turn"]:
            return self._turn, "POST"
        if parts == ["admin", "status"]:
            return self._status, "GET"
        if len(parts) == 3 and parts[0] == "players" and parts[1] and parts[2] == "orders":
            return (self._sent_orders, "GET") if method == "GET" else (self._orders, "PUT")
        if (
            len(parts) == 4
            and parts[0] == "players"
            and parts[1]
            and parts[2:]
            == [
                "orders",
                "check",
            ]
        ):
            return self._check_orders, "POST"
        if len(parts) == 4 and parts[0] == "players" and parts[1] and parts[2] == "reports":
            return self._report, "GET"
        return None, ""

    @staticmethod
    def _object(read_body: Callable[[], bytes]) -> dict[str, Any]:
        raw = read_body()
        if not raw.strip():
            raise HttpError(400, "malformed_json", "a JSON object body is required")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as problem:
            raise HttpError(400, "malformed_json", f"the body is not JSON: {problem}") from None
        except RecursionError:
            raise HttpError(400, "malformed_json", "the body is nested too deeply") from None
        if not isinstance(data, dict):
            raise HttpError(
                422,
                "validation_error",
                "the body must be a JSON object",
                {"errors": [{"field": "body", "message": "must be an object"}]},
            )
        return data

    def _init(
        self, parts: list[str], query: dict[str, list[str]], read_body: Callable[[], bytes]
    ) -> Response:
        body = self._object(read_body)
        with self.lock:
            return _json(200, self.service.init(body))

    def _turn(
        self, parts: list[str], query: dict[str, list[str]], read_body: Callable[[], bytes]
    ) -> Response:
        body = self._object(read_body)
        turn = body.get("turn")
        if isinstance(turn, bool) or not isinstance(turn, int) or turn < 0:
            raise HttpError(
                422,
                "validation_error",
                "turn must be a non-negative integer",
                {"errors": [{"field": "turn", "message": "must be a non-negative integer"}]},
            )
        with self.lock:
            return Response(200, self.service.run_turn(turn))

    def _status(
        self, parts: list[str], query: dict[str, list[str]], read_body: Callable[[], bytes]
    ) -> Response:
        read_body()
        with self.lock:
            return _json(200, self.service.status())

    def _orders(
        self, parts: list[str], query: dict[str, list[str]], read_body: Callable[[], bytes]
    ) -> Response:
        turn, orders = self._orders_body(read_body)
        with self.lock:
            return _json(200, self.service.submit_orders(parts[1], turn, orders))

    def _check_orders(
        self, parts: list[str], query: dict[str, list[str]], read_body: Callable[[], bytes]
    ) -> Response:
        turn, orders = self._orders_body(read_body)
        with self.lock:
            return _json(200, self.service.check_orders(parts[1], turn, orders))

    def _sent_orders(
        self, parts: list[str], query: dict[str, list[str]], read_body: Callable[[], bytes]
    ) -> Response:
        read_body()
        with self.lock:
            return _json(200, self.service.sent_orders(parts[1]))

    def _orders_body(self, read_body: Callable[[], bytes]) -> tuple[int | None, str]:
        body = self._object(read_body)
        errors = []
        orders = body.get("orders")
        if not isinstance(orders, str):
            errors.append({"field": "orders", "message": "must be a string"})
        turn = body.get("turn")
        if turn is not None and (isinstance(turn, bool) or not isinstance(turn, int)):
            errors.append({"field": "turn", "message": "must be an integer"})
        if errors:
            raise HttpError(422, "validation_error", "invalid orders request", {"errors": errors})
        assert isinstance(orders, str)
        return turn, orders

    def _report(
        self, parts: list[str], query: dict[str, list[str]], read_body: Callable[[], bytes]
    ) -> Response:
        read_body()
        formats = query.get("format", ["json"])
        fmt = formats[-1]
        if fmt not in ("json", "text"):
            raise HttpError(
                422,
                "validation_error",
                "format must be json or text",
                {"errors": [{"field": "format", "message": "must be json or text"}]},
            )
        turn = parts[3]
        # ASCII digits only, and few: int() refuses "²" and strings over 4300 digits.
        if not (turn.isascii() and turn.isdigit()) or len(turn) > 9:
            raise HttpError(404, "unknown_turn", f"there is no report for turn {turn[:20]!r}")
        body = self.service.report(parts[1], int(turn), fmt)
        return Response(200, body, TEXT_TYPE if fmt == "text" else JSON_TYPE)


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    # socketserver's backlog of 5 drops a burst of players' checks (the client's SYN retry
    # is a second or more); the backend's pool opens up to its own limit at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: EngineApp, family: int) -> None:
        self.address_family = family
        self.app = app
        self.stopping = threading.Event()
        self._connections: dict[socket.socket, bool] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            with contextlib.suppress(OSError, AttributeError):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def mark(self, connection: socket.socket, idle: bool) -> None:
        with self._connections_lock:
            self._connections[connection] = idle

    def forget(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)

    def close_idle(self) -> None:
        """Close keep-alive connections waiting for a request; busy ones finish first."""
        with self._connections_lock:
            idle = [c for c, waiting in self._connections.items() if waiting]
        for connection in idle:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOG.warning("connection from %s failed", client_address[0], exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    # Headers and body leave in one write, with no Nagle delay against delayed ACKs.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.mark(self.connection, True)

    unread_body = False

    def finish(self) -> None:
        try:
            super().finish()
            if self.unread_body:
                self._linger()
        finally:
            self.server.forget(self.connection)

    def _linger(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            drained = 0
            while drained < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(64 * 1024)
                if not chunk:
                    return
                drained += len(chunk)

    def parse_request(self) -> bool:
        self.server.mark(self.connection, False)
        return super().parse_request()

    def handle_one_request(self) -> None:
        super().handle_one_request()
        if self.server.stopping.is_set():
            self.close_connection = True
        self.server.mark(self.connection, True)

    def version_string(self) -> str:
        return "galaxy-engine"

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug(format, *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors found by http.server (bad request line, unknown method...)."""
        if code == 501:
            code, error_code = 405, "method_not_allowed"
        else:
            error_code = "bad_request" if code < 500 else "internal"
        self.close_connection = True
        self._send(Response(code, error_body(error_code, message or "bad request"), close=True))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise HttpError(411, "length_required", "send the body with a Content-Length")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        digits = length_header.strip()
        # ASCII digits only: int() would also take "+5" or "1_0".
        if not (digits.isascii() and digits.isdigit()):
            self.close_connection = True
            raise HttpError(400, "bad_request", "invalid Content-Length")
        significant = digits.lstrip("0") or "0"
        if len(significant) > len(str(MAX_BODY)) or int(significant) > MAX_BODY:
            self.close_connection = True
            self.unread_body = True
            raise HttpError(413, "payload_too_large", f"the body is over {MAX_BODY} bytes")
        length = int(significant)
        data = self.rfile.read(length)
        if len(data) != length:
            self.close_connection = True
            raise HttpError(400, "bad_request", "the body ended early")
        return data

    def _dispatch(self) -> None:
        started = time.perf_counter()
        body_read = False

        def read_body() -> bytes:
            nonlocal body_read
            if body_read:
                return b""
            body_read = True
            return self._read_body()

        try:
            response = self.server.app.handle(
                self.command, self.path, self.headers.get("Authorization"), read_body
            )
        except HttpError as problem:
            response = Response(
                problem.status,
                error_body(problem.code, problem.message, problem.details),
                headers=problem.headers,
            )
        except EngineError as problem:
            response = Response(
                problem.status, error_body(problem.code, problem.message, problem.details)
            )
        except Exception:
            LOG.exception("%s %s failed", self.command, urlsplit(self.path).path)
            response = Response(500, error_body("internal", "internal error"))
        if not body_read:
            try:
                read_body()
            except HttpError:
                response.close = True
        self._send(response)
        LOG.info(
            "%s %s %d %.1fms",
            self.command,
            urlsplit(self.path).path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )

    def _send(self, response: Response) -> None:
        if response.close:
            self.close_connection = True
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(response.body)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch


def make_server(app: EngineApp, host: str | None, port: int) -> _Server:
    """Listen on `host` (default: every address, IPv6 and IPv4 when the host has IPv6)."""
    if host is None:
        try:
            return _Server(("::", port), app, socket.AF_INET6)
        except OSError:
            return _Server(("0.0.0.0", port), app, socket.AF_INET)  # noqa: S104 - all interfaces
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return _Server((host, port), app, family)


def run(app: EngineApp, host: str | None, port: int) -> int:
    """Serve until SIGTERM or SIGINT; let requests in flight finish; return 0."""
    server = make_server(app, host, port)
    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True
    )
    thread.start()
    bound = server.server_address
    LOG.info("listening on %s port %d", bound[0], bound[1])
    try:
        while not stop.wait(0.2):
            pass
    finally:
        LOG.info("stopping: finishing requests in flight")
        server.stopping.set()
        server.shutdown()
        closed = threading.Event()

        def keep_closing_idle() -> None:
            while True:
                server.close_idle()
                if closed.wait(0.1):
                    return

        closer = threading.Thread(target=keep_closing_idle, name="close-idle", daemon=True)
        closer.start()
        server.server_close()
        closed.set()
        closer.join()
        thread.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        LOG.info("stopped")
    return 0
