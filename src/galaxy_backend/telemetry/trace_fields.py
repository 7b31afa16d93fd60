"""The current span's ids as log fields: shared by logging and the runtime without a loop."""

from opentelemetry import trace


def trace_fields_from_context() -> dict[str, str]:
    """`otel_trace_id`/`otel_span_id` of the current span, or nothing outside a trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "otel_trace_id": format(context.trace_id, "032x"),
        "otel_span_id": format(context.span_id, "016x"),
    }
