"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.api.fuzz_hooks): hostile strings in every field.

The generator seldom draws a NUL or a control character on its own; these hooks give
every query parameter and body field a fair chance of one, and of a huge string, which is
what broke routes before the shared text type (src/galaxy_backend/fields.py).
"""

from typing import Any

import schemathesis
from hypothesis import strategies as st

_HOSTILE = ("nul\x00inside", "\x00", "bell\x07", "line\u2028break", "x" * 20_000, "\ud7ff\x1b[0m")


def _variants(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        return []
    variants = []
    for key, item in value.items():
        if isinstance(item, str):
            variants.extend({**value, key: hostile} for hostile in _HOSTILE)
    return variants


def _hostile(value: Any) -> st.SearchStrategy[Any]:
    variants = _variants(value)
    if not variants:
        return st.just(value)
    return st.one_of(st.just(value), st.sampled_from(variants))


@schemathesis.hook
def flatmap_query(ctx: Any, query: Any) -> st.SearchStrategy[Any]:
    return _hostile(query)


@schemathesis.hook
def flatmap_body(ctx: Any, body: Any) -> st.SearchStrategy[Any]:
    return _hostile(body)
