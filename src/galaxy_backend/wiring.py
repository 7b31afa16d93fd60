"""The composition root (the seed's cmd/backend/main.go): every object is built here."""

import gc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from galaxy_backend import __version__
from galaxy_backend.adapters import (
    ComponentStatesAdapter,
    FailureReporterAdapter,
    NotifierAdapter,
    RuntimeControlAdapter,
    SessionRevokerAdapter,
)
from galaxy_backend.admin import routes as admin_routes
from galaxy_backend.admin.passwords import Passwords
from galaxy_backend.admin.service import AdminBootstrap, AdminService
from galaxy_backend.app import App, Component
from galaxy_backend.auth import routes as auth_routes
from galaxy_backend.auth.service import AuthService
from galaxy_backend.config import Config
from galaxy_backend.console import routes as console_routes
from galaxy_backend.console.pages import add_console
from galaxy_backend.console.service import ConsoleReads
from galaxy_backend.console.status import StatusBoard
from galaxy_backend.geo import routes as geo_routes
from galaxy_backend.geo.reader import GeoReader
from galaxy_backend.geo.service import GeoService
from galaxy_backend.kernel.cache import CacheLimits, CacheWarmer, Warmable
from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.kernel.housekeeping import Chore, Housekeeping
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.kernel.ratelimit import TokenBuckets
from galaxy_backend.kernel.server_secrets import ServerSecrets
from galaxy_backend.lobby import routes as lobby_routes
from galaxy_backend.lobby.engines import BundledEngine
from galaxy_backend.lobby.service import LobbyService
from galaxy_backend.lobby.sweeper import Sweeper
from galaxy_backend.mail import routes as mail_routes
from galaxy_backend.mail.service import MailService
from galaxy_backend.mail.sink import SmtpSink
from galaxy_backend.mail.worker import MailWorker
from galaxy_backend.notification import routes as notification_routes
from galaxy_backend.notification.service import NotificationService
from galaxy_backend.notification.unsubscribe import UnsubscribeTokens
from galaxy_backend.notification.worker import NotificationWorker
from galaxy_backend.postgres import Database, Migrations
from galaxy_backend.postgres.bounds import DatabaseBounds
from galaxy_backend.push import PushService
from galaxy_backend.push import routes as push_routes
from galaxy_backend.push.grpc_api import SUBSCRIBE_METHOD, PushGrpcApi
from galaxy_backend.runtime import routes as runtime_routes
from galaxy_backend.runtime.clients import RuntimeClients
from galaxy_backend.runtime.drivers.base import Limits
from galaxy_backend.runtime.drivers.selection import choose_driver
from galaxy_backend.runtime.engine_client import EngineClient, EngineTokens
from galaxy_backend.runtime.reconciler import Reconciler
from galaxy_backend.runtime.scheduler import TurnScheduler
from galaxy_backend.runtime.service import JobQueue, RuntimeService
from galaxy_backend.runtime.workers import RuntimeWorkers
from galaxy_backend.server.auth import (
    AUDIENCE_PREFIXES,
    AudienceGuard,
    InternalTokenAuthenticator,
)
from galaxy_backend.server.grpc_server import GrpcListener, InternalTokenInterceptor
from galaxy_backend.server.http_app import build_http_app
from galaxy_backend.server.http_server import HttpListener, ListenerLimits
from galaxy_backend.server.metrics_app import build_metrics_app
from galaxy_backend.server.probes import Readiness, probe_routes
from galaxy_backend.telemetry import TelemetryRuntime, get_logger
from galaxy_backend.user import routes as user_routes
from galaxy_backend.user.models import Entitlements
from galaxy_backend.user.service import UserService

_log = get_logger(__name__)

ADMIN_LOGIN_PATH = f"{AUDIENCE_PREFIXES['admin']}/auth/login"


