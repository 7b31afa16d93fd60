"""The gateway's metrics, scraped as Prometheus would: connections, events, delivery lag,
forwarded requests by status, closes by code (refusals before sign-in included)."""

import json
from collections.abc import Awaitable, Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.test_push import closed_with
from tests.support import eventually
from tests.support.gateway import Stack


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Each sample by name and labels (the OTel scope's labels left out)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(
                sorted((k, v) for k, v in sample.labels.items() if not k.startswith("otel_"))
            )
            found[(sample.name, labels)] = sample.value
    return found


async def test_the_gateway_reports_its_traffic_to_prometheus(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_stack(
        GATEWAY_METRICS_ADDR="127.0.0.1:0", GATEWAY_OTEL_METRICS_EXPORTER="prometheus"
    )
    metrics = stack.gateway.metrics
    assert metrics is not None
    signed = await stack.sign_in("counted@example.org")
    await stack.client.get("/api/v1/user/me", headers={"Authorization": "Bearer gsu_nobody"})
    held = await stack.subscribe(signed["token"])
    refused = await stack.connect()
    await refused.send(json.dumps({"type": "auth", "token": "gsu_nobody"}))
    assert (await closed_with(refused))[0] == 4401
    await stack.wait_subscribed()
    stack.backend.push.publish("test.counted", {"n": 1}, user_ids=[signed["user"]["id"]])
    assert json.loads(await held.recv(decode=True))["kind"] == "test.counted"

    async with httpx.AsyncClient() as client:

        async def scraped() -> str:
            reply = await client.get(f"http://127.0.0.1:{metrics.port}/metrics")
            assert reply.status_code == 200
            return reply.text

        async def counted() -> bool:
            return "gateway_push_delivery_lag_seconds_count" in await scraped()

        await eventually(counted, message="the lag histogram scraped")
        text = await scraped()
    seen = samples(text)
    assert seen[("gateway_ws_connections", (("state", "authenticated"),))] == 1
    assert seen[("gateway_push_events_total", (("kind", "test.counted"),))] == 1
    assert seen[("gateway_http_forwarded_total", (("http_response_status_code", "401"),))] == 1
    assert seen[("gateway_http_forwarded_total", (("http_response_status_code", "202"),))] == 1
    assert seen[("gateway_http_forwarded_total", (("http_response_status_code", "200"),))] == 1
    assert seen[("gateway_ws_closed_total", (("code", "4401"),))] == 1
    assert seen[("gateway_push_subscriptions_live", ())] == 1
    assert seen[("gateway_push_delivery_lag_seconds_count", ())] >= 1
    await held.close()
