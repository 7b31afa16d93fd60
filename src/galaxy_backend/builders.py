"""The builders wiring composes: one per domain (or group of them), each handed its settings whole.

The CLI's one-off commands use the same builders (a database, the operators' service)."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from opentelemetry.trace import Tracer

from galaxy_backend import __version__
from galaxy_backend.adapters import (
    NotifierAdapter,
    RuntimeControlAdapter,
    SessionRevokerAdapter,
)
from galaxy_backend.admin.passwords import Passwords
from galaxy_backend.admin.service import AdminBootstrap, AdminService
from galaxy_backend.app import Component
from galaxy_backend.auth.service import AuthService
from galaxy_backend.config import Config
from galaxy_backend.geo.reader import GeoReader
from galaxy_backend.geo.service import GeoService
from galaxy_backend.kernel.cache import CacheLimits
from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.kernel.housekeeping import Chore, Housekeeping
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.kernel.ratelimit import TokenBuckets
from galaxy_backend.kernel.server_secrets import ServerSecrets
from galaxy_backend.lobby.service import LobbyService
from galaxy_backend.lobby.sweeper import Sweeper
from galaxy_backend.mail.service import MailService
from galaxy_backend.mail.sink import SmtpSink
from galaxy_backend.mail.worker import MailWorker
from galaxy_backend.notification.service import NotificationService
from galaxy_backend.notification.unsubscribe import UnsubscribeTokens
from galaxy_backend.notification.worker import NotificationWorker
from galaxy_backend.postgres import Database, Migrations
from galaxy_backend.postgres.bounds import DatabaseBounds
from galaxy_backend.push import PushService
from galaxy_backend.runtime.clients import RuntimeClients
from galaxy_backend.runtime.drivers.base import Limits
from galaxy_backend.runtime.drivers.selection import choose_driver
from galaxy_backend.runtime.engine_client import EngineClient, EngineTokens
from galaxy_backend.runtime.jobqueue import JobQueue
from galaxy_backend.runtime.reconciler import Reconciler
from galaxy_backend.runtime.scheduler import TurnScheduler
from galaxy_backend.runtime.service import RuntimeService
from galaxy_backend.runtime.workers import RuntimeWorkers
from galaxy_backend.settings import (
    AdminSettings,
    AuthSettings,
    MailSettings,
    NotificationSettings,
    PostgresSettings,
    RuntimeSettings,
    TelemetrySettings,
)
from galaxy_backend.telemetry import TelemetryRuntime
from galaxy_backend.user.models import Entitlements
from galaxy_backend.user.service import UserService

# Spent sign-in codes, guess counts and operators' login failures are kept this long.
PRUNE_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Foundation:
    """What every domain stands on: telemetry, the pool, liveness, secrets, push, the bus."""

    telemetry: TelemetryRuntime
    database: Database
    migrations: Migrations
    liveness: Liveness
    secrets: ServerSecrets
    push: PushService
    bus: CacheBus
    cache_limits: CacheLimits


@dataclass(frozen=True, slots=True)
class Identity:
    """Players and operators: geo, users, mail, auth, admin (and the first admin)."""

    geo: GeoService
    users: UserService
    mail: MailService
    auth: AuthService
    admin: AdminService
    bootstrap: AdminBootstrap


@dataclass(frozen=True, slots=True)
class Runtime:
    clients: RuntimeClients
    service: RuntimeService
    workers: RuntimeWorkers
    scheduler: TurnScheduler
    reconciler: Reconciler


def database_bounds(settings: PostgresSettings) -> DatabaseBounds:
    return DatabaseBounds(
        acquire_timeout=settings.acquire_timeout.total_seconds(),
        statement_timeout=settings.statement_timeout.total_seconds(),
        dead_peer_timeout=settings.dead_peer_timeout.total_seconds(),
    )


def build_telemetry(settings: TelemetrySettings, *, prometheus: bool) -> TelemetryRuntime:
    return TelemetryRuntime(
        traces_exporter=settings.traces_exporter,
        metrics_exporter=settings.metrics_exporter,
        sample_ratio=settings.traces_sample_ratio,
        prometheus=prometheus,
        service_version=__version__,
    )


def build_database(settings: PostgresSettings, data_dir: Path) -> Database:
    return Database(
        dsn=settings.dsn,
        data_dir=data_dir,
        pool_size=settings.pool_size,
        connect_timeout=settings.connect_timeout.total_seconds(),
        bounds=database_bounds(settings),
    )


def build_foundation(config: Config) -> Foundation:
    """Steps 2-5 of the seed: telemetry, the pool and migrations, secrets, push, the bus."""
    process = config.process
    telemetry = build_telemetry(config.telemetry, prometheus=config.metrics_addr is not None)
    database = build_database(config.postgres, process.data_dir)
    # Every background loop reports its rounds here; /readyz names any that is late.
    liveness = Liveness(
        deadline=process.loop_deadline.total_seconds(),
        listen_probe=database_bounds(config.postgres).dead_peer_timeout / 3,
    )
    liveness.observe(telemetry.meter("galaxy_backend.kernel.liveness"))
    cache = config.cache
    return Foundation(
        telemetry=telemetry,
        database=database,
        migrations=Migrations(database),
        liveness=liveness,
        secrets=ServerSecrets(
            database=database,
            data_dir=process.data_dir,
            secret_key=process.secret_key,
            internal_token=process.internal_token,
        ),
        push=PushService(
            ring_size=config.push.ring_size,
            batch_max=config.push.batch_max,
            meter=telemetry.meter("galaxy_backend.push"),
        ),
        bus=CacheBus(
            dsn_provider=database.connect,
            heartbeat=cache.bus_heartbeat.total_seconds(),
            liveness=liveness,
            meter=telemetry.meter("galaxy_backend.kernel.cachebus"),
        ),
        cache_limits=CacheLimits(
            max_entries=cache.max_entries, max_age=cache.max_age, warm_entries=cache.warm_entries
        ),
    )


def build_admin(
    settings: AdminSettings,
    database: Database,
    bus: CacheBus,
    cache_limits: CacheLimits | None = None,
) -> AdminService:
    """The operators' service, for `serve` and for the CLI's `admin` commands alike."""
    return AdminService(
        database=database,
        bus=bus,
        passwords=Passwords(max_concurrent=settings.max_concurrent_logins),
        session_ttl=settings.session_ttl,
        lockout_threshold=settings.lockout_threshold,
        address_lockout_threshold=settings.address_lockout_threshold,
        lockout_duration=settings.lockout_duration,
        cache_limits=cache_limits,
    )


def build_auth(
    settings: AuthSettings, base: Foundation, users: UserService, mail: MailService, geo: GeoService
) -> AuthService:
    return AuthService(
        database=base.database,
        users=users,
        mail=mail,
        push=base.push,
        geo=geo,
        bus=base.bus,
        secret_key=lambda: base.secrets.secret_key,
        code_ttl=settings.code_ttl,
        code_max_attempts=settings.code_max_attempts,
        email_rate_limit=settings.email_rate_limit,
        ip_rate_limit=settings.ip_rate_limit,
        ip_guess_limit=settings.ip_guess_limit,
        rate_window=settings.rate_window,
        session_ttl=settings.session_ttl,
        email_daily_limit=settings.email_daily_limit,
        email_guess_limit=settings.email_guess_limit,
        cache_limits=base.cache_limits,
    )


def build_identity(config: Config, base: Foundation, notifier: NotifierAdapter) -> Identity:
    """Step 6, first half: geo -> user -> mail -> auth -> admin; auth <-> user by adapter."""
    geo = GeoService(database=base.database, reader=GeoReader.open(config.process.geoip_db_path))
    revoker = SessionRevokerAdapter()
    user = config.user
    users = UserService(
        database=base.database,
        bus=base.bus,
        revoker=revoker,
        notifier=notifier,
        defaults=Entitlements(
            tier=user.default_tier,
            max_owned_games=user.default_max_owned_games,
            max_active_games=user.default_max_active_games,
        ),
        cache_limits=base.cache_limits,
    )
    mail = MailService(database=base.database)
    auth = build_auth(config.auth, base, users, mail, geo)
    revoker.patch(auth)
    admin_settings = config.admin
    admin = build_admin(admin_settings, base.database, base.bus, base.cache_limits)
    bootstrap = AdminBootstrap(
        admin, admin_settings.bootstrap_username, admin_settings.bootstrap_password
    )
    return Identity(geo=geo, users=users, mail=mail, auth=auth, admin=admin, bootstrap=bootstrap)


def build_lobby(
    config: Config,
    base: Foundation,
    users: UserService,
    notifier: NotifierAdapter,
    runtime: RuntimeControlAdapter,
) -> tuple[LobbyService, Sweeper]:
    """The lobby reaches notification and runtime through adapters: both are built later
    (and the runtime calls back into the lobby). Unpatched, notices go nowhere and a
    started game waits in `starting`."""
    settings = config.lobby
    lobby = LobbyService(
        database=base.database,
        bus=base.bus,
        push=base.push,
        notifier=notifier,
        runtime=runtime,
        users=users,
        pending_registration_ttl=settings.pending_registration_ttl,
        min_turn_interval=settings.min_turn_interval,
        cache_limits=base.cache_limits,
    )
    return lobby, Sweeper(lobby.context, settings.sweep_schedule, liveness=base.liveness)


def build_runtime_clients(
    settings: RuntimeSettings, data_dir: Path, tokens: EngineTokens, tracer: Tracer
) -> RuntimeClients:
    """The engine's HTTP client and the driver, chosen (docker or process) at start."""
    return RuntimeClients(
        engine=EngineClient(tokens, timeout=settings.engine_timeout.total_seconds()),
        choose=lambda: choose_driver(
            driver=settings.driver,
            docker_host=settings.docker_host,
            docker_network=settings.docker_network,
            data_dir=data_dir,
            tracer=tracer,
            docker_timeout=settings.docker_timeout.total_seconds(),
        ),
    )


