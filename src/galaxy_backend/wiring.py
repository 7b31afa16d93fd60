"""The composition root (the seed's cmd/backend/main.go): every object is built here."""

import gc
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter

from galaxy_backend import __version__
from galaxy_backend.adapters import (
    ComponentStatesAdapter,
    FailureReporterAdapter,
    NotifierAdapter,
)
from galaxy_backend.admin import routes as admin_routes
from galaxy_backend.admin.service import AdminService
from galaxy_backend.app import App, Component
from galaxy_backend.auth import routes as auth_routes
from galaxy_backend.auth.service import AuthService
from galaxy_backend.builders import (
    Foundation,
    Games,
    Identity,
    build_foundation,
    build_games,
    build_housekeeping,
    build_identity,
    build_mail_delivery,
    build_notification_worker,
    build_notifications,
)
from galaxy_backend.config import Config
from galaxy_backend.console import routes as console_routes
from galaxy_backend.console.pages import add_console
from galaxy_backend.console.service import ConsoleReads
from galaxy_backend.console.status import StatusBoard
from galaxy_backend.geo import routes as geo_routes
from galaxy_backend.geo.service import GeoService
from galaxy_backend.kernel.cache import CacheWarmer, Warmable
from galaxy_backend.kernel.housekeeping import Housekeeping
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.kernel.server_secrets import ServerSecrets
from galaxy_backend.lobby import routes as lobby_routes
from galaxy_backend.lobby.service import LobbyService
from galaxy_backend.lobby.sweeper import Sweeper
from galaxy_backend.mail import routes as mail_routes
from galaxy_backend.mail.service import MailService
from galaxy_backend.notification import routes as notification_routes
from galaxy_backend.notification.service import NotificationService
from galaxy_backend.postgres import Database
from galaxy_backend.push import PushService
from galaxy_backend.push import routes as push_routes
from galaxy_backend.push.grpc_api import SUBSCRIBE_METHOD, PushGrpcApi
from galaxy_backend.runtime import routes as runtime_routes
from galaxy_backend.runtime.clients import RuntimeClients
from galaxy_backend.runtime.reconciler import Reconciler
from galaxy_backend.runtime.scheduler import TurnScheduler
from galaxy_backend.runtime.service import RuntimeService
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
from galaxy_backend.settings import (
    ServerSettings,
)
from galaxy_backend.telemetry import TelemetryRuntime, get_logger
from galaxy_backend.user import routes as user_routes
from galaxy_backend.user.service import UserService

_log = get_logger(__name__)

ADMIN_LOGIN_PATH = f"{AUDIENCE_PREFIXES['admin']}/auth/login"


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


def freeze_startup_objects() -> None:
    """Move everything built during start out of the collector's reach.

    Imports and wiring leave hundreds of thousands of long-lived objects; without this,
    every full collection walks them all and stalls requests for tens of milliseconds.
    """
    gc.collect()
    gc.freeze()


def build_readiness(base: Foundation, service_caches: list[Warmable]) -> Readiness:
    """Step 7's gate: every cache warm, the bus listening, PostgreSQL answering, loops on time."""
    readiness = Readiness()
    readiness.add_cache(base.bus)
    for cache in service_caches:
        readiness.add_cache(cache)

    async def postgres_answers() -> str | None:
        await base.database.ping()
        return None

    readiness.add_check("postgres", postgres_answers)
    readiness.add_loops(base.liveness)
    return readiness


def build_guards(identity: Identity, secrets: ServerSecrets) -> list[AudienceGuard]:
    return [
        AudienceGuard(
            "internal",
            AUDIENCE_PREFIXES["internal"],
            InternalTokenAuthenticator(lambda: secrets.internal_token),
        ),
        AudienceGuard("user", AUDIENCE_PREFIXES["user"], identity.auth),
        AudienceGuard(
            "admin",
            AUDIENCE_PREFIXES["admin"],
            identity.admin,
            open_paths=frozenset({ADMIN_LOGIN_PATH}),
        ),
    ]


