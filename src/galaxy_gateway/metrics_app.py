"""The optional metrics listener's app: `/metrics` in the Prometheus text format."""

from prometheus_client import CollectorRegistry, make_asgi_app
from starlette.types import ASGIApp, Receive, Scope, Send


def build_metrics_app(registry: CollectorRegistry) -> ASGIApp:
    exposition = make_asgi_app(registry=registry)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            await exposition(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"only /metrics is served here\n"})

    return app
