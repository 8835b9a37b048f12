from django.contrib import admin

from vaxbook.centres.models import Centre, Slot, Vaccine


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin[Centre]):
    list_display = ("name", "town", "postcode", "time_zone", "is_active")
    list_filter = ("is_active", "town", "time_zone")
    search_fields = ("name", "town", "postcode")


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


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin[Slot]):
    list_display = ("starts_at", "centre", "vaccine", "capacity", "booked", "is_open")
    list_filter = ("is_open", "vaccine", "centre__town")
    search_fields = ("centre__name",)
    date_hierarchy = "starts_at"
    list_select_related = ("centre", "vaccine")
    ordering = ("starts_at",)
    raw_id_fields = ("centre",)
    # The counter belongs to the booking services; the admin shows it and never writes it.
    readonly_fields = ("booked",)
