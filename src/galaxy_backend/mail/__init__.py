"""Mail: the outbox table and its service, templates, the SMTP worker and the embedded sink."""

from galaxy_backend.mail.models import STATUSES, Delivery, DeliveryStatus
from galaxy_backend.mail.service import MailService
from galaxy_backend.mail.templates import RenderedMail

__all__ = ["STATUSES", "Delivery", "DeliveryStatus", "MailService", "RenderedMail"]