def build_runtime(
    settings: RuntimeSettings,
    data_dir: Path,
    base: Foundation,
    lobby: LobbyService,
    notifier: NotifierAdapter,
) -> Runtime:
    """Engines under the driver chosen at start; it reports back to the lobby directly."""
    telemetry, database, liveness = base.telemetry, base.database, base.liveness
    tracer, meter = (
        telemetry.tracer("galaxy_backend.runtime"),
        telemetry.meter("galaxy_backend.runtime"),
    )
    engine_tokens = EngineTokens(lambda: base.secrets.secret_key)
    clients = build_runtime_clients(settings, data_dir, engine_tokens, tracer)
    service = RuntimeService(
        database=database,
        engine=clients.engine,
        queue=JobQueue(settings.job_queue_size),
        lobby=lobby,
        notifier=notifier,
        games=lobby,
        driver_name=clients.driver_name,
        default_image=settings.engine_image,
        finished_retention=settings.finished_retention,
        force_turn_cooldown=settings.force_turn_cooldown,
        orders_check_limit=TokenBuckets.optional(
            rate=settings.orders_check_rate, burst=settings.orders_check_burst, what="orders checks"
        ),
    )
    workers = RuntimeWorkers(
        database=database,
        service=service,
        clients=clients,
        engine=clients.engine,
        tokens=engine_tokens,
        pool_size=settings.worker_pool_size,
        limits=Limits(
            memory_bytes=settings.engine_memory_mb * 1024 * 1024,
            cpus=settings.engine_cpus,
            pids=settings.engine_pids_limit,
            cpu_seconds=settings.engine_cpu_seconds,
        ),
        start_timeout=settings.start_timeout,
        max_engines=settings.max_engines,
        tracer=tracer,
        meter=meter,
        liveness=liveness,
    )
    scheduler = TurnScheduler(
        database=database,
        service=service,
        engine=clients.engine,
        concurrency=settings.turn_concurrency,
        turn_timeout=settings.turn_timeout,
        tracer=tracer,
        meter=meter,
        liveness=liveness,
    )
    reconciler = Reconciler(
        database=database,
        service=service,
        clients=clients,
        engine=clients.engine,
        interval=settings.reconcile_interval,
        health_failures=settings.health_failures,
        restart_budget=settings.restart_budget,
        meter=meter,
        liveness=liveness,
    )
    return Runtime(
        clients=clients,
        service=service,
        workers=workers,
        scheduler=scheduler,
        reconciler=reconciler,
    )


