"""The health authority's admin for centres, vaccines, opening hours and slots.

Slot places and closures are changed on the staff pages (vaxbook.management), whose services
respect what is booked, tell the people affected and write the audit log; here a slot can be
looked at, added or (when nobody ever booked it) deleted, not edited."""

from django.contrib import admin
from django.db.models import F, FloatField, QuerySet
from django.db.models.functions import Cast, NullIf
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vaxbook.centres.models import Centre, OpeningTemplate, Slot, Vaccine
from vaxbook.centres.policy import CohortOpening


class OpeningTemplateInline(admin.TabularInline[OpeningTemplate, Centre]):
    model = OpeningTemplate
    extra = 0
    fields = (
        "vaccine",
        "weekday",
        "opens_at",
        "closes_at",
        "slot_minutes",
        "places_per_slot",
        "valid_from",
        "valid_until",
    )


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin[Centre]):
    list_display = ("name", "town", "postcode", "time_zone", "vaccines_offered", "is_active")
    list_filter = ("is_active", "town", "time_zone", "vaccines")
    search_fields = ("name", "town", "postcode", "address")
    filter_horizontal = ("vaccines",)
    inlines = (OpeningTemplateInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Centre]:
        return super().get_queryset(request).prefetch_related("vaccines")

    @admin.display(description=_("vaccines offered"))
    def vaccines_offered(self, centre: Centre) -> str:
        return ", ".join(sorted(vaccine.name for vaccine in centre.vaccines.all()))


@admin.register(Vaccine)
class VaccineAdmin(admin.ModelAdmin[Vaccine]):
    list_display = (
        "name",
        "manufacturer",
        "doses_in_primary_course",
        "minimum_days_between_doses",
        "minimum_age",
        "cvx_code",
    )
    list_filter = ("manufacturer", "doses_in_primary_course")
    search_fields = ("name", "manufacturer", "cvx_code")


@admin.register(OpeningTemplate)
class OpeningTemplateAdmin(admin.ModelAdmin[OpeningTemplate]):
    list_display = (
        "centre",
        "vaccine",
        "weekday",
        "opens_at",
        "closes_at",
        "slot_minutes",
        "places_per_slot",
        "valid_from",
        "valid_until",
    )
    list_filter = ("weekday", "vaccine", "centre__town")
    search_fields = ("centre__name", "centre__town")
    list_select_related = ("centre", "vaccine")
    autocomplete_fields = ("centre",)


@admin.register(CohortOpening)
class CohortOpeningAdmin(admin.ModelAdmin[CohortOpening]):
    """The campaign policy (vaxbook.centres.policy): saving takes effect without a deploy."""

    list_display = (
        "name",
        "vaccine",
        "dose_number",
        "minimum_age",
        "maximum_age",
        "priority_group",
        "opens_at",
        "closes_at",
    )
    list_filter = ("vaccine", "priority_group", "dose_number")
    search_fields = ("name",)
    date_hierarchy = "opens_at"


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin[Slot]):
    list_display = (
        "starts_at",
        "centre",
        "vaccine",
        "capacity",
        "booked",
        "utilisation",
        "is_open",
    )
    list_filter = ("is_open", "vaccine", "centre__town", "centre")
    search_fields = ("centre__name", "centre__town")
    date_hierarchy = "starts_at"
    list_select_related = ("centre", "vaccine")
    ordering = ("starts_at",)
    autocomplete_fields = ("centre",)
    # The counter belongs to the booking services; the admin shows it and never writes it.
    readonly_fields = ("booked",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Slot]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                utilisation_ratio=Cast(F("booked"), FloatField())
                / NullIf(Cast(F("capacity"), FloatField()), 0.0)
            )
        )

    @admin.display(description=_("utilisation"), ordering="utilisation_ratio")
    def utilisation(self, slot: Slot) -> str | None:
        ratio = getattr(slot, "utilisation_ratio", None)
        return None if ratio is None else f"{ratio:.0%}"

    def has_change_permission(self, request: HttpRequest, obj: Slot | None = None) -> bool:
        # Viewing stays (has_view_permission); places and closing are the staff pages'.
        return False
