"""Composition root: builds every component of the gateway in start order."""

from collections.abc import Callable
from dataclasses import dataclass

from galaxy_gateway import __version__
from galaxy_gateway.addresses import ClientAddresses
from galaxy_gateway.app import App, Component
from galaxy_gateway.backend_client import BackendClient, SessionRefused
from galaxy_gateway.config import Config
from galaxy_gateway.edge import Edge
from galaxy_gateway.forwarding import Forwarder
from galaxy_gateway.internal_token import InternalToken
from galaxy_gateway.listener import EdgeLimits, HttpListener
from galaxy_gateway.metrics import delivery_lag, register
from galaxy_gateway.metrics_app import build_metrics_app
from galaxy_gateway.probes import Readiness, ShutdownMarker
from galaxy_gateway.push.dispatch import Dispatcher
from galaxy_gateway.push.subscriber import PushSubscriber
from galaxy_gateway.telemetry import TelemetryRuntime
from galaxy_gateway.web import build_web_app
from galaxy_gateway.ws.endpoint import PushEndpoint
from galaxy_gateway.ws.hub import Hub

# Frames larger than this are refused by the WebSocket layer itself (1009); up to it the
# endpoint reads them and answers 4400 for anything over GATEWAY_WS_MAX_MESSAGE_BYTES.
_WS_HARD_FRAME_LIMIT = 64 * 1024


@dataclass
class Gateway:
    """The built process: the App to run and the handles tests and the CLI look at."""

    app: App
    config: Config
    telemetry: TelemetryRuntime
    backend: BackendClient
    hub: Hub
    subscribers: list[PushSubscriber]
    dispatcher: Dispatcher
    readiness: Readiness
    edge: Edge
    http: HttpListener
    metrics: HttpListener | None


def _hub(config: Config, backend: BackendClient) -> Hub:
    """The WebSocket connections; a socket whose session is gone is closed on revalidation."""
    hub = Hub(
        max_per_session=config.ws_max_per_session,
        max_per_address=config.ws_max_per_address,
        queue_size=config.ws_queue_size,
    )

    async def session_alive(session_token: str) -> bool:
        try:
            await backend.resolve_session(session_token, "revalidate")
        except SessionRefused:
            return False
        return True

    hub.session_alive = session_alive
    return hub


def _subscribers(
    config: Config, token: InternalToken, dispatcher: Dispatcher
) -> list[PushSubscriber]:
    """One push stream per backend replica."""
    return [
        PushSubscriber(
            address,
            token=token,
            gateway_id=config.id,
            handle=dispatcher,
            resync=dispatcher.resync,
            reconnect_min=config.push_reconnect_min.total_seconds(),
            reconnect_max=config.push_reconnect_max.total_seconds(),
        )
        for address in config.backend_push_addrs
    ]


def _edge(
    config: Config,
    backend: BackendClient,
    hub: Hub,
    readiness: Readiness,
    telemetry: TelemetryRuntime,
) -> Edge:
    addresses = ClientAddresses(config.trusted_proxies)
    return Edge(
        forwarder=Forwarder(backend, max_body_bytes=config.http_max_body_bytes),
        push=PushEndpoint(
            hub=hub,
            backend=backend,
            addresses=addresses,
            auth_timeout=config.ws_auth_timeout.total_seconds(),
            max_message_bytes=config.ws_max_message_bytes,
        ),
        web=build_web_app(),
        readiness=readiness,
        addresses=addresses,
        tracer=telemetry.tracer("galaxy_gateway.http"),
    )


def _listeners(
    config: Config, edge: Edge, telemetry: TelemetryRuntime, failed: Callable[[str], None]
) -> tuple[HttpListener, HttpListener | None]:
    """The edge's listener, and the metrics listener when configured."""
    limits = EdgeLimits(
        max_connections=config.http_max_connections,
        max_header_bytes=config.http_max_header_bytes,
        header_timeout=config.http_header_timeout.total_seconds(),
        body_timeout=config.http_body_timeout.total_seconds(),
        keepalive_timeout=config.http_keepalive_timeout.total_seconds(),
        ws_max_frame_bytes=max(_WS_HARD_FRAME_LIMIT, 4 * config.ws_max_message_bytes),
        ws_ping_interval=config.ws_ping_interval.total_seconds(),
        ws_ping_timeout=config.ws_ping_timeout.total_seconds(),
    )
    http = HttpListener(
        name="http",
        address=config.http_addr,
        app=edge,
        shutdown_timeout=config.http_shutdown_timeout.total_seconds(),
        limits=limits,
        on_failure=failed,
    )
    if config.metrics_addr is None:
        return http, None
    assert telemetry.prometheus_registry is not None
    metrics = HttpListener(
        name="metrics",
        address=config.metrics_addr,
        app=build_metrics_app(telemetry.prometheus_registry),
        shutdown_timeout=2.0,
        on_failure=failed,
    )
    return http, metrics


def build_gateway(config: Config) -> Gateway:
    """Everything, in the order it starts; the App stops it in reverse."""
    telemetry = TelemetryRuntime(
        traces_exporter=config.otel_traces_exporter,
        metrics_exporter=config.otel_metrics_exporter,
        sample_ratio=config.otel_traces_sample_ratio,
        prometheus=config.metrics_addr is not None,
        service_version=__version__,
    )
    token = InternalToken(
        value=config.internal_token.get_secret_value() if config.internal_token else None,
        file=config.internal_token_file,
    )
    backend = BackendClient(
        base_url=config.backend_url,
        token=token,
        timeout=config.backend_timeout,
        connect_timeout=config.backend_connect_timeout,
        max_connections=config.backend_max_connections,
    )
    hub = _hub(config, backend)
    meter = telemetry.meter("galaxy_gateway")
    dispatcher = Dispatcher(hub, delivery_lag(meter))
    subscribers = _subscribers(config, token, dispatcher)
    readiness = Readiness(subscriptions=subscribers, backend_check=backend.healthy)
    edge = _edge(config, backend, hub, readiness, telemetry)
    register(
        meter,
        connections=lambda: hub.connections,
        pending_and_open=lambda: hub.pending_and_open,
        events=dispatcher.events,
        forwarded=edge.forwarded,
        closes=hub.close_codes,
        live_subscriptions=lambda: [s.live for s in subscribers],
    )
    app_holder: list[App] = []

    def failed(reason: str) -> None:
        app_holder[0].request_stop(reason, failed=True)

    http, metrics = _listeners(config, edge, telemetry, failed)
    components: list[Component] = [telemetry, backend, hub, *subscribers]
    if metrics is not None:
        components.append(metrics)
    components += [ShutdownMarker(readiness), http]
    app = App(components, shutdown_timeout=config.shutdown_timeout.total_seconds())
    app_holder.append(app)
    return Gateway(
        app=app,
        config=config,
        telemetry=telemetry,
        backend=backend,
        hub=hub,
        subscribers=subscribers,
        dispatcher=dispatcher,
        readiness=readiness,
        edge=edge,
        http=http,
        metrics=metrics,
    )