def build_routers(
    identity: Identity,
    push: PushService,
    *,
    notifications: NotificationService,
    lobby: LobbyService,
    runtime: RuntimeService,
    console: tuple[StatusBoard, ConsoleReads],
) -> list[APIRouter]:
    auth, users = identity.auth, identity.users
    return [
        auth_routes.public_router(auth),
        auth_routes.user_router(auth),
        user_routes.user_router(users),
        admin_routes.admin_router(identity.admin),
        user_routes.admin_router(users),
        auth_routes.admin_router(auth),
        mail_routes.admin_router(identity.mail),
        geo_routes.admin_router(identity.geo),
        push_routes.internal_router(push),
        notification_routes.user_router(notifications),
        notification_routes.public_router(notifications),
        notification_routes.admin_router(notifications),
        runtime_routes.user_router(runtime),
        runtime_routes.admin_router(runtime),
        lobby_routes.public_router(lobby),
        lobby_routes.user_router(lobby, clock=lambda: datetime.now(UTC)),
        lobby_routes.admin_router(lobby, clock=lambda: datetime.now(UTC)),
        console_routes.admin_router(*console),
    ]


def build_http(
    settings: ServerSettings,
    base: Foundation,
    identity: Identity,
    lobby: LobbyService,
    *,
    readiness: Readiness,
    routers: list[APIRouter],
    report_failure: FailureReporterAdapter,
) -> HttpListener:
    """Step 8: the HTTP app (FastAPI routes and the edge's fast routes) on its listener."""
    telemetry, auth, users = base.telemetry, identity.auth, identity.users
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
        guards=build_guards(identity, base.secrets),
        tracer=telemetry.tracer("galaxy_backend.http"),
        meter=telemetry.meter("galaxy_backend.http"),
        durations=telemetry.http_server_durations(),
        max_body_bytes=settings.max_body_bytes,
        trusted_proxies=settings.trusted_proxies,
        pages=[add_console],
    )
    return HttpListener(
        name="http",
        address=settings.http_addr,
        app=http_app,
        shutdown_timeout=settings.http_shutdown_timeout.total_seconds(),
        on_failure=report_failure,
        limits=ListenerLimits(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout.total_seconds(),
            keepalive_timeout=settings.keepalive_timeout.total_seconds(),
            max_connections=settings.max_connections,
        ),
    )


def build_grpc(settings: ServerSettings, base: Foundation) -> GrpcListener:
    push, telemetry, secrets = base.push, base.telemetry, base.secrets
    return GrpcListener(
        address=settings.grpc_push_addr,
        handlers=[PushGrpcApi(push, telemetry.tracer("galaxy_backend.push")).handler()],
        interceptors=[
            telemetry.grpc_server_interceptor(untraced_streams=[SUBSCRIBE_METHOD]),
            InternalTokenInterceptor(lambda: secrets.internal_token),
        ],
        shutdown_timeout=settings.grpc_push_shutdown_timeout.total_seconds(),
        drain=push.close_subscriptions,
    )


def build_metrics(
    settings: ServerSettings, telemetry: TelemetryRuntime, report_failure: FailureReporterAdapter
) -> HttpListener | None:
    if settings.metrics_addr is None or telemetry.prometheus_registry is None:
        return None
    return HttpListener(
        name="metrics",
        address=settings.metrics_addr,
        app=build_metrics_app(telemetry.prometheus_registry),
        shutdown_timeout=2.0,
        on_failure=report_failure,
    )


def build_console(
    config: Config,
    base: Foundation,
    identity: Identity,
    games: Games,
    *,
    readiness: Readiness,
    components: ComponentStatesAdapter,
    service_caches: list[Warmable],
) -> tuple[StatusBoard, ConsoleReads]:
    """The console's status page (every component) and its reads of the domains."""
    board = StatusBoard(
        database=base.database,
        readiness=readiness,
        liveness=base.liveness,
        caches=[base.bus, *service_caches],
        push=base.push,
        components=components,
        pool_max=config.postgres.pool_size,
        driver_name=games.runtime.clients.driver_name,
        max_engines=config.runtime.max_engines,
    )
    reads = ConsoleReads(
        database=base.database,
        users=identity.users,
        auth=identity.auth,
        lobby=games.lobby,
        runtime=games.runtime.service,
    )
    return board, reads


@dataclass(frozen=True, slots=True)
class Edge:
    """What the outside world talks to: HTTP, the gRPC push stream, optional metrics."""

    http: HttpListener
    grpc: GrpcListener
    metrics: HttpListener | None
    report_failure: FailureReporterAdapter


