"""Atomic state files: a turn is committed whole or not at all."""

from pathlib import Path

import pytest

from galaxy_engine.store import Store, StoreBusy, write_atomic


def test_commit_and_read_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "d")
    assert store.open() is None
    store.commit_turn(0, {"state.json": b"{}", "reports/000.json": b"[]"})
    assert store.current() == 0
    assert store.read(0, "reports/000.json") == b"[]"
    store.write_orders(1, 3, b"orders")
    assert store.read_orders(1, 3) == b"orders" and store.read_orders(1, 2) is None
    assert store.orders_present(1) == {3}
    store.close()


def test_uncommitted_turns_are_removed_on_open(tmp_path: Path) -> None:
    store = Store(tmp_path / "d")
    store.open()
    store.commit_turn(0, {"state.json": b"0"})
    store.close()
    (tmp_path / "d" / "turns" / "000001").mkdir()
    (tmp_path / "d" / "turns" / ".tmp-000002").mkdir()
    store = Store(tmp_path / "d")
    assert store.open() == 0
    assert sorted(p.name for p in (tmp_path / "d" / "turns").iterdir()) == ["000000"]
    store.close()


def test_a_directory_serves_one_process(tmp_path: Path) -> None:
    first = Store(tmp_path / "d")
    first.open()
    with pytest.raises(StoreBusy):
        Store(tmp_path / "d").open()
    first.close()
    second = Store(tmp_path / "d")
    second.open()
    second.close()


def test_write_atomic_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "CURRENT"
    write_atomic(path, b"1\n")
    write_atomic(path, b"2\n")
    assert path.read_bytes() == b"2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT"]
