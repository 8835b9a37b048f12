from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from vaxbook.waiting_room.models import WaitingRoom


class WaitingRoomForm(forms.ModelForm[WaitingRoom]):
    class Meta:
        model = WaitingRoom
        fields = (
            "name",
            "cohort_opening",
            "active",
            "opens_at",
            "mode",
            "rate_per_minute",
            "paused",
            "pass_lifetime_seconds",
            "auto_switch_on_per_second",
            "next_release",
        )

    def clean(self) -> dict[str, Any]:
        """The opening instant defaults to the linked cohort opening's."""
        data = super().clean() or {}
        cohort = data.get("cohort_opening")
        if not data.get("opens_at"):
            if cohort is None:
                raise forms.ValidationError(
                    _("Give the opening instant, or link a cohort opening to take its own.")
                )
            data["opens_at"] = cohort.opens_at
            self.instance.opens_at = cohort.opens_at
        return data


@admin.register(WaitingRoom)
class WaitingRoomAdmin(admin.ModelAdmin[WaitingRoom]):
    form = WaitingRoomForm
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
