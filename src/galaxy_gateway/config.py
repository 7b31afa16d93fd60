"""Configuration: every GATEWAY_* variable, parsed and validated in one pass."""

import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from galaxy_gateway.durations import parse_duration

ENV_PREFIX = "GATEWAY_"
MIN_INTERNAL_TOKEN_LENGTH = 32
# Where the backend keeps its generated internal token, for a gateway on the same host.
TOKEN_FILE_NAME = "internal-token"  # noqa: S105 - a file name
SECRET_FIELDS = frozenset({"internal_token"})


@dataclass(frozen=True, slots=True)
class Address:
    """A listen or connect address; an empty host means every interface."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_HOST = re.compile(r"^[A-Za-z0-9.\-_]*$")


def parse_address(text: str) -> Address:
    """Parse `host:port`, `[v6]:port` or `:port`."""
    raw = text.strip()
    host, sep, port_text = raw.rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} is not host:port or :port")
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(f"{text!r} has an unclosed '[' in its host")
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{text!r} has an invalid IPv6 host") from None
    elif not _HOST.match(host):
        raise ValueError(f"{text!r} has an invalid host")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r} has a port outside 0..65535")
    return Address(host=host, port=int(port_text))


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


def _address(value: Any) -> Any:
    return parse_address(value) if isinstance(value, str) else value


def _push_addresses(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    addresses = tuple(parse_address(part) for part in value.split(",") if part.strip())
    if not addresses:
        raise ValueError("needs at least one host:port")
    for address in addresses:
        if not address.host or address.port == 0:
            raise ValueError(f"{str(address)!r} needs a host and a port other than 0")
    if len(set(addresses)) != len(addresses):
        raise ValueError("names a replica twice")
    return addresses


def _networks(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _backend_url(value: str) -> str:
    text = value.strip()
    parts = urlsplit(text)
    if (
        parts.scheme != "http"
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        # TLS inside the platform's network is the network's job (a mesh or a tunnel).
        raise ValueError(f"{value!r} is not an http URL like http://backend:8080")
    return text.rstrip("/")


def _secret_min_length(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < MIN_INTERNAL_TOKEN_LENGTH:
        raise ValueError(f"is shorter than {MIN_INTERNAL_TOKEN_LENGTH} characters")
    return value


def _default_token_file() -> Path:
    # The backend's data directory, as `make run` and a same-host development set-up share it.
    return Path(os.environ.get("BACKEND_DATA_DIR") or ".galaxy") / TOKEN_FILE_NAME


Duration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_positive)]
ListenAddress = Annotated[Address, NoDecode, BeforeValidator(_address)]
PushAddresses = Annotated[tuple[Address, ...], NoDecode, BeforeValidator(_push_addresses)]
Networks = Annotated[
    tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...], NoDecode, BeforeValidator(_networks)
]
PositiveInt = Annotated[int, Field(ge=1)]


class Config(BaseSettings):
    """All configuration of one gateway process; built once in the CLI, never at import."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    http_addr: ListenAddress = Address("", 8000)
    metrics_addr: ListenAddress | None = None
    backend_url: Annotated[str, AfterValidator(_backend_url)] = "http://127.0.0.1:8080"
    backend_push_addrs: PushAddresses = (Address("127.0.0.1", 8081),)
    internal_token: Annotated[SecretStr | None, AfterValidator(_secret_min_length)] = None
    internal_token_file: Path = Field(default_factory=_default_token_file)
    trusted_proxies: Networks = (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.:\-]+$")] = Field(
        default_factory=lambda: os.uname().nodename or "gateway"
    )

    shutdown_timeout: Duration = timedelta(seconds=30)
    http_shutdown_timeout: Duration = timedelta(seconds=15)

    backend_timeout: Duration = timedelta(seconds=30)
    backend_connect_timeout: Duration = timedelta(seconds=2)
    backend_max_connections: PositiveInt = 512

    http_max_connections: PositiveInt = 16384
    http_max_header_bytes: Annotated[int, Field(ge=1024, le=1 << 20)] = 16384
    http_header_timeout: Duration = timedelta(seconds=10)
    http_body_timeout: Duration = timedelta(seconds=30)
    http_keepalive_timeout: Duration = timedelta(seconds=15)
    http_max_body_bytes: PositiveInt = 1 << 20

    ws_auth_timeout: Duration = timedelta(seconds=10)
    ws_queue_size: PositiveInt = 256
    ws_ping_interval: Duration = timedelta(seconds=20)
    ws_ping_timeout: Duration = timedelta(seconds=20)
    ws_max_per_session: PositiveInt = 8
    ws_max_per_address: PositiveInt = 64
    ws_max_message_bytes: Annotated[int, Field(ge=256, le=1 << 20)] = 4096

    push_reconnect_min: Duration = timedelta(milliseconds=100)
    push_reconnect_max: Duration = timedelta(seconds=5)

    otel_traces_exporter: Literal["otlp", "none", "stdout"] = "otlp"
    otel_metrics_exporter: Literal["otlp", "none", "stdout", "prometheus"] = "otlp"
    otel_traces_sample_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"


@dataclass(frozen=True, slots=True)
class Problem:
    """One invalid variable and why."""

    variable: str
    reason: str


class ConfigError(Exception):
    """Raised with every problem found; its text names each variable once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [f"  {p.variable}: {p.reason}" for p in problems]
        super().__init__("invalid configuration:\n" + "\n".join(lines))


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def known_variables() -> frozenset[str]:
    return frozenset(env_name(name) for name in Config.model_fields)


def load_from_env() -> Config:
    """Read and validate every GATEWAY_* variable; raise ConfigError naming each bad one."""
    try:
        config = Config()
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc)) from None
    except SettingsError as exc:
        raise ConfigError([Problem("GATEWAY_*", str(exc))]) from None
    problems = _cross_field_problems(config)
    if problems:
        raise ConfigError(problems)
    return config


def unknown_variables() -> list[str]:
    """GATEWAY_* names that match no setting: usually a typo worth a warning."""
    known = known_variables()
    return sorted(
        n for n in os.environ if n.upper().startswith(ENV_PREFIX) and n.upper() not in known
    )


def _problems_from(exc: ValidationError) -> list[Problem]:
    problems: dict[str, str] = {}
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "?"
        reason = error["msg"].removeprefix("Value error, ")
        reason = reason[:1].lower() + reason[1:]
        problems.setdefault(env_name(field), reason)
    return [Problem(variable, reason) for variable, reason in sorted(problems.items())]


def _cross_field_problems(config: Config) -> list[Problem]:
    problems: list[Problem] = []
    if config.push_reconnect_min > config.push_reconnect_max:
        problems.append(
            Problem("GATEWAY_PUSH_RECONNECT_MIN", "is longer than GATEWAY_PUSH_RECONNECT_MAX")
        )
    if config.otel_metrics_exporter == "prometheus" and config.metrics_addr is None:
        problems.append(
            Problem("GATEWAY_OTEL_METRICS_EXPORTER", "'prometheus' needs GATEWAY_METRICS_ADDR")
        )
    if config.ws_max_per_address < config.ws_max_per_session:
        problems.append(
            Problem("GATEWAY_WS_MAX_PER_ADDRESS", "is smaller than GATEWAY_WS_MAX_PER_SESSION")
        )
    return problems
