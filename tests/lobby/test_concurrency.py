"""Races against real PostgreSQL: seats, race names and limits hold however requests interleave."""

import asyncio
from collections import Counter
from uuid import UUID

from tests.support.lobby import Lobby


async def test_thirty_applications_and_approvals_for_four_seats(lobby: Lobby) -> None:
    owner = await lobby.player("owner")
    players = await lobby.players(30)
    game = await lobby.create(owner, min_players=2, max_players=4)
    game_id = game["id"]
    # Ten names, each wanted by three players in look-alike spellings.
    names = []
    for i in range(30):
        base = f"Race{chr(ord('a') + i // 3)}o"
        names.append([base, base.upper(), base.replace("o", "0")][i % 3])

    async def apply_and_approve(index: int) -> tuple[int, int | None]:
        applied = await lobby.apply(players[index], game_id, names[index])
        if applied.status_code != 201:
            return applied.status_code, None
        decided = await lobby.decide(owner, game_id, applied.json()["id"])
        return applied.status_code, decided.status_code

    results = await asyncio.gather(*(apply_and_approve(i) for i in range(30)))
    applied = Counter(code for code, _ in results)
    decided = Counter(code for _, code in results if code is not None)
    # Each look-alike trio yields one application; once the game fills, applying is refused.
    assert applied[201] <= 10
    assert set(applied) <= {201, 409}
    assert decided[200] == 4
    assert set(decided) <= {200, 409}

    page = await lobby.game(owner, game_id)
    assert page["approved_count"] == 4
    assert len(page["players"]) == 4
    canonical = {p["race_name"].casefold().replace("0", "o") for p in page["players"]}
    assert len(canonical) == 4
    rows = await lobby.sql(
        """
        SELECT canonical, count(*) AS holders FROM race_names
        WHERE status <> 'released' GROUP BY canonical HAVING count(*) > 1
        """
    )
    assert rows == []
    counted = await lobby.sql(
        "SELECT approved_count, (SELECT count(*) FROM game_applications"
        " WHERE game_id = $1 AND status = 'approved') AS approved FROM games WHERE id = $1",
        UUID(game_id),
    )
    assert counted[0]["approved_count"] == counted[0]["approved"] == 4


async def test_one_name_wanted_in_many_games_at_once(lobby: Lobby) -> None:
    owners = await lobby.players(6, "owner")
    players = await lobby.players(6)
    games = [await lobby.create(o) for o in owners]
    spellings = ["Vogons", "VOGONS", "v0gons", "Vog\u043ens", "vogons", "VoGoNs"]
    results = await asyncio.gather(
        *(
            lobby.apply(p, g["id"], name)
            for p, g, name in zip(players, games, spellings, strict=True)
        )
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 5
    assert not await lobby.available("Vogons")


async def test_applications_then_approvals_all_at_once(lobby: Lobby) -> None:
    owner = await lobby.player("owner")
    players = await lobby.players(30)
    game = await lobby.create(owner, min_players=2, max_players=4)
    game_id = game["id"]
    # Fifteen names, each also tried in a look-alike spelling by a second player.
    names = [f"Tribe{chr(ord('a') + i // 2)}" for i in range(30)]
    names = [n if i % 2 == 0 else n.upper().replace("O", "0") for i, n in enumerate(names)]
    applied = await asyncio.gather(
        *(lobby.apply(p, game_id, n) for p, n in zip(players, names, strict=True))
    )
    codes = Counter(r.status_code for r in applied)
    assert codes == {201: 15, 409: 15}
    assert {r.json()["error"]["code"] for r in applied if r.status_code == 409} == {
        "race_name_taken"
    }
    decided = await asyncio.gather(
        *(lobby.decide(owner, game_id, r.json()["id"]) for r in applied if r.status_code == 201)
    )
    assert Counter(r.status_code for r in decided) == {200: 4, 409: 11}
    assert {r.json()["error"]["code"] for r in decided if r.status_code == 409} == {"game_full"}
    page = await lobby.game(owner, game_id)
    assert page["approved_count"] == 4
    assert len(await lobby.notices("lobby.application.approved")) == 4
