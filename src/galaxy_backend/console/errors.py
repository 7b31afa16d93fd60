"""What the console's own routes refuse, each with its stable code."""

from galaxy_backend.kernel.errors import NotFound


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    summary = "no such mail delivery"
