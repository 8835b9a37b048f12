from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from vaxbook.waiting_list.models import Offer, WaitingEntry


class ReadOnly[M: Model](admin.ModelAdmin[M]):
    """Read-only: entries and offers change only through the services, whose conditional
    updates keep every slot's counter equal to its appointments and held offers."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WaitingEntry)
class WaitingEntryAdmin(ReadOnly[WaitingEntry]):
    list_display = ("joined_at", "person", "vaccine", "dose_number", "status", "short_notice")
    list_filter = ("status", "vaccine", "short_notice")
    list_select_related = ("person", "vaccine")
    date_hierarchy = "joined_at"


@admin.register(Offer)
class OfferAdmin(ReadOnly[Offer]):
    list_display = ("made_at", "person", "slot", "status", "expires_at", "decided_at")
    list_filter = ("status",)
    list_select_related = ("person", "slot__centre", "slot__vaccine")
    date_hierarchy = "made_at"
