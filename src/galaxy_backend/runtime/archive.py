"""Every turn's reports, fetched from the engine and kept compressed in the database.

The reports of one turn repeat each other a great deal (every race sees the same map and
the same table of races, and the text reports share their layout): one by one, zstd or
zlib shrink them about fourfold; against a dictionary made of one of them, about twentyfold
(README "Runtime" has the figures, `bench/report_archive.py` measures them). So each turn
keeps one dictionary, the largest report of the turn in both forms (compressed itself),
and every report of the turn is compressed against it as raw content.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import zstandard

from galaxy_backend.kernel.errors import NotFound
from galaxy_backend.runtime.engine_client import EngineClient

# Requests to one engine at a time for a turn's reports (two per player: JSON and text).
REPORT_FETCHES = 8
_LEVEL = 3


@dataclass(frozen=True, slots=True)
class PlayerReport:
    """One player's report of a turn, as the engine wrote it."""

    player_id: UUID
    json: bytes
    text: bytes


@dataclass(frozen=True, slots=True)
class PackedReport:
    player_id: UUID
    json: bytes
    text: bytes


@dataclass(frozen=True, slots=True)
class PackedTurn:
    """A turn's reports as they are stored: the dictionary and each report against it."""

    dictionary: bytes
    reports: tuple[PackedReport, ...]
    raw_bytes: int
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class KeptTurn:
    """What is kept of a turn: its number, the engine's summary of it, its reports."""

    turn: int
    summary: dict[str, Any]
    packed: PackedTurn


def _raw_dictionary(content: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def pack(reports: Sequence[PlayerReport]) -> PackedTurn:
    """Compress a turn's reports against one of them (CPU work: run it off the event loop)."""
    if not reports:
        return PackedTurn(b"", (), 0, 0)
    base = max(reports, key=lambda r: len(r.json) + len(r.text))
    content = base.json + base.text
    dictionary = _raw_dictionary(content)
    compressor = zstandard.ZstdCompressor(level=_LEVEL, dict_data=dictionary)
    packed = tuple(
        PackedReport(r.player_id, compressor.compress(r.json), compressor.compress(r.text))
        for r in reports
    )
    stored_dictionary = zstandard.ZstdCompressor(level=_LEVEL).compress(content)
    return PackedTurn(
        dictionary=stored_dictionary,
        reports=packed,
        raw_bytes=sum(len(r.json) + len(r.text) for r in reports),
        stored_bytes=len(stored_dictionary) + sum(len(p.json) + len(p.text) for p in packed),
    )


def unpack(dictionary: bytes, blob: bytes) -> bytes:
    """One stored report as the engine wrote it."""
    content = zstandard.ZstdDecompressor().decompress(dictionary)
    return zstandard.ZstdDecompressor(dict_data=_raw_dictionary(content)).decompress(blob)


async def fetch_reports(
    engine: EngineClient, game_id: UUID, address: str, player_ids: Sequence[UUID], turn: int
) -> list[PlayerReport]:
    """Every player's report of `turn`, both forms, a few requests at a time.

    A player the engine has no report for (404) has none; any other failure raises, so the
    turn is committed with its reports or tried again.
    """
    slots = asyncio.Semaphore(REPORT_FETCHES)

    async def form(player_id: UUID, text: bool) -> bytes:
        async with slots:
            response = await engine.call(
                game_id,
                address,
                "GET",
                f"/players/{player_id}/reports/{turn}",
                params={"format": "text"} if text else None,
            )
        return response.content

    async def one(player_id: UUID) -> PlayerReport | None:
        try:
            json_report, text_report = await asyncio.gather(
                form(player_id, False), form(player_id, True)
            )
        except NotFound:
            return None
        return PlayerReport(player_id, json_report, text_report)

    fetched = await asyncio.gather(*(one(player_id) for player_id in player_ids))
    return [report for report in fetched if report is not None]
