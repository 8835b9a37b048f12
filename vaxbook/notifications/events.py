from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    """What a message announces about an appointment."""

    BOOKED = "booked", _("Booked")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    CANCELLED = "cancelled", _("Cancelled")
    REMINDER = "reminder", _("Reminder")
    VACCINATED = "vaccinated", _("Vaccinated")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
