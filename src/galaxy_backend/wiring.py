"""The composition root (the seed's cmd/backend/main.go): every object is built here."""

import gc
from dataclasses import dataclass

from fastapi import APIRouter

from galaxy_backend import __version__
from galaxy_backend.adapters import FailureReporterAdapter
from galaxy_backend.app import App, Component
from galaxy_backend.cache import CacheWarmer
from galaxy_backend.config import Config
from galaxy_backend.internal_token import resolve_internal_token
from galaxy_backend.postgres import Database, Migrations
from galaxy_backend.push import PushService
from galaxy_backend.push.grpc_api import SUBSCRIBE_METHOD, PushGrpcApi
from galaxy_backend.push.routes import push_routes
from galaxy_backend.server.auth import (
    AUDIENCE_PREFIXES,
    AudienceGuard,
    InternalTokenAuthenticator,
    NoSessions,
)
from galaxy_backend.server.grpc_server import GrpcListener, InternalTokenInterceptor
from galaxy_backend.server.http_app import build_http_app
from galaxy_backend.server.http_server import HttpListener
from galaxy_backend.server.metrics_app import build_metrics_app
from galaxy_backend.server.probes import Readiness, probe_routes
from galaxy_backend.telemetry import TelemetryRuntime, get_logger

_log = get_logger(__name__)

ADMIN_LOGIN_PATH = f"{AUDIENCE_PREFIXES['admin']}/auth/login"


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
    readiness: Readiness
    http: HttpListener
    grpc: GrpcListener
    metrics: HttpListener | None
    internal_token: str


def build_backend(config: Config) -> Backend:
    """Build every component in the seed's order; nothing starts until `App.run`."""
    secret = config.internal_token.get_secret_value() if config.internal_token else None
    internal_token, token_file = resolve_internal_token(secret, config.data_dir)
    if token_file is not None:
        _log.info(
            "internal token kept in a file (BACKEND_INTERNAL_TOKEN is unset)", path=str(token_file)
        )

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
    database = Database(
        dsn=dsn,
        data_dir=config.data_dir,
        pool_size=config.postgres_pool_size,
        connect_timeout=config.postgres_connect_timeout.total_seconds(),
    )
    migrations = Migrations(database)
    # 5. Push service, so domain services get a real publisher.
    push = PushService(
        ring_size=config.push_ring_size,
        batch_max=config.push_batch_max,
        meter=telemetry.meter("galaxy_backend.push"),
    )
    # 6. Domain services arrive with their issues: geo, user, mail, auth, admin, lobby, runtime,
    #    notification.
    # 7. Caches.
    caches = CacheWarmer([])
    readiness = Readiness()

    async def postgres_answers() -> str | None:
        await database.ping()
        return None

    readiness.add_check("postgres", postgres_answers)

    # 8. HTTP handlers.
    guards = [
        AudienceGuard(
            "internal", AUDIENCE_PREFIXES["internal"], InternalTokenAuthenticator(internal_token)
        ),
        AudienceGuard("user", AUDIENCE_PREFIXES["user"], NoSessions("user")),
        AudienceGuard(
            "admin",
            AUDIENCE_PREFIXES["admin"],
            NoSessions("admin"),
            open_paths=frozenset({ADMIN_LOGIN_PATH}),
        ),
    ]
    routers: list[APIRouter] = []
    http_app = build_http_app(
        version=__version__,
        routers=routers,
        fast_routes=[*probe_routes(readiness), *push_routes(push)],
        guards=guards,
        tracer=telemetry.tracer("galaxy_backend.http"),
        meter=telemetry.meter("galaxy_backend.http"),
        max_body_bytes=config.http_max_body_bytes,
    )

    # 9. Listeners and workers.
    report_failure = FailureReporterAdapter()
    http = HttpListener(
        name="http",
        address=config.http_addr,
        app=http_app,
        shutdown_timeout=config.http_shutdown_timeout.total_seconds(),
        trusted_proxies=config.trusted_proxies,
        on_failure=report_failure,
    )
    grpc = GrpcListener(
        address=config.grpc_push_addr,
        handlers=[PushGrpcApi(push, telemetry.tracer("galaxy_backend.push")).handler()],
        interceptors=[
            telemetry.grpc_server_interceptor(untraced_streams=[SUBSCRIBE_METHOD]),
            InternalTokenInterceptor(internal_token),
        ],
        shutdown_timeout=config.grpc_push_shutdown_timeout.total_seconds(),
        drain=push.close_subscriptions,
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

    components: list[Component] = [telemetry, database, migrations, push, caches, http, grpc]
    if metrics is not None:
        components.append(metrics)
    app = App(
        components,
        shutdown_timeout=config.shutdown_timeout.total_seconds(),
        on_started=[freeze_startup_objects],
        on_stopping=[readiness.mark_shutting_down],
    )
    report_failure.patch(app)
    return Backend(
        app=app,
        config=config,
        telemetry=telemetry,
        database=database,
        push=push,
        readiness=readiness,
        http=http,
        grpc=grpc,
        metrics=metrics,
        internal_token=internal_token,
    )
