"""What notifications refuse, each with its stable code."""

from galaxy_backend.kernel.errors import InvalidInput, NotFound


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    summary = "no such notification in this inbox"


class BroadcastNotFound(NotFound):
    code = "broadcast_not_found"
    summary = "no such broadcast"


class DeadLetterNotFound(NotFound):
    code = "dead_letter_not_found"
    summary = "no such dead letter"


class UnknownUsers(InvalidInput):
    code = "unknown_users"
    summary = "no such user (`details.user_ids` lists them)"


class UnknownKind(InvalidInput):
    code = "unknown_kind"
    summary = "unknown notification kind"


class InvalidUnsubscribeToken(InvalidInput):
    code = "invalid_token"
    summary = "this unsubscribe link is not valid"
