import contextlib
import uuid

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from vaxbook.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """The audit log, read-only for everyone, administrators included."""

    list_display = (
        "at",
        "action",
        "outcome",
        "actor",
        "centre",
        "appointment_id",
        "client_address",
    )
    list_filter = ("action", "centre", "at")
    list_select_related = ("actor", "centre")
    search_fields = ("actor__email",)
    date_hierarchy = "at"
    fields = (
        "at",
        "action",
        "outcome",
        "actor",
        "centre",
        "appointment_id",
        "client_address",
        "detail",
    )
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], search_term: str
    ) -> tuple[QuerySet[AuditEvent], bool]:
        # An appointment id is matched exactly (a UUID column has no "contains"); anything
        # else is searched in the actor's email address.
        with contextlib.suppress(ValueError):
            appointment_id = uuid.UUID(search_term.strip())
            return queryset.filter(appointment_id=appointment_id), False
        return super().get_search_results(request, queryset, search_term)
