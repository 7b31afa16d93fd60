"""What the players' domain refuses, each with its stable code."""

from galaxy_backend.kernel.errors import NotFound


class UserNotFound(NotFound):
    code = "user_not_found"
    summary = "no such user"
