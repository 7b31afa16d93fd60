"""SQL of the geo counters: per-country daily sign-ins and active users."""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from galaxy_backend.postgres import Connection

# ISO 3166 user-assigned code, kept for addresses that could not be placed.
UNKNOWN_COUNTRY = "ZZ"


@dataclass(frozen=True, slots=True)
class CountryDay:
    """One country's figures for one UTC day."""

    day: date
    country: str
    sign_ins: int
    active_users: int


async def add_sign_ins(conn: Connection, counts: dict[tuple[date, str], int]) -> None:
    """Add a batch of sign-in counts, one row per (day, country)."""
    days, countries = zip(*counts, strict=True) if counts else ((), ())
    await conn.execute(
        """
        INSERT INTO geo_daily_sign_ins (day, country, sign_ins)
        SELECT * FROM unnest($1::date[], $2::text[], $3::bigint[])
        ON CONFLICT (day, country)
        DO UPDATE SET sign_ins = geo_daily_sign_ins.sign_ins + EXCLUDED.sign_ins
        """,
        list(days),
        list(countries),
        list(counts.values()),
    )


async def add_active_users(conn: Connection, active: dict[tuple[date, UUID], str]) -> None:
    """Count each user for the day unless already counted (by any process)."""
    days, users = zip(*active, strict=True) if active else ((), ())
    await conn.execute(
        """
        INSERT INTO geo_daily_active_users (day, user_id, country)
        SELECT * FROM unnest($1::date[], $2::uuid[], $3::text[])
        ON CONFLICT (day, user_id) DO NOTHING
        """,
        list(days),
        list(users),
        list(active.values()),
    )


async def prune_active_users(conn: Connection, *, before: date) -> int:
    """Forget who was active on days before `before`; returns how many rows went."""
    status: str = await conn.execute("DELETE FROM geo_daily_active_users WHERE day < $1", before)
    return int(status.rsplit(" ", 1)[-1])


async def country_days(conn: Connection, *, since: date, until: date) -> list[CountryDay]:
    """Every (day, country) with any figure between the two days inclusive, newest day first."""
    rows = await conn.fetch(
        """
        WITH sign_ins AS (
            SELECT day, country, sign_ins
            FROM geo_daily_sign_ins
            WHERE day BETWEEN $1 AND $2
        ), active AS (
            SELECT day, country, count(*) AS active_users
            FROM geo_daily_active_users
            WHERE day BETWEEN $1 AND $2
            GROUP BY day, country
        )
        SELECT coalesce(s.day, a.day) AS day,
               coalesce(s.country, a.country) AS country,
               coalesce(s.sign_ins, 0) AS sign_ins,
               coalesce(a.active_users, 0) AS active_users
        FROM sign_ins AS s
        FULL JOIN active AS a ON a.day = s.day AND a.country = s.country
        ORDER BY day DESC, country
        """,
        since,
        until,
    )
    return [
        CountryDay(
            day=row["day"],
            country=row["country"],
            sign_ins=row["sign_ins"],
            active_users=row["active_users"],
        )
        for row in rows
    ]
