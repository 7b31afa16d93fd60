"""Configuration: every BACKEND_* variable, parsed and validated in one pass."""

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

from galaxy_backend import settings
from galaxy_backend.cronutil import Schedule, parse_schedule
from galaxy_backend.kernel.durations import parse_duration

ENV_PREFIX = "BACKEND_"
MIN_INTERNAL_TOKEN_LENGTH = 32
MIN_ADMIN_PASSWORD_LENGTH = 12
SECRET_FIELDS = frozenset(
    {"internal_token", "secret_key", "postgres_dsn", "smtp_password", "admin_bootstrap_password"}
)


@dataclass(frozen=True, slots=True)
class Address:
    """A listen or connect address; an empty host means every interface."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_HOST = re.compile(r"^[A-Za-z0-9.\-_]*$")
# Docker's rule for network (and container) names.
_DOCKER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


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


def _schedule(value: Any) -> Any:
    return parse_schedule(value) if isinstance(value, str) else value


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


def _secret_min_length(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < MIN_INTERNAL_TOKEN_LENGTH:
        raise ValueError(f"is shorter than {MIN_INTERNAL_TOKEN_LENGTH} characters")
    return value


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("must not be negative")
    return value


def _public_url(value: str) -> str:
    text = value.strip()
    parts = urlsplit(text)
    # Links in mail headers (List-Unsubscribe) must be plain ASCII without spaces.
    unfit = not text.isascii() or any(ch.isspace() or not ch.isprintable() for ch in text)
    if (
        unfit
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"{value!r} is not an http(s) URL like https://galaxy.example.org")
    return text.rstrip("/")


def _existing_file(value: Path | None) -> Path | None:
    if value is not None and not value.is_file():
        raise ValueError(f"{str(value)!r} is not a readable file")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_positive)]
ListenAddress = Annotated[Address, NoDecode, BeforeValidator(_address)]
CronSchedule = Annotated[Schedule, NoDecode, BeforeValidator(_schedule)]
Networks = Annotated[
    tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...], NoDecode, BeforeValidator(_networks)
]
PositiveInt = Annotated[int, Field(ge=1)]
# A duration that may be 0s (turning the bound it sets off).
NonNegativeDuration = Annotated[
    timedelta, BeforeValidator(_duration), AfterValidator(_not_negative)
]


class Config(BaseSettings):
    """All configuration of one backend process; built once in the CLI, never at import."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    http_addr: ListenAddress = Address("", 8080)
    grpc_push_addr: ListenAddress = Address("", 8081)
    metrics_addr: ListenAddress | None = None
    http_max_body_bytes: PositiveInt = 1 << 20

    postgres_dsn: SecretStr | None = None
    postgres_pool_size: PositiveInt = 10
    postgres_connect_timeout: Duration = timedelta(seconds=30)
    data_dir: Path = Path(".galaxy")

    # Bounds on every wait on the database, the engines and Docker, and how long a
    # background loop may go without a round before readiness says so.
    postgres_acquire_timeout: Duration = timedelta(seconds=5)
    postgres_statement_timeout: Duration = timedelta(seconds=5)
    postgres_dead_peer_timeout: Duration = timedelta(seconds=15)
    loop_deadline: Duration = timedelta(seconds=60)
    runtime_engine_timeout: Duration = timedelta(seconds=30)
    runtime_turn_timeout: Duration = timedelta(minutes=2)
    docker_timeout: Duration = timedelta(seconds=60)

    shutdown_timeout: Duration = timedelta(seconds=30)
    http_shutdown_timeout: Duration = timedelta(seconds=15)
    grpc_push_shutdown_timeout: Duration = timedelta(seconds=15)

    internal_token: Annotated[SecretStr | None, AfterValidator(_secret_min_length)] = None
    secret_key: Annotated[SecretStr | None, AfterValidator(_secret_min_length)] = None
    admin_bootstrap_username: str | None = None
    admin_bootstrap_password: SecretStr | None = None

    auth_code_ttl: Duration = timedelta(minutes=10)
    auth_code_max_attempts: PositiveInt = 5
    auth_email_rate_limit: PositiveInt = 5
    auth_ip_rate_limit: PositiveInt = 30
    auth_ip_guess_limit: PositiveInt = 50
    auth_rate_window: Duration = timedelta(minutes=15)
    session_ttl: Duration = timedelta(days=30)
    admin_session_ttl: Duration = timedelta(hours=12)
    admin_lockout_threshold: PositiveInt = 5
    admin_address_lockout_threshold: PositiveInt = 20
    admin_max_concurrent_logins: PositiveInt = 4
    admin_lockout_duration: Duration = timedelta(minutes=15)

    user_default_tier: str = "free"
    user_default_max_owned_games: PositiveInt = 3
    user_default_max_active_games: PositiveInt = 10

    smtp_addr: ListenAddress | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Galaxy <noreply@galaxy.localhost>"
    smtp_timeout: Duration = timedelta(seconds=30)
    mail_lease: Duration = timedelta(minutes=2)
    mail_max_attempts: PositiveInt = 8
    mail_backoff_min: Duration = timedelta(seconds=10)
    mail_backoff_max: Duration = timedelta(hours=1)

    public_url: Annotated[str, AfterValidator(_public_url)] = "http://localhost:8080"

    notification_max_attempts: PositiveInt = 8
    notification_backoff_min: Duration = timedelta(seconds=10)
    notification_backoff_max: Duration = timedelta(hours=1)
    notification_lease: Duration = timedelta(seconds=30)
    notification_broadcast_batch: Annotated[int, Field(ge=1, le=10_000)] = 1000

    geoip_db_path: Annotated[Path | None, AfterValidator(_existing_file)] = None
    trusted_proxies: Networks = (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )

    lobby_pending_registration_ttl: Duration = timedelta(hours=72)
    lobby_sweep_schedule: CronSchedule = Schedule(text="@every 1m", every=timedelta(minutes=1))

    runtime_driver: Literal["docker", "process"] | None = None
    docker_host: str | None = None
    runtime_worker_pool_size: PositiveInt = 4
    runtime_job_queue_size: PositiveInt = 256
    runtime_reconcile_interval: Duration = timedelta(seconds=30)
    runtime_engine_image: str = "galaxy-engine:latest"
    runtime_docker_network: Annotated[str | None, Field(pattern=_DOCKER_NAME)] = None
    runtime_engine_memory_mb: Annotated[int, Field(ge=16)] = 512
    runtime_engine_cpus: Annotated[float, Field(gt=0.0, le=1024.0)] = 1.0
    runtime_start_timeout: Duration = timedelta(seconds=60)
    runtime_turn_concurrency: Annotated[int, Field(ge=1, le=1000)] = 32
    runtime_health_failures: PositiveInt = 3
    runtime_restart_budget: Annotated[int, Field(ge=0)] = 3
    runtime_finished_retention: Duration = timedelta(hours=24)

    cache_max_entries: PositiveInt = 100_000
    cache_max_age: Duration = timedelta(minutes=10)
    cache_warm_entries: Annotated[int, Field(ge=0)] = 10_000
    cache_bus_heartbeat: Duration = timedelta(seconds=10)

    push_ring_size: Annotated[int, Field(ge=16)] = 65536
    push_batch_max: Annotated[int, Field(ge=1, le=4096)] = 256

    otel_traces_exporter: Literal["otlp", "none", "stdout"] = "otlp"
    otel_metrics_exporter: Literal["otlp", "none", "stdout", "prometheus"] = "otlp"
    otel_traces_sample_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    # --- Exposure: production, abuse limits, listener limits, mail over TLS -----------------
    env: Literal["development", "production"] = "development"
    smtp_tls: Literal["auto", "starttls", "implicit", "none"] = "auto"
    http_max_header_bytes: Annotated[int, Field(ge=1024, le=1 << 20)] = 32 * 1024
    http_header_timeout: Duration = timedelta(seconds=10)
    http_keepalive_timeout: Duration = timedelta(seconds=30)
    http_max_connections: PositiveInt = 2048
    lobby_min_turn_interval: Duration = timedelta(minutes=1)
    runtime_force_turn_cooldown: NonNegativeDuration = timedelta(minutes=5)
    # A player's live orders checks (the editor's), per second and at once; 0: unbounded.
    runtime_orders_check_rate: Annotated[float, Field(ge=0.0, le=1000.0)] = 10.0
    runtime_orders_check_burst: Annotated[int, Field(ge=1, le=1000)] = 10
    runtime_max_engines: PositiveInt | None = None
    runtime_engine_pids_limit: Annotated[int, Field(ge=16)] = 256
    runtime_engine_cpu_seconds: PositiveInt = 3600
    auth_email_daily_limit: PositiveInt = 10
    auth_email_guess_limit: PositiveInt = 10

    # --- Chores: how often the housekeeping runs each -----------------------------------------
    auth_last_seen_flush_interval: Duration = timedelta(seconds=30)
    auth_prune_interval: Duration = timedelta(hours=1)
    admin_prune_interval: Duration = timedelta(hours=1)
    mail_redact_interval: Duration = timedelta(seconds=30)

    # --- The same settings by domain, each handed whole to its builder in wiring -------------
    @property
    def server(self) -> settings.ServerSettings:
        return settings.server_of(self)

    @property
    def postgres(self) -> settings.PostgresSettings:
        return settings.postgres_of(self)

    @property
    def auth(self) -> settings.AuthSettings:
        return settings.auth_of(self)

    @property
    def admin(self) -> settings.AdminSettings:
        return settings.admin_of(self)

    @property
    def user(self) -> settings.UserSettings:
        return settings.user_of(self)

    @property
    def mail(self) -> settings.MailSettings:
        return settings.mail_of(self)

    @property
    def notification(self) -> settings.NotificationSettings:
        return settings.notification_of(self)

    @property
    def lobby(self) -> settings.LobbySettings:
        return settings.lobby_of(self)

    @property
    def runtime(self) -> settings.RuntimeSettings:
        return settings.runtime_of(self)

    @property
    def cache(self) -> settings.CacheSettings:
        return settings.cache_of(self)

    @property
    def push(self) -> settings.PushSettings:
        return settings.push_of(self)

    @property
    def telemetry(self) -> settings.TelemetrySettings:
        return settings.telemetry_of(self)

    @property
    def process(self) -> settings.ProcessSettings:
        return settings.process_of(self)


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
    """Read and validate every BACKEND_* variable; raise ConfigError naming each bad one."""
    try:
        config = Config()
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc)) from None
    except SettingsError as exc:
        raise ConfigError([Problem("BACKEND_*", str(exc))]) from None
    problems = _cross_field_problems(config)
    if problems:
        raise ConfigError(problems)
    return config


