from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from vaxbook.waiting_room.models import WaitingRoom


@admin.register(WaitingRoom)
class WaitingRoomAdmin(admin.ModelAdmin[WaitingRoom]):
    list_display = ("name", "active", "opens_at", "rate_per_minute", "mode", "paused")
    list_filter = ("active", "mode")
    fieldsets = (
        (None, {"fields": ("name", "cohort_opening", "active", "opens_at")}),
        (
            _("Admission"),
            {
                "fields": (
                    "mode",
                    "rate_per_minute",
                    "paused",
                    "pass_lifetime_seconds",
                    "auto_switch_on_per_second",
                )
            },
        ),
        (_("When places run out"), {"fields": ("next_release",)}),
    )
