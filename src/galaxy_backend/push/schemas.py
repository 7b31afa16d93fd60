"""Reply model of the push service's status."""

from pydantic import BaseModel


class PushStatusOut(BaseModel):
    last_cursor: int
    oldest_cursor: int
    retained: int
    capacity: int
    subscribers: int
