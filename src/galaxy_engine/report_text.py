"""The text form of a report, rendered from its JSON form, in GalaxyNG's section order.

Tables are aligned the way GalaxyNG aligns them (labels centred, words left, numbers
right, one space between columns); numbers print with 2 decimals.
"""

import math
from collections.abc import Sequence
from typing import Any

MAP_WIDTH = 80
MAP_HEIGHT = 40


def _cell(value: object) -> tuple[str, bool]:
    """The text of a cell and whether it aligns right (numbers)."""
    if value is None:
        return "-", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float):
        text = f"{value:.2f}"
        return ("0.00" if text == "-0.00" else text), True
    return str(value), False


def table(labels: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(label) for label in labels]
    for row in cells:
        for i, (text, _right) in enumerate(row):
            widths[i] = max(widths[i], len(text))
    head = []
    for i, label in enumerate(labels):
        if i == 0:
            head.append(label.ljust(widths[i]))
        else:
            spare = widths[i] - len(label)
            head.append(" " * (spare - spare // 2) + label + " " * (spare // 2))
    lines = [" ".join(head).rstrip()]
    for row in cells:
        parts = [
            text.rjust(widths[i]) if right else text.ljust(widths[i])
            for i, (text, right) in enumerate(row)
        ]
        lines.append(" ".join(parts).rstrip())
    return lines


def _section(out: list[str], title: str, lines: list[str]) -> None:
    out.append("")
    out.append(f"\t\t{title}")
    out.append("")
    out.extend(lines)


class _Names:
    def __init__(self, report: dict[str, Any]) -> None:
        self.by_number: dict[int, dict[str, Any]] = {}
        for p in report["planets"]:
            self.by_number[p["number"]] = p
        for p in report["other_planets"]:
            self.by_number[p["number"]] = p

    def name(self, number: int | None) -> str:
        if number is None:
            return "-"
        return str(self.by_number[number]["name"])

    def xy(self, number: int) -> tuple[float, float]:
        p = self.by_number[number]
        return float(p["x"]), float(p["y"])


def _bulletins(report: dict[str, Any], out: list[str]) -> None:
    races = sorted(report["races"], key=lambda r: r["rank"])
    out.append(
        f"{report['game_id']} Top {len(races)} of turn {report['turn']}"
        + (" (final standing)" if report["finished"] else "")
    )
    out.append("")
    rows = [
        [
            r["rank"],
            r["name"],
            r["population"],
            r["industry"],
            r["production"],
            r["drive"] + r["weapons"] + r["shields"] + r["cargo"],
            r["planets"],
            ("quit" if r["quit"] else "") if r["alive"] else "eliminated",
        ]
        for r in races
    ]
    out.extend(table(["#", "Race", "Pop", "Ind", "eInd", "tech", "#", ""], rows))
    race = report["race"]
    out.append("")
    out.append("\t\tProduction Status")
    out.append("So far you have:")
    out.append(f"  produced a total shipmass of {race['mass_produced']:.2f}")
    out.append(f"  lost a total shipmass of     {race['mass_lost']:.2f}")


def _messages(report: dict[str, Any], out: list[str]) -> None:
    messages = report["messages"]
    public = [m for m in messages if m["kind"] not in ("error", "warning", "message", "idle")]
    public += [m for m in messages if m["kind"] == "message" and "to" not in m]
    personal = [m for m in messages if m["kind"] == "idle"]
    personal += [m for m in messages if m["kind"] == "message" and "to" in m]
    for title, block in (
        ("GLOBAL Messages", public),
        (f"PERSONAL Messages for {report['race']['name']}", personal),
    ):
        if not block:
            continue
        out.extend(("", title, ""))
        for m in block:
            if m["kind"] == "message":
                out.append(f"-message from {m['sender']} starts-")
                out.extend(m["text"].splitlines())
                out.append("-message ends-")
            else:
                out.append(m["text"])


def _options(report: dict[str, Any], out: list[str]) -> None:
    options = report["options"]
    rows: list[list[object]] = [
        ["Full bombing", "ON" if options["full_bombing"] else "OFF"],
        ["Keep production", "ON" if options["keep_production"] else "OFF"],
        ["Drop idle players", "ON" if options["drop_idle_races"] else "OFF"],
        ["Spherical Galaxy", "ON" if options["spherical"] else "OFF"],
        ["Peace until turn", options["peace_turns"]],
        ["Turn limit", options["max_turns"] or "none"],
    ]
    _section(out, "Game Options", table(["N", "S"], rows))
    mine = report["race"]["options"]
    _section(
        out,
        "Your Options",
        table(["N", "S"], [[name, "ON" if on else "OFF"] for name, on in mine.items()]),
    )


def _orders(report: dict[str, Any], out: list[str]) -> None:
    received = report["orders_received"]
    issues = [m for m in report["messages"] if m["kind"] in ("error", "warning")]
    if received:
        out.append("")
        out.append("ORDERS RECEIVED")
        out.append("")
        out.extend(f"> {line}" for line in received)
    if issues:
        out.append("")
        out.append("MISTAKES")
        out.append("")
        for m in issues:
            label = "ERROR" if m["kind"] == "error" else "WARNING"
            out.append(f"line {m['line']}: {m['order']}")
            out.append(f">   {label}: {m['text']}")


def _status(report: dict[str, Any], out: list[str]) -> None:
    rows = [
        [
            r["name"],
            r["drive"],
            r["weapons"],
            r["shields"],
            r["cargo"],
            r["population"],
            r["industry"],
            r["planets"],
            {"-": "-", "war": "War", "peace": "Peace"}[r["relation"]] if r["alive"] else "Gone",
        ]
        for r in report["races"]
    ]
    _section(out, "Status of Players", table(["N", "D", "W", "S", "C", "P", "I", "#", "R"], rows))


def _type_rows(types: list[dict[str, Any]]) -> list[list[object]]:
    return [
        [
            t["name"],
            t["drive"],
            t["guns"],
            t["weapons"],
            t["shields"],
            t["cargo"],
            t["mass"],
            t["speed"],
            t["defence"],
        ]
        for t in types
    ]


TYPE_LABELS = ["N", "D", "A", "W", "S", "C", "Mass", "Speed", "Def"]


def _ship_types(report: dict[str, Any], out: list[str]) -> None:
    if report["ship_types"]:
        _section(out, "Your Ship Types", table(TYPE_LABELS, _type_rows(report["ship_types"])))
    by_race: dict[str, list[dict[str, Any]]] = {}
    for t in report["alien_ship_types"]:
        by_race.setdefault(t["race"], []).append(t)
    for race, types in by_race.items():
        _section(out, f"{race} Ship Types", table(TYPE_LABELS, _type_rows(types)))


def _tech_and_load(g: dict[str, Any]) -> list[object]:
    """The D W S C T Q columns of a group: its tech levels, cargo type and load per ship."""
    tech = g["tech"]
    return [tech["drive"], tech["weapons"], tech["shields"], tech["cargo"], g["cargo"], g["load"]]


def _battles(report: dict[str, Any], names: _Names, out: list[str]) -> None:
    me = report["race"]["name"]
    for battle in report["battles"]:
        out.append("")
        out.append(f"\t\tBattle at {battle['name']} (#{battle['planet']})")
        for part in battle["participants"]:
            title = "Your Groups" if part["race"] == me else f"{part['race']} Groups"
            rows = [
                [g["ships"], g["type"], *_tech_and_load(g), g["survivors"]] for g in part["groups"]
            ]
            _section(out, title, table(["#", "T", "D", "W", "S", "C", "T", "Q", "L"], rows))
        out.append("")
        out.append(f"Shots fired: {battle['shots']}, ships destroyed: {battle['kills']}")
        if "protocol" in battle:
            _section(
                out,
                "Battle Protocol",
                [
                    f"{s['attacker']} {s['attacker_type']} fires on {s['target']} "
                    f"{s['target_type']} : {'Destroyed' if s['destroyed'] else 'Shields'}"
                    for s in battle["protocol"]
                ],
            )
    if report["bombings"]:
        rows = [
            [
                b["new_owner"] or b["bomber"],
                b["owner"],
                b["name"],
                b["population"],
                b["industry"],
                b["production"],
                b["cap"],
                b["mat"],
                b["col"],
            ]
            for b in report["bombings"]
        ]
        _section(out, "Bombings", table(["W", "O", "N", "P", "I", "P", "$", "M", "C"], rows))


def _group_xy(g: dict[str, Any], names: _Names) -> tuple[float, float]:
    fx, fy = names.xy(g["from"])
    tx, ty = names.xy(g["to"])
    total = math.hypot(tx - fx, ty - fy)
    if total == 0:
        return tx, ty
    ratio = g["distance_left"] / total
    return tx - ratio * (tx - fx), ty - ratio * (ty - fy)


def _map(report: dict[str, Any], names: _Names, out: list[str]) -> None:
    window = report["race"]["map"]
    x1, y1 = float(window["x"]), float(window["y"])
    x2, y2 = x1 + float(window["size"]), y1 + float(window["size"])
    span_x, span_y = x2 - x1, y2 - y1
    grid = [[" "] * MAP_WIDTH for _ in range(MAP_HEIGHT)]

    def put(x: float, y: float, mark: str) -> None:
        # Any window `m` accepts must render: far out, the size can vanish next to the
        # corner (1e20 + 1 == 1e20) and a cell index can overflow, so test before int().
        if not span_x or not span_y:
            return
        column = (x - x1) / span_x * MAP_WIDTH
        row = (y - y1) / span_y * MAP_HEIGHT
        if -1 < column < MAP_WIDTH and -1 < row < MAP_HEIGHT:
            grid[int(row)][int(column)] = mark

    for p in report["other_planets"]:
        if p["status"] == "uninhabited":
            put(p["x"], p["y"], "o")
    for p in report["other_planets"]:
        if p["status"] != "uninhabited":
            put(p["x"], p["y"], "+")
    for p in report["planets"]:
        put(p["x"], p["y"], "*")
    for g in report["groups"]:
        if "to" in g:
            put(*_group_xy(g, names), ".")
    for mark in report["hyperspace_marks"]:
        put(mark["x"], mark["y"], "-")
    out.append("")
    out.append(f"{x1:.2f},{y1:.2f}  {x2:.2f},{y1:.2f}")
    out.append("-" * MAP_WIDTH)
    out.extend("".join(row).rstrip() for row in grid)
    out.append("-" * MAP_WIDTH)
    out.append(f"{x1:.2f},{y2:.2f}  {x2:.2f},{y2:.2f}")


def _planet_row(p: dict[str, Any]) -> list[object]:
    return [
        p["name"],
        p["x"],
        p["y"],
        p["size"],
        p["population"],
        p["industry"],
        p["resources"],
        p["production"],
        p["cap"],
        p["mat"],
        p["col"],
        p["production_points"],
    ]


PLANET_LABELS = ["N", "X", "Y", "S", "P", "I", "R", "P", "$", "M", "C", "L"]


def _planets(report: dict[str, Any], names: _Names, out: list[str]) -> None:
    incoming = [
        [names.name(g["from"]), names.name(g["to"]), g["distance_left"], g["speed"], g["mass"]]
        for g in report["incoming"]
    ]
    if incoming:
        _section(out, "Incoming Groups", table(["O", "D", "R", "S", "M"], incoming))
    _section(out, "Your Planets", table(PLANET_LABELS, [_planet_row(p) for p in report["planets"]]))
    building = [
        [p["name"], p["production"], p["ship_cost"], p["progress"]]
        for p in report["planets"]
        if "ship_cost" in p
    ]
    if building and report["race"]["options"].get("PRODTABLE", True):
        _section(out, "Ships In Production", table(["N", "P", "N", "U"], building))
    routes = [
        [p["name"], *(names.name(p["routes"].get(c)) for c in ("CAP", "MAT", "COL", "EMP"))]
        for p in report["planets"]
        if p["routes"]
    ]
    if routes:
        _section(out, "Your Routes", table(["N", "$", "M", "C", "E"], routes))
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for p in report["other_planets"]:
        if p["status"] == "alien":
            by_owner.setdefault(p["owner"], []).append(p)
    for owner, planets in by_owner.items():
        _section(out, f"{owner} Planets", table(PLANET_LABELS, [_planet_row(p) for p in planets]))
    unidentified = [
        [p["name"], p["x"], p["y"]]
        for p in report["other_planets"]
        if p["status"] == "unidentified"
    ]
    _section(out, "Unidentified Planets", table(["N", "X", "Y"], unidentified))
    uninhabited = []
    for p in report["other_planets"]:
        if p["status"] != "uninhabited":
            continue
        if p["seen"]:
            uninhabited.append(
                [p["name"], p["x"], p["y"], p["size"], p["resources"], p["cap"], p["mat"]]
            )
        else:
            uninhabited.append([p["name"], p["x"], p["y"], "", "", "", ""])
    _section(out, "Uninhabited Planets", table(["N", "X", "Y", "S", "R", "$", "M"], uninhabited))


def _own_group_row(g: dict[str, Any], names: _Names) -> list[object]:
    if "at" in g:
        where, left, origin = names.name(g["at"]), "", ""
    else:
        where, left, origin = (
            names.name(g["to"]),
            f"{g['distance_left']:.2f}",
            names.name(g["from"]),
        )
    return [g["number"], g["ships"], g["type"], *_tech_and_load(g), where, left, origin]


GROUP_LABELS = ["G", "#", "T", "D", "W", "S", "C", "T", "Q", "D", "R", "O"]


def _groups(report: dict[str, Any], names: _Names, out: list[str]) -> None:
    loose = [g for g in report["groups"] if g["fleet"] is None]
    if loose:
        _section(out, "Your Groups", table(GROUP_LABELS, [_own_group_row(g, names) for g in loose]))
    for fleet in report["fleets"]:
        members = [g for g in report["groups"] if g["fleet"] == fleet["name"]]
        _section(
            out,
            f"Fleet {fleet['name']} (speed {fleet['speed']:.2f})",
            table(GROUP_LABELS, [_own_group_row(g, names) for g in members]),
        )
    by_race: dict[str, list[dict[str, Any]]] = {}
    for g in report["alien_groups"]:
        by_race.setdefault(g["race"], []).append(g)
    for race, groups in by_race.items():
        rows = [[g["ships"], g["type"], *_tech_and_load(g), names.name(g["at"])] for g in groups]
        _section(out, f"{race} Groups", table(["#", "T", "D", "W", "S", "C", "T", "Q", "D"], rows))


def render(report: dict[str, Any]) -> str:
    """The text report: bulletins, messages, options, orders, status, ships, battles,
    map, incoming groups, planets, production, routes, other planets, groups."""
    names = _Names(report)
    race = report["race"]
    out = [
        f"\t\tGalaxy Game {report['game_id']} Turn {report['turn']} Report for {race['name']}",
        "",
        f"Bulletins for Galaxy Game {report['game_id']} Turn {report['turn']}",
        "",
    ]
    _bulletins(report, out)
    _messages(report, out)
    _options(report, out)
    _orders(report, out)
    _status(report, out)
    _ship_types(report, out)
    _battles(report, names, out)
    _map(report, names, out)
    _planets(report, names, out)
    _groups(report, names, out)
    out.append("")
    return "\n".join(line.rstrip() for line in out)