def mail_delivery(
    config: Config, database: Database, telemetry: TelemetryRuntime, liveness: Liveness
) -> list[Component]:
    """The mail worker, after the embedded SMTP sink it sends to when no relay is configured."""
    sink = None
    if config.smtp_addr is None:
        sink = SmtpSink(host="127.0.0.1", port=0, directory=config.data_dir / "mail")
    worker = MailWorker(
        database=database,
        smtp_host=(config.smtp_addr.host or "localhost") if config.smtp_addr else "127.0.0.1",
        smtp_port=config.smtp_addr.port if config.smtp_addr else 0,
        # The sink binds an ephemeral port at start; the worker asks for it at each connect.
        smtp_endpoint=sink.endpoint if sink else None,
        smtp_username=config.smtp_username,
        smtp_password=config.smtp_password.get_secret_value() if config.smtp_password else None,
        # The embedded sink listens on loopback only, without TLS.
        smtp_tls="none" if sink else config.smtp_tls,
        mail_from=config.mail_from,
        max_attempts=config.mail_max_attempts,
        backoff_min=config.mail_backoff_min,
        backoff_max=config.mail_backoff_max,
        lease=config.mail_lease,
        smtp_timeout=config.smtp_timeout,
        tracer=telemetry.tracer("galaxy_backend.mail"),
        meter=telemetry.meter("galaxy_backend.mail"),
        liveness=liveness,
    )
    return [sink, worker] if sink else [worker]


def database_bounds(config: Config) -> DatabaseBounds:
    return DatabaseBounds(
        acquire_timeout=config.postgres_acquire_timeout.total_seconds(),
        statement_timeout=config.postgres_statement_timeout.total_seconds(),
        dead_peer_timeout=config.postgres_dead_peer_timeout.total_seconds(),
    )


def freeze_startup_objects() -> None:
    """Move everything built during start out of the collector's reach.

    Imports and wiring leave hundreds of thousands of long-lived objects; without this,
    every full collection walks them all and stalls requests for tens of milliseconds.
    """
    gc.collect()
    gc.freeze()


@dataclass(frozen=True, slots=True)
class Backend:
    """The built process: the App to run and handles that tests and the CLI look at."""

    app: App
    config: Config
    telemetry: TelemetryRuntime
    database: Database
    push: PushService
    users: UserService
    auth: AuthService
    admin: AdminService
    geo: GeoService
    mail: MailService
    notifications: NotificationService
    lobby: LobbyService
    sweeper: Sweeper
    notifier: NotifierAdapter
    runtime_control: RuntimeControlAdapter
    runtime: RuntimeService
    runtime_workers: RuntimeWorkers
    runtime_clients: RuntimeClients
    scheduler: TurnScheduler
    reconciler: Reconciler
    readiness: Readiness
    liveness: Liveness
    http: HttpListener
    grpc: GrpcListener
    metrics: HttpListener | None
    secrets: ServerSecrets

    @property
    def internal_token(self) -> str:
        return self.secrets.internal_token