def build_mail_delivery(
    settings: MailSettings, data_dir: Path, base: Foundation
) -> list[Component]:
    """The mail worker, after the embedded SMTP sink it sends to when no relay is configured."""
    sink = None
    if settings.smtp_addr is None:
        sink = SmtpSink(host="127.0.0.1", port=0, directory=data_dir / "mail")
    relay = settings.smtp_addr
    worker = MailWorker(
        database=base.database,
        smtp_host=(relay.host or "localhost") if relay else "127.0.0.1",
        smtp_port=relay.port if relay else 0,
        # The sink binds an ephemeral port at start; the worker asks for it at each connect.
        smtp_endpoint=sink.endpoint if sink else None,
        smtp_username=settings.smtp_username,
        smtp_password=settings.smtp_password,
        # The embedded sink listens on loopback only, without TLS.
        smtp_tls="none" if sink else settings.smtp_tls,
        mail_from=settings.mail_from,
        max_attempts=settings.max_attempts,
        backoff_min=settings.backoff_min,
        backoff_max=settings.backoff_max,
        lease=settings.lease,
        smtp_timeout=settings.smtp_timeout,
        tracer=base.telemetry.tracer("galaxy_backend.mail"),
        meter=base.telemetry.meter("galaxy_backend.mail"),
        liveness=base.liveness,
    )
    return [sink, worker] if sink else [worker]


