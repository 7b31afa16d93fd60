"""The bounded queue between the calling paths and the runtime workers."""

import asyncio
from uuid import UUID

from galaxy_backend.runtime.errors import RuntimeBusy


class JobQueue:
    """Jobs are rows first (so a restart resumes them and two backends never run one twice);
    the queue carries their ids to this process's workers. A full queue refuses new work
    at once with a 503 and a Retry-After, rather than letting callers wait.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._queue: asyncio.Queue[UUID] = asyncio.Queue(maxsize=capacity)
        self._queued: set[UUID] = set()

    def check_room(self) -> None:
        if self._queue.full():
            raise RuntimeBusy(
                "the runtime's job queue is full; try again shortly", retry_after_seconds=5
            )

    def offer(self, job_id: UUID) -> bool:
        """Queue a job id unless it is queued already or there is no room (the DB poll
        offers it again later)."""
        if job_id in self._queued or self._queue.full():
            return False
        self._queued.add(job_id)
        self._queue.put_nowait(job_id)
        return True

    async def take(self) -> UUID:
        job_id = await self._queue.get()
        self._queued.discard(job_id)
        return job_id

    def __len__(self) -> int:
        return self._queue.qsize()
