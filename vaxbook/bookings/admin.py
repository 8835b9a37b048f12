import contextlib

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vaxbook.bookings import references
from vaxbook.bookings.models import Appointment, VaccinationRecord


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin[Appointment]):
    """Read-only: appointments change only through the booking services, which keep the
    slot counters and the audit trail right."""

    list_display = (
        "display_reference",
        "person",
        "dose_number",
        "status",
        "centre",
        "local_time",
        "vaccine",
        "created_at",
    )
    list_filter = ("status", "dose_number", "slot__vaccine", "slot__centre__town", "slot__centre")
    search_fields = ("reference", "person__full_name", "person__user__email", "slot__centre__name")
    list_select_related = ("person", "slot__centre", "slot__vaccine")
    date_hierarchy = "slot__starts_at"
    ordering = ("-created_at",)

    @admin.display(description=_("reference"), ordering="reference")
    def display_reference(self, appointment: Appointment) -> str:
        return appointment.display_reference

    @admin.display(description=_("centre"), ordering="slot__centre__name")
    def centre(self, appointment: Appointment) -> str:
        return appointment.slot.centre.name

    @admin.display(description=_("time at the centre"), ordering="slot__starts_at")
    def local_time(self, appointment: Appointment) -> str:
        slot = appointment.slot
        return f"{slot.starts_at.astimezone(slot.centre.zone):%Y-%m-%d %H:%M}"

    @admin.display(description=_("vaccine"), ordering="slot__vaccine__name")
    def vaccine(self, appointment: Appointment) -> str:
        return appointment.slot.vaccine.name

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Appointment], search_term: str
    ) -> tuple[QuerySet[Appointment], bool]:
        # A reference is typed as printed ("ABC-DEF-GH7"), stored without the hyphens.
        with contextlib.suppress(references.MalformedReference):
            search_term = references.normalize(search_term)
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(VaccinationRecord)
class VaccinationRecordAdmin(admin.ModelAdmin[VaccinationRecord]):
    list_display = ("appointment", "vaccine", "lot_number", "administered_at", "administered_by")
    list_filter = ("vaccine",)
    search_fields = ("lot_number", "appointment__reference")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
