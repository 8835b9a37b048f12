import contextlib

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from vaxbook.bookings import references
from vaxbook.notifications.models import Message, MessageStatus
from vaxbook.notifications.services import retry_message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    """The outbox, read-only: what was sent, what is waiting, what failed and why. The one
    thing staff can do is give failed messages a new round of attempts."""

    list_display = (
        "created_at",
        "reference",
        "event",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "event", "channel")
    list_select_related = ("appointment",)
    search_fields = ("appointment__reference", "idempotency_key")
    date_hierarchy = "created_at"
    actions = ("retry_failed",)
    readonly_fields = (
        "appointment",
        "slot",
        "event",
        "channel",
        "version",
        "idempotency_key",
        "reason",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
    )
    fields = readonly_fields

    @admin.display(description=_("reference"), ordering="appointment__reference")
    def reference(self, message: Message) -> str:
        return message.appointment.display_reference

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Message], search_term: str
    ) -> tuple[QuerySet[Message], bool]:
        # A reference is typed as printed ("ABC-DEF-GH7"), stored without the hyphens.
        with contextlib.suppress(references.MalformedReference):
            search_term = references.normalize(search_term)
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    @admin.action(description=_("Retry selected failed messages"), permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        retried = sum(
            retry_message(message) for message in queryset.filter(status=MessageStatus.FAILED)
        )
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message will be sent again.",
                    "%(count)d messages will be sent again.",
                    retried,
                )
                % {"count": retried},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, _("None of the selected messages had failed."), messages.WARNING
            )
