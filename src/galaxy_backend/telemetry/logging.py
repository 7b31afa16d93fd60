"""structlog set-up: JSON or console lines on stderr, stdlib logs routed through the same chain."""

import logging
import sys
from contextvars import ContextVar, Token
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

from galaxy_backend.telemetry.trace_fields import trace_fields_from_context

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["json", "console"]

# Keys whose values are secrets; a defensive net under the rule that secrets are never logged.
_SECRET_KEYS = frozenset(
    {"token", "password", "code", "authorization", "secret", "dsn", "cookie", "internal_token"}
)
_NOISY_LOGGERS = {
    "uvicorn.access": logging.WARNING,
    "uvicorn.error": logging.WARNING,
    "asyncio": logging.WARNING,
    "pgserver": logging.WARNING,
    # aiosmtpd (the embedded sink) logs every connection at info.
    "mail.log": logging.WARNING,
}


# The request a log line is written in; set by the HTTP edge for each request's task.
_request_id: ContextVar[str | None] = ContextVar("galaxy_request_id", default=None)


def bind_request_id(request_id: str) -> Token[str | None]:
    """Every line logged from here on in this context carries `request_id`."""
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def _add_trace_fields(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    request_id = _request_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    event.update(trace_fields_from_context())
    return event


def _redact_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for key in _SECRET_KEYS.intersection(event):
        event[key] = "[redacted]"
    return event


def _orjson_dumps(value: Any, **_: Any) -> bytes:
    return orjson.dumps(value, default=str)


def configure_logging(level: LogLevel, fmt: LogFormat, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger once per process, at start-up."""
    out = stream or sys.stderr
    numeric = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_fields,
        _redact_secrets,
    ]
    renderer: Processor
    if fmt == "json":
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        logger_factory: Any = structlog.BytesLoggerFactory(out.buffer)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
        logger_factory = structlog.PrintLoggerFactory(out)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )

    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _text_renderer(renderer) if fmt == "json" else renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    logging.captureWarnings(True)
    for name, floor in _NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, numeric))


def _text_renderer(renderer: Processor) -> Processor:
    # The stdlib handler writes text, while the JSON renderer returns bytes.
    def render(logger: WrappedLogger, name: str, event: EventDict) -> str:
        rendered = renderer(logger, name, event)
        return rendered.decode() if isinstance(rendered, bytes) else str(rendered)

    return render


def get_logger(name: str) -> FilteringBoundLogger:
    """A structlog logger named after its module; cheap to create, configured lazily."""
    logger: FilteringBoundLogger = structlog.get_logger(module=name)
    return logger