def build_notification_worker(
    settings: NotificationSettings,
    base: Foundation,
    notifications: NotificationService,
    mail: MailService,
) -> NotificationWorker:
    return NotificationWorker(
        database=base.database,
        service=notifications,
        mail=mail,
        push=base.push,
        max_attempts=settings.max_attempts,
        backoff_min=settings.backoff_min,
        backoff_max=settings.backoff_max,
        broadcast_batch=settings.broadcast_batch,
        lease=settings.lease,
        tracer=base.telemetry.tracer("galaxy_backend.notification"),
        meter=base.telemetry.meter("galaxy_backend.notification"),
        liveness=base.liveness,
    )


def build_housekeeping(config: Config, identity: Identity, liveness: Liveness) -> Housekeeping:
    """Periodic chores, each on its own period from the settings."""
    auth, admin = identity.auth, identity.admin
    return Housekeeping(
        [
            Chore(
                "session-last-seen",
                config.auth.last_seen_flush_interval,
                auth.flush_touched,
                at_stop=True,
            ),
            Chore(
                "mail-secret-redaction", config.mail.redact_interval, identity.mail.redact_expired
            ),
            Chore(
                "sign-in-pruning",
                config.auth.prune_interval,
                lambda: auth.prune(keep=PRUNE_AFTER),
            ),
            Chore(
                "admin-login-pruning",
                config.admin.prune_interval,
                lambda: admin.prune_login_failures(keep=PRUNE_AFTER),
            ),
        ],
        liveness=liveness,
    )


@dataclass(frozen=True, slots=True)
class Games:
    """The lobby and the runtime that runs its games (and calls back into it)."""

    lobby: LobbyService
    sweeper: Sweeper
    runtime: Runtime


def build_games(
    config: Config, base: Foundation, users: UserService, notifier: NotifierAdapter
) -> Games:
    """Lobby, then runtime; the lobby reaches the runtime through an adapter patched here."""
    runtime_control = RuntimeControlAdapter()
    lobby, sweeper = build_lobby(config, base, users, notifier, runtime_control)
    runtime = build_runtime(config.runtime, config.data_dir, base, lobby, notifier)
    runtime_control.patch(runtime.service)
    return Games(lobby=lobby, sweeper=sweeper, runtime=runtime)


def build_notifications(settings: NotificationSettings, base: Foundation) -> NotificationService:
    return NotificationService(
        database=base.database,
        tokens=UnsubscribeTokens(lambda: base.secrets.secret_key),
        public_url=settings.public_url,
    )
