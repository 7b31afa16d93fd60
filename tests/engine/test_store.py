"""Atomic state files: a turn is committed whole or not at all."""

import tarfile
from pathlib import Path

import pytest

from galaxy_engine.store import Store, StoreBusy, pack_files, write_atomic


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


def _turn_files(turn: int) -> dict[str, bytes]:
    return {
        "state.json": f"state {turn}".encode(),
        "answer.json": f"answer {turn}".encode(),
        "reports/000.json": f"json {turn}".encode() * 50,
        "reports/000.txt": f"text {turn}".encode() * 50,
    }


def _layout(root: Path) -> dict[int, list[str]]:
    return {
        int(turn.name): sorted(p.name for p in turn.iterdir())
        for turn in sorted((root / "turns").iterdir())
    }


def test_only_the_last_turns_keep_their_state_and_loose_reports(tmp_path: Path) -> None:
    store = Store(tmp_path / "d", keep_states=2)
    store.open()
    for turn in range(6):
        if turn:
            store.write_orders(turn, 0, f"orders {turn}".encode())
        store.commit_turn(turn, _turn_files(turn))
    store.write_orders(6, 0, b"orders 6")
    packed = ["answer.json", "packed.tar.xz"]
    loose = ["answer.json", "reports", "state.json"]
    assert _layout(tmp_path / "d") == {
        0: packed,
        1: packed,
        2: packed,
        3: packed,
        4: loose,
        5: loose,
    }
    for turn in range(6):
        assert store.read_report(turn, "000.json") == f"json {turn}".encode() * 50
        assert store.read_report(turn, "000.txt") == f"text {turn}".encode() * 50
        assert store.read(turn, "answer.json") == f"answer {turn}".encode()
        with pytest.raises(FileNotFoundError):
            store.read_report(turn, "001.json")
    # The orders a packed turn ran with went into its archive; the next turn's are loose.
    assert sorted(p.name for p in (tmp_path / "d" / "orders").iterdir()) == [
        "000004",
        "000005",
        "000006",
    ]
    with tarfile.open(tmp_path / "d" / "turns" / "000003" / "packed.tar.xz") as archive:
        assert archive.getnames() == ["reports/000.json", "reports/000.txt", "orders/000.json"]
        member = archive.extractfile("orders/000.json")
        assert member is not None and member.read() == b"orders 3"
    assert store.read_orders(6, 0) == b"orders 6"
    store.close()


def test_keep_states_0_keeps_everything(tmp_path: Path) -> None:
    store = Store(tmp_path / "d", keep_states=0)
    store.open()
    for turn in range(5):
        store.commit_turn(turn, _turn_files(turn))
    assert all("state.json" in names for names in _layout(tmp_path / "d").values())
    store.close()
    with pytest.raises(ValueError):
        Store(tmp_path / "d", keep_states=-1)


def test_a_backlog_is_packed_a_few_turns_at_a_time_and_a_half_packed_turn_is_finished(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "d", keep_states=0)
    store.open()
    for turn in range(8):
        store.commit_turn(turn, _turn_files(turn))
    store.close()
    # A crash after the archive of turn 0 was in place, before its loose files went.
    turn_0 = tmp_path / "d" / "turns" / "000000"
    reports = [(f"reports/{p.name}", p) for p in sorted((turn_0 / "reports").iterdir())]
    (turn_0 / "packed.tar.xz").write_bytes(pack_files(reports))
    store = Store(tmp_path / "d", keep_states=2)
    assert store.open() == 7
    store.commit_turn(8, _turn_files(8))
    # Turn 6 aged out, and two turns of the backlog (0 to 5) were packed with it.
    layout = _layout(tmp_path / "d")
    assert [t for t, names in layout.items() if "state.json" not in names] == [0, 1, 6]
    store.commit_turn(9, _turn_files(9))
    store.commit_turn(10, _turn_files(10))
    layout = _layout(tmp_path / "d")
    assert [t for t, names in layout.items() if "state.json" in names] == [9, 10]
    assert all("reports" not in names for t, names in layout.items() if t < 9)
    assert [store.read_report(t, "000.txt")[:7] for t in (0, 5, 10)] == [
        b"text 0t",
        b"text 5t",
        b"text 10",
    ]
    store.close()


def test_packing_is_deterministic(tmp_path: Path) -> None:
    files = []
    for name in ("000.json", "000.txt"):
        path = tmp_path / name
        path.write_bytes(name.encode() * 100)
        files.append((f"reports/{name}", path))
    assert pack_files(files) == pack_files(files)
