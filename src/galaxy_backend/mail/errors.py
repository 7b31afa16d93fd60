"""What the mail queue refuses, each with its stable code."""

from galaxy_backend.kernel.errors import Conflict, NotFound


class MailDeliveryNotFound(NotFound):
    code = "mail_delivery_not_found"
    summary = "no such mail delivery"


class MailDeliveryRedacted(Conflict):
    code = "mail_delivery_redacted"
    summary = "this mail carried a secret that is gone; it cannot be sent again"


class MailDeliveryNotFailed(Conflict):
    code = "mail_delivery_not_failed"
    summary = "only a failed delivery can be retried (`details.status` is this one's)"


class IdempotencyKeyBusy(Conflict):
    code = "conflict"
    summary = "a mail with this idempotency key is being queued concurrently"