def build_backend(config: Config) -> Backend:
    """Build every component in the seed's order; nothing starts until `App.run`."""
    # 2. Telemetry.
    telemetry = TelemetryRuntime(
        traces_exporter=config.otel_traces_exporter,
        metrics_exporter=config.otel_metrics_exporter,
        sample_ratio=config.otel_traces_sample_ratio,
        prometheus=config.metrics_addr is not None,
        service_version=__version__,
    )
    # 3-4. Postgres pool, then migrations before any listener binds.
    dsn = config.postgres_dsn.get_secret_value() if config.postgres_dsn else None
    bounds = database_bounds(config)
    database = Database(
        dsn=dsn,
        data_dir=config.data_dir,
        pool_size=config.postgres_pool_size,
        connect_timeout=config.postgres_connect_timeout.total_seconds(),
        bounds=bounds,
    )
    # Every background loop reports its rounds here; /readyz names any that is late.
    liveness = Liveness(
        deadline=config.loop_deadline.total_seconds(),
        listen_probe=bounds.dead_peer_timeout / 3,
    )
    liveness.observe(telemetry.meter("galaxy_backend.kernel.liveness"))
    migrations = Migrations(database)
    secrets = ServerSecrets(
        database=database,
        data_dir=config.data_dir,
        secret_key=config.secret_key.get_secret_value() if config.secret_key else None,
        internal_token=(
            config.internal_token.get_secret_value() if config.internal_token else None
        ),
    )
    # 5. Push service, so domain services get a real publisher.
    push = PushService(
        ring_size=config.push_ring_size,
        batch_max=config.push_batch_max,
        meter=telemetry.meter("galaxy_backend.push"),
    )
    # 6. Domain services, in dependency order: geo, user, mail, auth, admin, lobby, runtime,
    #    notification; cycles go through the adapters, patched once the target exists.
    bus = CacheBus(
        dsn_provider=database.connect,
        heartbeat=config.cache_bus_heartbeat.total_seconds(),
        liveness=liveness,
    )
    cache_limits = CacheLimits(
        max_entries=config.cache_max_entries,
        max_age=config.cache_max_age,
        warm_entries=config.cache_warm_entries,
    )
    geo = GeoService(database=database, reader=GeoReader.open(config.geoip_db_path))
    revoker = SessionRevokerAdapter()
    notifier = NotifierAdapter()
    users = UserService(
        database=database,
        bus=bus,
        revoker=revoker,
        notifier=notifier,
        defaults=Entitlements(
            tier=config.user_default_tier,
            max_owned_games=config.user_default_max_owned_games,
            max_active_games=config.user_default_max_active_games,
        ),
        cache_limits=cache_limits,
    )
    mail = MailService(database=database)
    auth = AuthService(
        database=database,
        users=users,
        mail=mail,
        push=push,
        geo=geo,
        bus=bus,
        secret_key=lambda: secrets.secret_key,
        code_ttl=config.auth_code_ttl,
        code_max_attempts=config.auth_code_max_attempts,
        email_rate_limit=config.auth_email_rate_limit,
        ip_rate_limit=config.auth_ip_rate_limit,
        ip_guess_limit=config.auth_ip_guess_limit,
        rate_window=config.auth_rate_window,
        session_ttl=config.session_ttl,
        email_daily_limit=config.auth_email_daily_limit,
        email_guess_limit=config.auth_email_guess_limit,
        cache_limits=cache_limits,
    )
    revoker.patch(auth)
    admin = AdminService(
        database=database,
        bus=bus,
        passwords=Passwords(max_concurrent=config.admin_max_concurrent_logins),
        session_ttl=config.admin_session_ttl,
        lockout_threshold=config.admin_lockout_threshold,
        address_lockout_threshold=config.admin_address_lockout_threshold,
        lockout_duration=config.admin_lockout_duration,
        cache_limits=cache_limits,
    )
    bootstrap = AdminBootstrap(
        admin,
        config.admin_bootstrap_username,
        config.admin_bootstrap_password.get_secret_value()
        if config.admin_bootstrap_password
        else None,
    )

    # lobby -> notification and lobby -> runtime go through adapters: both are built later
    # (and the runtime calls back into the lobby). Unpatched, notices go nowhere and a
    # started game waits in `starting`.
    runtime_control = RuntimeControlAdapter()
    lobby = LobbyService(
        database=database,
        bus=bus,
        push=push,
        notifier=notifier,
        runtime=runtime_control,
        users=users,
        engines=BundledEngine(),
        pending_registration_ttl=config.lobby_pending_registration_ttl,
        min_turn_interval=config.lobby_min_turn_interval,
        cache_limits=cache_limits,
    )
    sweeper = Sweeper(lobby.context, config.lobby_sweep_schedule, liveness=liveness)

    # Runtime: engines under the driver chosen at start; the lobby's adapter points at it,
    # and it reports back to the lobby directly (the lobby exists already).
    engine_tokens = EngineTokens(lambda: secrets.secret_key)
    runtime_clients = RuntimeClients(
        engine=EngineClient(engine_tokens, timeout=config.runtime_engine_timeout.total_seconds()),
        choose=lambda: choose_driver(
            driver=config.runtime_driver,
            docker_host=config.docker_host,
            docker_network=config.runtime_docker_network,
            data_dir=config.data_dir,
            tracer=telemetry.tracer("galaxy_backend.runtime"),
            docker_timeout=config.docker_timeout.total_seconds(),
        ),
    )
    runtime = RuntimeService(
        database=database,
        engine=runtime_clients.engine,
        queue=JobQueue(config.runtime_job_queue_size),
        lobby=lobby,
        notifier=notifier,
        games=lobby,
        driver_name=runtime_clients.driver_name,
        default_image=config.runtime_engine_image,
        finished_retention=config.runtime_finished_retention,
        force_turn_cooldown=config.runtime_force_turn_cooldown,
        orders_check_limit=(
            TokenBuckets(
                rate=config.runtime_orders_check_rate,
                burst=config.runtime_orders_check_burst,
                what="orders checks",
            )
            if config.runtime_orders_check_rate > 0
            else None
        ),
    )
    runtime_control.patch(runtime)
    runtime_workers = RuntimeWorkers(
        database=database,
        service=runtime,
        clients=runtime_clients,
        engine=runtime_clients.engine,
        tokens=engine_tokens,
        pool_size=config.runtime_worker_pool_size,
        limits=Limits(
            memory_bytes=config.runtime_engine_memory_mb * 1024 * 1024,
            cpus=config.runtime_engine_cpus,
            pids=config.runtime_engine_pids_limit,
            cpu_seconds=config.runtime_engine_cpu_seconds,
        ),
        start_timeout=config.runtime_start_timeout,
        max_engines=config.runtime_max_engines,
        tracer=telemetry.tracer("galaxy_backend.runtime"),
        meter=telemetry.meter("galaxy_backend.runtime"),
        liveness=liveness,
    )
    scheduler = TurnScheduler(
        database=database,
        service=runtime,
        engine=runtime_clients.engine,
        concurrency=config.runtime_turn_concurrency,
        turn_timeout=config.runtime_turn_timeout,
        tracer=telemetry.tracer("galaxy_backend.runtime"),
        meter=telemetry.meter("galaxy_backend.runtime"),
        liveness=liveness,
    )
    reconciler = Reconciler(
        database=database,
        service=runtime,
        clients=runtime_clients,
        engine=runtime_clients.engine,
        interval=config.runtime_reconcile_interval,
        health_failures=config.runtime_health_failures,
        restart_budget=config.runtime_restart_budget,
        meter=telemetry.meter("galaxy_backend.runtime"),
        liveness=liveness,
    )
    # Notification comes last, as in the seed: it uses accounts, mail and push.
    notifications = NotificationService(
        database=database,
        tokens=UnsubscribeTokens(lambda: secrets.secret_key),
        public_url=config.public_url,
    )
    notifier.patch(notifications)

    prune_after = timedelta(days=1)
    housekeeping = Housekeeping(
        [
            Chore("session-last-seen", timedelta(seconds=30), auth.flush_touched, at_stop=True),
            Chore("mail-secret-redaction", timedelta(seconds=30), mail.redact_expired),
            Chore("sign-in-pruning", timedelta(hours=1), lambda: auth.prune(keep=prune_after)),
            Chore(
                "admin-login-pruning",
                timedelta(hours=1),
                lambda: admin.prune_login_failures(keep=prune_after),
            ),
        ],
        liveness=liveness,
    )

    # 7. Caches: warmed before any listener binds; /readyz waits on every one of them.
    service_caches: list[Warmable] = [users.cache, auth.cache, admin.cache, *lobby.cache.all()]
    caches = CacheWarmer(service_caches)
    readiness = Readiness()
    readiness.add_cache(bus)
    for cache in service_caches:
        readiness.add_cache(cache)

    async def postgres_answers() -> str | None:
        await database.ping()
        return None

    readiness.add_check("postgres", postgres_answers)
    readiness.add_loops(liveness)

    # The console's status page reads every component; the App exists only at the end.
    component_states = ComponentStatesAdapter()
    status_board = StatusBoard(
        database=database,
        readiness=readiness,
        liveness=liveness,
        caches=[bus, *service_caches],
        push=push,
        components=component_states,
        pool_max=config.postgres_pool_size,
        driver_name=runtime_clients.driver_name,
        max_engines=config.runtime_max_engines,
    )
    console_reads = ConsoleReads(
        database=database, users=users, auth=auth, lobby=lobby, runtime=runtime
    )

    # 8. HTTP handlers.
    guards = [
        AudienceGuard(
            "internal",
            AUDIENCE_PREFIXES["internal"],
            InternalTokenAuthenticator(lambda: secrets.internal_token),
        ),
        AudienceGuard("user", AUDIENCE_PREFIXES["user"], auth),
        AudienceGuard(
            "admin", AUDIENCE_PREFIXES["admin"], admin, open_paths=frozenset({ADMIN_LOGIN_PATH})
        ),
    ]
    routers: list[APIRouter] = [
        auth_routes.public_router(auth),
        auth_routes.user_router(auth),
        user_routes.user_router(users),
        admin_routes.admin_router(admin),
        user_routes.admin_router(users),
        auth_routes.admin_router(auth),
        mail_routes.admin_router(mail),
        geo_routes.admin_router(geo),
        push_routes.internal_router(push),
        notification_routes.user_router(notifications),
        notification_routes.public_router(notifications),
        notification_routes.admin_router(notifications),
        runtime_routes.user_router(runtime),
        runtime_routes.admin_router(runtime),
        lobby_routes.public_router(lobby),
        lobby_routes.user_router(lobby, clock=lambda: datetime.now(UTC)),
        lobby_routes.admin_router(lobby, clock=lambda: datetime.now(UTC)),
        console_routes.admin_router(status_board, console_reads),
    ]
    http_app = build_http_app(
        version=__version__,
        routers=routers,
        fast_routes=[
            *probe_routes(readiness),
            *user_routes.user_fast_routes(users),
            *auth_routes.public_fast_routes(auth, users),
            *auth_routes.internal_fast_routes(auth),
            *lobby_routes.public_fast_routes(lobby),
        ],
        guards=guards,
        tracer=telemetry.tracer("galaxy_backend.http"),
        meter=telemetry.meter("galaxy_backend.http"),
        durations=telemetry.http_server_durations(),
        max_body_bytes=config.http_max_body_bytes,
        trusted_proxies=config.trusted_proxies,
        pages=[add_console],
    )

    # 9. Listeners and workers.
    report_failure = FailureReporterAdapter()
    http = HttpListener(
        name="http",
        address=config.http_addr,
        app=http_app,
        shutdown_timeout=config.http_shutdown_timeout.total_seconds(),
        on_failure=report_failure,
        limits=ListenerLimits(
            max_header_bytes=config.http_max_header_bytes,
            header_timeout=config.http_header_timeout.total_seconds(),
            keepalive_timeout=config.http_keepalive_timeout.total_seconds(),
            max_connections=config.http_max_connections,
        ),
    )
    grpc = GrpcListener(
        address=config.grpc_push_addr,
        handlers=[PushGrpcApi(push, telemetry.tracer("galaxy_backend.push")).handler()],
        interceptors=[
            telemetry.grpc_server_interceptor(untraced_streams=[SUBSCRIBE_METHOD]),
            InternalTokenInterceptor(lambda: secrets.internal_token),
        ],
        shutdown_timeout=config.grpc_push_shutdown_timeout.total_seconds(),
        drain=push.close_subscriptions,
    )
    mail_components = mail_delivery(config, database, telemetry, liveness)
    notification_worker = NotificationWorker(
        database=database,
        service=notifications,
        mail=mail,
        push=push,
        max_attempts=config.notification_max_attempts,
        backoff_min=config.notification_backoff_min,
        backoff_max=config.notification_backoff_max,
        broadcast_batch=config.notification_broadcast_batch,
        lease=config.notification_lease,
        tracer=telemetry.tracer("galaxy_backend.notification"),
        meter=telemetry.meter("galaxy_backend.notification"),
        liveness=liveness,
    )

    metrics = None
    if config.metrics_addr is not None and telemetry.prometheus_registry is not None:
        metrics = HttpListener(
            name="metrics",
            address=config.metrics_addr,
            app=build_metrics_app(telemetry.prometheus_registry),
            shutdown_timeout=2.0,
            on_failure=report_failure,
        )

    # Started in this order and stopped in reverse, which is the seed's stop order: every
    # listener refuses new traffic first, then HTTP drains its requests, the mail worker
    # finishes its current attempt, push events already published reach the gateways
    # before the gRPC listener closes, geo counters drain, then the pool and telemetry.
    components: list[Component] = [
        telemetry,
        database,
        migrations,
        secrets,
        push,
        # Closed after geo drains and before the pool (the seed's stop step 6).
        runtime_clients,
        geo,
        housekeeping,
        bootstrap,
        bus,
        caches,
        grpc,
        *mail_components,
        notification_worker,
        runtime_workers,
        scheduler,
        reconciler,
        sweeper,
        http,
    ]
    if metrics is not None:
        components.append(metrics)
    app = App(
        components,
        shutdown_timeout=config.shutdown_timeout.total_seconds(),
        on_started=[freeze_startup_objects],
        on_stopping=[readiness.mark_shutting_down],
    )
    report_failure.patch(app)
    component_states.patch(app)
    return Backend(
        app=app,
        config=config,
        telemetry=telemetry,
        database=database,
        push=push,
        users=users,
        auth=auth,
        admin=admin,
        geo=geo,
        mail=mail,
        notifications=notifications,
        lobby=lobby,
        sweeper=sweeper,
        notifier=notifier,
        runtime_control=runtime_control,
        runtime=runtime,
        runtime_workers=runtime_workers,
        runtime_clients=runtime_clients,
        scheduler=scheduler,
        reconciler=reconciler,
        readiness=readiness,
        liveness=liveness,
        http=http,
        grpc=grpc,
        metrics=metrics,
        secrets=secrets,
    )
