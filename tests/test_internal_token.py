"""The internal token: configured, or generated once into the data dir and reused."""

import stat
from pathlib import Path

import pytest

from galaxy_backend.internal_token import TOKEN_FILE, resolve_internal_token


def test_a_configured_token_is_used_as_is(tmp_path: Path) -> None:
    token, path = resolve_internal_token("c" * 40, tmp_path)
    assert token == "c" * 40
    assert path is None
    assert not (tmp_path / TOKEN_FILE).exists()


def test_a_generated_token_is_kept_private_and_reused(tmp_path: Path) -> None:
    first, path = resolve_internal_token(None, tmp_path / "data")
    assert path == tmp_path / "data" / TOKEN_FILE
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second, _ = resolve_internal_token(None, tmp_path / "data")
    assert second == first


def test_a_short_token_in_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / TOKEN_FILE).write_text("short\n")
    with pytest.raises(ValueError, match="shorter than 32"):
        resolve_internal_token(None, tmp_path)