def unknown_variables() -> list[str]:
    """BACKEND_* names that match no setting: usually a typo worth a warning."""
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
    for prefix in ("mail", "notification"):
        low = getattr(config, f"{prefix}_backoff_min")
        high = getattr(config, f"{prefix}_backoff_max")
        if low > high:
            problems.append(
                Problem(
                    env_name(f"{prefix}_backoff_min"),
                    f"is longer than {env_name(f'{prefix}_backoff_max')}",
                )
            )
    if (config.admin_bootstrap_username is None) != (config.admin_bootstrap_password is None):
        problems.append(
            Problem(
                "BACKEND_ADMIN_BOOTSTRAP_USERNAME",
                "must be set together with BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
            )
        )
    if (config.smtp_username is None) != (config.smtp_password is None):
        problems.append(
            Problem("BACKEND_SMTP_USERNAME", "must be set together with BACKEND_SMTP_PASSWORD")
        )
    # Imported here: the mail package pulls in asyncpg, which `--help` and `check-config`
    # should not pay for.
    from galaxy_backend.mail.message import Sender  # noqa: PLC0415

    try:
        Sender.parse(config.mail_from)
    except ValueError as exc:
        problems.append(Problem("BACKEND_MAIL_FROM", str(exc)))
    if config.mail_lease < 2 * config.smtp_timeout:
        # A send must end well inside its lease, or another worker could send it too.
        problems.append(
            Problem("BACKEND_MAIL_LEASE", "must be at least twice BACKEND_SMTP_TIMEOUT")
        )
    if config.smtp_addr is not None and config.smtp_addr.port == 0:
        problems.append(Problem("BACKEND_SMTP_ADDR", "needs a port other than 0"))
    if (
        config.admin_bootstrap_password is not None
        and len(config.admin_bootstrap_password.get_secret_value()) < MIN_ADMIN_PASSWORD_LENGTH
    ):
        problems.append(
            Problem(
                "BACKEND_ADMIN_BOOTSTRAP_PASSWORD",
                f"is shorter than {MIN_ADMIN_PASSWORD_LENGTH} characters",
            )
        )
    problems += _bound_problems(config)
    if config.otel_metrics_exporter == "prometheus" and config.metrics_addr is None:
        problems.append(
            Problem("BACKEND_OTEL_METRICS_EXPORTER", "'prometheus' needs BACKEND_METRICS_ADDR")
        )
    problems.extend(_exposure_problems(config))
    return problems


