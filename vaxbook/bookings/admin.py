from django.contrib import admin
from django.http import HttpRequest

from vaxbook.bookings.models import Appointment, VaccinationRecord


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin[Appointment]):
    """Read-only: appointments change only through the booking services, which keep the
    slot counters and the audit trail right."""

    list_display = ("reference", "person", "dose_number", "status", "slot", "created_at")
    list_filter = ("status", "dose_number", "slot__vaccine")
    search_fields = ("reference", "person__full_name", "person__user__email")
    list_select_related = ("person", "slot__centre", "slot__vaccine")
    ordering = ("-created_at",)

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
