from enum import StrEnum
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        # Sign-in is case-insensitive on the email address.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: citizens, centre staff and administrators, by email address."""

    email = models.EmailField(_("email address"), unique=True)
    is_staff = models.BooleanField(
        _("admin site access"),
        default=False,
        help_text=_("Can sign in to the Django admin (health authority administrators)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        constraints: ClassVar = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ignoring_case"),
        ]

    def __str__(self) -> str:
        return self.email

    # Set by keep_roles() on the user of one staff page; any other User object reads its
    # roles afresh at every question.
    _kept_roles: dict[int, str] | None = None

    @property
    def centre_roles(self) -> dict[int, str]:
        """The user's role at each centre they belong to, by centre id."""
        if self._kept_roles is not None:
            return self._kept_roles
        return dict(self.memberships.values_list("centre_id", "role"))

    def keep_roles(self) -> None:
        """Read the roles once and answer every later question from them.

        For the signed-in user of one request only (staff_required calls it for the staff
        pages, vaxbook.api.auth.staff_caller for the staff API): the guard, the view or
        endpoint, the services and the template then share one query. A role changed meanwhile
        shows from the next request, as with Django's own permission cache."""
        self._kept_roles = self.centre_roles

    def works_at(self, centre_id: int) -> bool:
        """Staff act only for the centres they belong to; administrators for any centre."""
        return self.is_superuser or centre_id in self.centre_roles

    def steps_at(self, centre_id: int) -> frozenset["StaffStep"]:
        """What the user's role at the centre allows (administrators may do everything
        everywhere)."""
        if self.is_superuser:
            return frozenset(StaffStep)
        role = self.centre_roles.get(centre_id)
        return ROLE_STEPS[role] if role is not None else frozenset()

    def may_at(self, centre_id: int, step: "StaffStep") -> bool:
        return step in self.steps_at(centre_id)


class PriorityGroup(models.TextChoices):
    """Groups the campaign may open to before their age does (vaxbook.centres.policy).
    Recorded by the health authority (the admin), not declared by the person."""

    HEALTH_WORKER = "health_worker", _("health and care worker")
    CARE_HOME = "care_home", _("care home resident")
    CLINICALLY_VULNERABLE = "clinically_vulnerable", _("clinically extremely vulnerable")
    UNPAID_CARER = "unpaid_carer", _("unpaid carer")


class Citizen(models.Model):
    """The person who is vaccinated: what eligibility and identity checks need."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="citizen")
    full_name = models.CharField(_("full name"), max_length=200)
    date_of_birth = models.DateField(_("date of birth"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # Messages (email, SMS) go out in this language.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    priority_group = models.CharField(
        _("priority group"), max_length=32, choices=PriorityGroup.choices, blank=True
    )

    class Meta:
        verbose_name = _("citizen")

    def __str__(self) -> str:
        return self.full_name


class StaffRole(models.TextChoices):
    RECEPTIONIST = "receptionist", _("Receptionist")
    VACCINATOR = "vaccinator", _("Vaccinator")
    MANAGER = "manager", _("Centre manager")


class StaffStep(StrEnum):
    CHECK_IN = "check_in"
    VACCINATE = "vaccinate"
    MARK_NO_SHOW = "mark_no_show"


# What each role may do on the day; a role includes the steps of the roles before it.
ROLE_STEPS: dict[str, frozenset[StaffStep]] = {
    StaffRole.RECEPTIONIST: frozenset({StaffStep.CHECK_IN}),
    StaffRole.VACCINATOR: frozenset({StaffStep.CHECK_IN, StaffStep.VACCINATE}),
    StaffRole.MANAGER: frozenset(StaffStep),
}


class StaffMembership(models.Model):
    """A staff member's role at one centre; staff act only for centres they belong to."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    centre = models.ForeignKey(
        "centres.Centre", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=StaffRole.choices)

    class Meta:
        verbose_name = _("staff membership")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "centre"], name="one_role_per_staff_and_centre"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.centre}"


class PendingRegistration(models.Model):
    """An account someone asked for, waiting until the link emailed to the address is
    followed (vaxbook.accounts.registration). Not an account: nobody signs in with it, and
    the account is made from it, with the address proved, when the link is followed.

    Registration writes this row whether or not the address already has an account, so the
    answer and the work of the request cannot tell the two apart; the worker then sends
    either the link or, to an existing account's owner, a notice, and deletes the row."""

    email = models.EmailField(_("email address"), unique=True)  # stored in lower case
    password = models.CharField(_("password"), max_length=128)  # the hash, as User.password
    full_name = models.CharField(_("full name"), max_length=200)
    date_of_birth = models.DateField(_("date of birth"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    # Where the person was going when they registered (the slot they chose): a path on this
    # site, checked before it was stored.
    next_url = models.CharField(_("next page"), max_length=2000, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    # SHA-256 of the secret in the emailed link; empty until the worker sends the link, and
    # again when the address registers anew (the older link stops working).
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    link_sent_at = models.DateTimeField(_("link sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("registration waiting for its email link")

    def __str__(self) -> str:
        return self.email
