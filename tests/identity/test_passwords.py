"""Password checks run on a bounded number of threads; past the bound, a login is refused."""

import asyncio

from argon2 import PasswordHasher

from galaxy_backend.admin.passwords import Passwords
from galaxy_backend.errors import Unavailable

# The cheapest parameters argon2 allows: the bound is what is tested, not the hash.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


async def test_checks_beyond_the_bound_are_refused_at_once() -> None:
    passwords = Passwords(FAST, max_concurrent=1, max_waiting=1)
    stored = await passwords.hash("secret password")
    results = await asyncio.gather(
        *(passwords.verify(stored, "secret password") for _ in range(3)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, Unavailable)]
    assert len(refused) == 1
    assert refused[0].retry_after_seconds == 1
    assert results.count(True) == 2
    # Once the checks are done, new ones are admitted again.
    assert await passwords.verify(stored, "secret password") is True


async def test_an_unknown_account_is_checked_against_a_decoy() -> None:
    passwords = Passwords(FAST)
    assert await passwords.verify(None, "anything") is False
