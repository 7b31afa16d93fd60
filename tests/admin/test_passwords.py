"""Password checks run on a bounded number of threads; past the bound, a login is refused."""

import asyncio

from argon2 import PasswordHasher

from galaxy_backend.admin.passwords import Passwords
from galaxy_backend.kernel.errors import Unavailable

# The cheapest parameters argon2 allows: the bound is what is tested, not the hash.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


async def test_checks_beyond_the_bound_are_refused_at_once() -> None:
    passwords = Passwords(FAST, max_concurrent=1, max_waiting=1)
    stored = await passwords.hash("secret password")
    results = await asyncio.gather(
        *(passwords.verify(stored, "secret password", lane="suspect") for _ in range(3)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, Unavailable)]
    assert len(refused) == 1
    assert refused[0].retry_after_seconds == 1
    assert results.count(True) == 2
    # Once the checks are done, new ones are admitted again.
    assert await passwords.verify(stored, "secret password", lane="suspect") is True


async def test_a_full_suspect_lane_neither_refuses_nor_delays_the_other_lanes() -> None:
    passwords = Passwords(FAST, max_concurrent=1, max_waiting=2)
    stored = await passwords.hash("secret password")
    finished: list[str] = []

    async def check(lane: str, label: str) -> None:
        await passwords.verify(stored, "secret password", lane=lane)  # type: ignore[arg-type]
        finished.append(label)

    suspects = [asyncio.create_task(check("suspect", f"suspect{n}")) for n in range(3)]
    await asyncio.sleep(0)  # they are admitted: one runs, two wait
    operator = asyncio.create_task(check("clean", "operator"))
    results = await asyncio.gather(*suspects, operator, return_exceptions=True)
    assert [type(r) for r in results] == [type(None)] * 4
    # The operator waited only for the check running when it came, not the queue.
    assert finished.index("operator") <= 1
    overflow = await asyncio.gather(
        *(passwords.verify(stored, "x", lane="suspect") for _ in range(5)),
        passwords.verify(stored, "secret password", lane="trusted"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Unavailable) for r in overflow[:5]) == 2
    assert overflow[5] is True


async def test_an_unknown_account_is_checked_against_a_decoy() -> None:
    passwords = Passwords(FAST)
    assert await passwords.verify(None, "anything") is False