def build_edge(
    config: Config,
    base: Foundation,
    identity: Identity,
    notifications: NotificationService,
    games: Games,
    *,
    readiness: Readiness,
    console: tuple[StatusBoard, ConsoleReads],
) -> Edge:
    """Steps 8-9's listeners: the HTTP handlers on their listener, gRPC push, metrics."""
    report_failure = FailureReporterAdapter()
    routers = build_routers(
        identity,
        base.push,
        notifications=notifications,
        lobby=games.lobby,
        runtime=games.runtime.service,
        console=console,
    )
    http = build_http(
        config.server,
        base,
        identity,
        games.lobby,
        readiness=readiness,
        routers=routers,
        report_failure=report_failure,
    )
    return Edge(
        http=http,
        grpc=build_grpc(config.server, base),
        metrics=build_metrics(config.server, base.telemetry, report_failure),
        report_failure=report_failure,
    )


def start_order(
    config: Config,
    base: Foundation,
    identity: Identity,
    games: Games,
    notifications: NotificationService,
    *,
    housekeeping: Housekeeping,
    caches: CacheWarmer,
    edge: Edge,
) -> list[Component]:
    """Started in this order and stopped in reverse, which is the seed's stop order: every
    listener refuses new traffic first, then HTTP drains its requests, the mail worker
    finishes its current attempt, push events already published reach the gateways before
    the gRPC listener closes, geo counters drain, then the pool and telemetry."""
    runtime = games.runtime
    return [
        base.telemetry,
        base.database,
        base.migrations,
        base.secrets,
        base.push,
        # Closed after geo drains and before the pool (the seed's stop step 6).
        runtime.clients,
        identity.geo,
        housekeeping,
        identity.bootstrap,
        base.bus,
        caches,
        edge.grpc,
        *build_mail_delivery(config.mail, config.data_dir, base),
        build_notification_worker(config.notification, base, notifications, identity.mail),
        runtime.workers,
        runtime.scheduler,
        runtime.reconciler,
        games.sweeper,
        edge.http,
        *([edge.metrics] if edge.metrics is not None else []),
    ]


def build_backend(config: Config) -> Backend:
    """Build every component in the seed's order; nothing starts until `App.run`."""
    # 2-5. Telemetry, the pool and its migrations, secrets, push, the cache bus.
    base = build_foundation(config)
    # 6. Domain services in dependency order: geo, user, mail, auth, admin, lobby, runtime,
    #    notification; cycles go through the adapters, patched once the target exists.
    notifier = NotifierAdapter()
    identity = build_identity(config, base, notifier)
    games = build_games(config, base, identity.users, notifier)
    # Notification comes last, as in the seed: it uses accounts, mail and push.
    notifications = build_notifications(config.notification, base)
    notifier.patch(notifications)
    housekeeping = build_housekeeping(config, identity, base.liveness)
    # 7. Caches: warmed before any listener binds; /readyz waits on every one of them.
    service_caches: list[Warmable] = [
        identity.users.cache,
        identity.auth.cache,
        identity.admin.cache,
        *games.lobby.cache.all(),
    ]
    readiness = build_readiness(base, service_caches)
    # The console's status page reads every component; the App exists only at the end.
    component_states = ComponentStatesAdapter()
    console = build_console(
        config,
        base,
        identity,
        games,
        readiness=readiness,
        components=component_states,
        service_caches=service_caches,
    )
    # 8-9. HTTP handlers, listeners and workers.
    edge = build_edge(
        config, base, identity, notifications, games, readiness=readiness, console=console
    )
    components = start_order(
        config,
        base,
        identity,
        games,
        notifications,
        housekeeping=housekeeping,
        caches=CacheWarmer(service_caches),
        edge=edge,
    )
    app = App(
        components,
        shutdown_timeout=config.shutdown_timeout.total_seconds(),
        on_started=[freeze_startup_objects],
        on_stopping=[readiness.mark_shutting_down],
    )
    edge.report_failure.patch(app)
    component_states.patch(app)
    return Backend(
        app=app,
        config=config,
        telemetry=base.telemetry,
        database=base.database,
        push=base.push,
        users=identity.users,
        auth=identity.auth,
        admin=identity.admin,
        geo=identity.geo,
        mail=identity.mail,
        notifications=notifications,
        lobby=games.lobby,
        sweeper=games.sweeper,
        runtime=games.runtime.service,
        runtime_workers=games.runtime.workers,
        runtime_clients=games.runtime.clients,
        scheduler=games.runtime.scheduler,
        reconciler=games.runtime.reconciler,
        readiness=readiness,
        liveness=base.liveness,
        http=edge.http,
        grpc=edge.grpc,
        metrics=edge.metrics,
        secrets=base.secrets,
    )