# What production refuses to make up, and why (README, "Production").
_PRODUCTION_REQUIRES = {
    "secret_key": "a generated key would be kept in the database it protects",
    "internal_token": "a generated token would be kept in the database it protects",
    "postgres_dsn": "the embedded PostgreSQL is for development",
    "smtp_addr": "the embedded SMTP sink delivers no mail; name your relay",
}


def _exposure_problems(config: Config) -> list[Problem]:
    problems: list[Problem] = []
    if config.smtp_tls == "none" and config.smtp_username is not None:
        problems.append(
            Problem("BACKEND_SMTP_TLS", "'none' would send the SMTP credentials in plaintext")
        )
    if config.env == "production":
        for field, why in _PRODUCTION_REQUIRES.items():
            if getattr(config, field) is None:
                problems.append(Problem(env_name(field), f"must be set in production: {why}"))
        if config.runtime_driver == "docker" and config.runtime_docker_network is None:
            problems.append(
                Problem(
                    "BACKEND_RUNTIME_DOCKER_NETWORK",
                    "must be set in production with the docker driver: engines on the default"
                    " bridge can reach the internet and every other container",
                )
            )
    return problems


def _bound_problems(config: Config) -> list[Problem]:
    problems: list[Problem] = []
    # A loop's round may wait on a database that stopped answering for this long (an
    # acquire, then a statement and its rollback, each bounded: DatabaseBounds.request_bound,
    # not imported here to keep asyncpg out of `--help`); a shorter deadline would call
    # every slow round a stall.
    round_bound = config.postgres_acquire_timeout + 2 * (
        config.postgres_statement_timeout + timedelta(seconds=1)
    )
    if config.loop_deadline < round_bound:
        problems.append(
            Problem(
                "BACKEND_LOOP_DEADLINE",
                "must be at least BACKEND_POSTGRES_ACQUIRE_TIMEOUT plus twice"
                " (BACKEND_POSTGRES_STATEMENT_TIMEOUT + 1s)",
            )
        )
    if config.runtime_turn_timeout < config.runtime_engine_timeout:
        problems.append(
            Problem(
                "BACKEND_RUNTIME_TURN_TIMEOUT", "is shorter than BACKEND_RUNTIME_ENGINE_TIMEOUT"
            )
        )
    return problems
