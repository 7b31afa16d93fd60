"""Configuration by domain: the flat BACKEND_* fields of `Config` (the contract) grouped, so
each builder in wiring is handed its domain's settings whole (`config.mail`, ...)."""

from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from galaxy_backend.cronutil import Schedule

if TYPE_CHECKING:
    from galaxy_backend.config import Address, Config


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


@dataclass(frozen=True, slots=True)
class ServerSettings:
    http_addr: "Address"
    grpc_push_addr: "Address"
    metrics_addr: "Address | None"
    max_body_bytes: int
    max_header_bytes: int
    header_timeout: timedelta
    keepalive_timeout: timedelta
    max_connections: int
    http_shutdown_timeout: timedelta
    grpc_push_shutdown_timeout: timedelta
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...]


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    dsn: str | None
    pool_size: int
    connect_timeout: timedelta
    acquire_timeout: timedelta
    statement_timeout: timedelta
    dead_peer_timeout: timedelta


@dataclass(frozen=True, slots=True)
class AuthSettings:
    code_ttl: timedelta
    code_max_attempts: int
    email_rate_limit: int
    ip_rate_limit: int
    ip_guess_limit: int
    rate_window: timedelta
    session_ttl: timedelta
    email_daily_limit: int
    email_guess_limit: int
    last_seen_flush_interval: timedelta
    prune_interval: timedelta


@dataclass(frozen=True, slots=True)
class AdminSettings:
    session_ttl: timedelta
    lockout_threshold: int
    address_lockout_threshold: int
    max_concurrent_logins: int
    lockout_duration: timedelta
    bootstrap_username: str | None
    bootstrap_password: str | None
    prune_interval: timedelta


@dataclass(frozen=True, slots=True)
class UserSettings:
    default_tier: str
    default_max_owned_games: int
    default_max_active_games: int


@dataclass(frozen=True, slots=True)
class MailSettings:
    smtp_addr: "Address | None"
    smtp_username: str | None
    smtp_password: str | None
    smtp_tls: Literal["auto", "starttls", "implicit", "none"]
    smtp_timeout: timedelta
    mail_from: str
    lease: timedelta
    max_attempts: int
    backoff_min: timedelta
    backoff_max: timedelta
    redact_interval: timedelta


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    public_url: str
    max_attempts: int
    backoff_min: timedelta
    backoff_max: timedelta
    lease: timedelta
    broadcast_batch: int


@dataclass(frozen=True, slots=True)
class LobbySettings:
    pending_registration_ttl: timedelta
    sweep_schedule: Schedule
    min_turn_interval: timedelta


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    driver: Literal["docker", "process"] | None
    docker_host: str | None
    docker_timeout: timedelta
    docker_network: str | None
    worker_pool_size: int
    job_queue_size: int
    reconcile_interval: timedelta
    engine_image: str
    engine_timeout: timedelta
    engine_memory_mb: int
    engine_cpus: float
    engine_pids_limit: int
    engine_cpu_seconds: int
    start_timeout: timedelta
    turn_timeout: timedelta
    turn_concurrency: int
    health_failures: int
    restart_budget: int
    finished_retention: timedelta
    force_turn_cooldown: timedelta
    max_engines: int | None
    orders_check_rate: float
    orders_check_burst: int


@dataclass(frozen=True, slots=True)
class CacheSettings:
    max_entries: int
    max_age: timedelta
    warm_entries: int
    bus_heartbeat: timedelta


@dataclass(frozen=True, slots=True)
class PushSettings:
    ring_size: int
    batch_max: int


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    traces_exporter: Literal["otlp", "none", "stdout"]
    metrics_exporter: Literal["otlp", "none", "stdout", "prometheus"]
    traces_sample_ratio: float
    log_level: Literal["debug", "info", "warning", "error"]
    log_format: Literal["json", "console"]


@dataclass(frozen=True, slots=True)
class ProcessSettings:
    """What belongs to the process as a whole rather than to one domain."""

    env: Literal["development", "production"]
    data_dir: Path
    shutdown_timeout: timedelta
    loop_deadline: timedelta
    internal_token: str | None
    secret_key: str | None
    geoip_db_path: Path | None


def server_of(c: "Config") -> ServerSettings:
    return ServerSettings(
        http_addr=c.http_addr,
        grpc_push_addr=c.grpc_push_addr,
        metrics_addr=c.metrics_addr,
        max_body_bytes=c.http_max_body_bytes,
        max_header_bytes=c.http_max_header_bytes,
        header_timeout=c.http_header_timeout,
        keepalive_timeout=c.http_keepalive_timeout,
        max_connections=c.http_max_connections,
        http_shutdown_timeout=c.http_shutdown_timeout,
        grpc_push_shutdown_timeout=c.grpc_push_shutdown_timeout,
        trusted_proxies=c.trusted_proxies,
    )


def postgres_of(c: "Config") -> PostgresSettings:
    return PostgresSettings(
        dsn=_secret(c.postgres_dsn),
        pool_size=c.postgres_pool_size,
        connect_timeout=c.postgres_connect_timeout,
        acquire_timeout=c.postgres_acquire_timeout,
        statement_timeout=c.postgres_statement_timeout,
        dead_peer_timeout=c.postgres_dead_peer_timeout,
    )


