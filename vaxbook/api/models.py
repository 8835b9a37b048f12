"""What the JSON API keeps: bearer tokens and idempotency records.

Neither holds a secret in the clear: a token row stores the SHA-256 of the random token the
client holds, so a leaked database (or backup) gives nobody a usable token.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """An opaque bearer token (vaxbook.api.tokens issues and checks them)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    # The user's get_session_auth_hash() when the token was issued: it changes with the
    # password, so any password change (pages, admin, shell) revokes every token, as it
    # ends every session.
    auth_hash = models.CharField(max_length=128)
    # Issued after the code of the user's authenticator was checked. Staff actions need it:
    # a token from the password alone (a citizen's) never acts for a centre.
    second_factor = models.BooleanField(_("issued with the second factor"), default=False)
    created_at = models.DateTimeField(_("issued at"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"API token of {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M} UTC"


class IdempotencyRecord(models.Model):
    """The first successful response to a request sent with an Idempotency-Key header.

    Written in the same transaction as the change it answers (vaxbook.api.idempotency), so a
    key is recorded exactly when its change is committed."""

    # Indexed by the unique (user, key) constraint, which starts with the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "key"], name="one_record_per_user_and_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"
