from django.apps import AppConfig


class ManagementConfig(AppConfig):
    """Staff pages for centre managers and the health authority: centres, opening hours,
    slots and capacity, staff, reports. The rules are in vaxbook.centres."""

    name = "vaxbook.management"
    label = "management"
    default_auto_field = "django.db.models.BigAutoField"