def auth_of(c: "Config") -> AuthSettings:
    return AuthSettings(
        code_ttl=c.auth_code_ttl,
        code_max_attempts=c.auth_code_max_attempts,
        email_rate_limit=c.auth_email_rate_limit,
        ip_rate_limit=c.auth_ip_rate_limit,
        ip_guess_limit=c.auth_ip_guess_limit,
        rate_window=c.auth_rate_window,
        session_ttl=c.session_ttl,
        email_daily_limit=c.auth_email_daily_limit,
        email_guess_limit=c.auth_email_guess_limit,
        last_seen_flush_interval=c.auth_last_seen_flush_interval,
        prune_interval=c.auth_prune_interval,
    )


def admin_of(c: "Config") -> AdminSettings:
    return AdminSettings(
        session_ttl=c.admin_session_ttl,
        lockout_threshold=c.admin_lockout_threshold,
        address_lockout_threshold=c.admin_address_lockout_threshold,
        max_concurrent_logins=c.admin_max_concurrent_logins,
        lockout_duration=c.admin_lockout_duration,
        bootstrap_username=c.admin_bootstrap_username,
        bootstrap_password=_secret(c.admin_bootstrap_password),
        prune_interval=c.admin_prune_interval,
    )


def user_of(c: "Config") -> UserSettings:
    return UserSettings(
        default_tier=c.user_default_tier,
        default_max_owned_games=c.user_default_max_owned_games,
        default_max_active_games=c.user_default_max_active_games,
    )


def mail_of(c: "Config") -> MailSettings:
    return MailSettings(
        smtp_addr=c.smtp_addr,
        smtp_username=c.smtp_username,
        smtp_password=_secret(c.smtp_password),
        smtp_tls=c.smtp_tls,
        smtp_timeout=c.smtp_timeout,
        mail_from=c.mail_from,
        lease=c.mail_lease,
        max_attempts=c.mail_max_attempts,
        backoff_min=c.mail_backoff_min,
        backoff_max=c.mail_backoff_max,
        redact_interval=c.mail_redact_interval,
    )


def notification_of(c: "Config") -> NotificationSettings:
    return NotificationSettings(
        public_url=c.public_url,
        max_attempts=c.notification_max_attempts,
        backoff_min=c.notification_backoff_min,
        backoff_max=c.notification_backoff_max,
        lease=c.notification_lease,
        broadcast_batch=c.notification_broadcast_batch,
    )


def lobby_of(c: "Config") -> LobbySettings:
    return LobbySettings(
        pending_registration_ttl=c.lobby_pending_registration_ttl,
        sweep_schedule=c.lobby_sweep_schedule,
        min_turn_interval=c.lobby_min_turn_interval,
    )


def runtime_of(c: "Config") -> RuntimeSettings:
    return RuntimeSettings(
        driver=c.runtime_driver,
        docker_host=c.docker_host,
        docker_timeout=c.docker_timeout,
        docker_network=c.runtime_docker_network,
        worker_pool_size=c.runtime_worker_pool_size,
        job_queue_size=c.runtime_job_queue_size,
        reconcile_interval=c.runtime_reconcile_interval,
        engine_image=c.runtime_engine_image,
        engine_timeout=c.runtime_engine_timeout,
        engine_memory_mb=c.runtime_engine_memory_mb,
        engine_cpus=c.runtime_engine_cpus,
        engine_pids_limit=c.runtime_engine_pids_limit,
        engine_cpu_seconds=c.runtime_engine_cpu_seconds,
        start_timeout=c.runtime_start_timeout,
        turn_timeout=c.runtime_turn_timeout,
        turn_concurrency=c.runtime_turn_concurrency,
        health_failures=c.runtime_health_failures,
        restart_budget=c.runtime_restart_budget,
        finished_retention=c.runtime_finished_retention,
        force_turn_cooldown=c.runtime_force_turn_cooldown,
        max_engines=c.runtime_max_engines,
        orders_check_rate=c.runtime_orders_check_rate,
        orders_check_burst=c.runtime_orders_check_burst,
    )


def cache_of(c: "Config") -> CacheSettings:
    return CacheSettings(
        max_entries=c.cache_max_entries,
        max_age=c.cache_max_age,
        warm_entries=c.cache_warm_entries,
        bus_heartbeat=c.cache_bus_heartbeat,
    )


def push_of(c: "Config") -> PushSettings:
    return PushSettings(ring_size=c.push_ring_size, batch_max=c.push_batch_max)


def telemetry_of(c: "Config") -> TelemetrySettings:
    return TelemetrySettings(
        traces_exporter=c.otel_traces_exporter,
        metrics_exporter=c.otel_metrics_exporter,
        traces_sample_ratio=c.otel_traces_sample_ratio,
        log_level=c.log_level,
        log_format=c.log_format,
    )


def process_of(c: "Config") -> ProcessSettings:
    return ProcessSettings(
        env=c.env,
        data_dir=c.data_dir,
        shutdown_timeout=c.shutdown_timeout,
        loop_deadline=c.loop_deadline,
        internal_token=_secret(c.internal_token),
        secret_key=_secret(c.secret_key),
        geoip_db_path=c.geoip_db_path,
    )
