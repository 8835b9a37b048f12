import logging
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from vaxbook.accounts import tasks
from vaxbook.accounts.models import Citizen
from vaxbook.core import ratelimit
from vaxbook.core.dates import DatePicker, TypedDateField
from vaxbook.core.text import TextField

logger = logging.getLogger(__name__)

PASSWORD_HINT = _("At least 8 characters, not only numbers, not a common password.")
EMAIL_ERRORS = {
    "required": _("Enter your email address."),
    "invalid": _("Enter an email address like name@example.org."),
}
NAME_ERRORS = {"required": _("Enter your full name.")}
# The example is how the field shows a date (vaxbook.core.dates); it reads others too.
DATE_OF_BIRTH_HINT = _("For example 17/05/1990")
DATE_OF_BIRTH_ERRORS = {
    "required": _("Enter your date of birth."),
    "invalid": _("Enter a real date, for example 17/05/1990."),
}


class RegistrationForm(forms.Form):
    """Parses the registration page; the rules are in accounts.registration.request_registration."""

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        error_messages=EMAIL_ERRORS,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=PASSWORD_HINT,
        error_messages={"required": _("Enter a password.")},
    )
    full_name = TextField(
        label=_("Full name"),
        max_length=200,
        error_messages=NAME_ERRORS,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    date_of_birth = TypedDateField(
        label=_("Date of birth"),
        help_text=DATE_OF_BIRTH_HINT,
        error_messages=DATE_OF_BIRTH_ERRORS,
        attrs={"autocomplete": "bday"},
    )
    phone = TextField(
        label=_("Mobile phone (optional)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )


class SignInForm(auth_forms.AuthenticationForm):
    """Django's sign-in, with a message that says what to do."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _(
            "The email address or the password is not right. Check both and try again."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email address")
        self.fields["username"].widget.input_type = "email"
        self.fields["username"].widget.attrs.update(autocomplete="email", spellcheck="false")
        # The error summary takes the focus when there is one; otherwise the page starts at
        # its top, as every other page does.
        self.fields["username"].widget.attrs.pop("autofocus", None)
        self.fields["username"].error_messages["required"] = _("Enter your email address.")
        self.fields["password"].label = _("Password")
        self.fields["password"].error_messages["required"] = _("Enter your password.")


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's password reset by email, sent by the worker (vaxbook.accounts.tasks): the
    page enqueues the same task whether or not the address has an account, and answers
    the same. A few resets per address typed and hour (RATE_LIMITS "password_reset_account")
    are sent; beyond that the page still says "check your email" and nothing is sent, so
    nobody can flood an inbox or learn anything. The link in the email starts with SITE_URL,
    the service's public address, not with whatever host the request named."""

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        error_messages=EMAIL_ERRORS,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    def save(self, *args: Any, **kwargs: Any) -> None:
        email = self.cleaned_data["email"].strip().lower()
        try:
            ratelimit.hit(*ratelimit.password_reset_account(email))
        except ratelimit.RateLimited:
            logger.info("Password reset not sent: too many for one address this hour.")
            return
        tasks.send_password_reset.enqueue(email=email, language=get_language())

    def send_reset_email(self) -> None:
        """Send the link now (the worker's task calls this). The worker has no request:
        the address comes from SITE_URL."""
        site = urlsplit(settings.SITE_URL)
        super().save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            subject_template_name="accounts/email/password_reset_subject.txt",
            email_template_name="accounts/email/password_reset.txt",
        )

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        context = {**context, "site_url": settings.SITE_URL}
        super().send_mail(
            subject_template_name,
            email_template_name,
            context,
            from_email,
            to_email,
            html_email_template_name,
        )


def _with_password_hint(form: auth_forms.SetPasswordForm) -> None:
    new_password = form.fields["new_password1"]
    new_password.help_text = PASSWORD_HINT
    new_password.widget.attrs["autocomplete"] = "new-password"


class SetPasswordForm(auth_forms.SetPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _with_password_hint(self)

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit)
        if commit:
            _tell_the_owner(user)
        return user


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _with_password_hint(self)

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit)
        if commit:
            _tell_the_owner(user)
        return user


def _tell_the_owner(user: Any) -> None:
    """Whoever changed the password (the owner, or someone with their session or their
    mailbox), the owner hears of it by email, from the worker."""
    from vaxbook.accounts import tasks  # tasks import this module

    pk = user.pk
    transaction.on_commit(lambda: tasks.send_password_changed.enqueue(user_id=pk))


class DetailsForm(forms.Form):
    """Parses the change-details page; the rules are in accounts.services."""

    full_name = TextField(
        label=_("Full name"),
        max_length=200,
        error_messages=NAME_ERRORS,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = TextField(
        label=_("Mobile phone (optional)"),
        max_length=32,
        required=False,
        help_text=_("For reminders by text message."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    language = forms.ChoiceField(
        label=_("Your language"),
        help_text=_("For these pages wherever you sign in, your emails and text messages."),
        choices=settings.LANGUAGES,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )

    @classmethod
    def of(cls, citizen: Citizen) -> "DetailsForm":
        return cls(
            initial={
                "full_name": citizen.full_name,
                "phone": citizen.phone,
                "language": citizen.language,
            }
        )


class DeleteAccountForm(forms.Form):
    """Deleting the account asks for the password again: a session left open on a shared
    computer must not be enough."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Enter your password.")},
    )


class PersonForm(forms.Form):
    """Parses "add a person you book for"; the rules are in accounts.people (and the same
    form serves the phone line's new record)."""

    full_name = TextField(
        label=_("Their full name"),
        max_length=200,
        error_messages={"required": _("Enter the person's full name.")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    date_of_birth = forms.DateField(
        label=_("Their date of birth"),
        help_text=_("For example 1948-03-02"),
        error_messages={
            "required": _("Enter the person's date of birth."),
            "invalid": _("Enter a real date, for example 1948-03-02."),
        },
        widget=DatePicker(attrs={"autocomplete": "off"}),
    )
    phone = TextField(
        label=_("Their mobile phone (optional)"),
        max_length=32,
        required=False,
        help_text=_("Their confirmation and reminder by text message too."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    email = TextField(
        label=_("Their email address (optional)"),
        max_length=254,
        required=False,
        help_text=_("Their own copy of each confirmation; you get one in any case."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class PhoneSearchForm(forms.Form):
    """The phone line's search: who the caller is, and why the agent acts."""

    full_name = TextField(
        label=_("Full name (first name and surname)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        help_text=_("For example 1948-03-02"),
        required=False,
        error_messages={"invalid": _("Enter a real date, for example 1948-03-02.")},
        widget=DatePicker(attrs={"autocomplete": "off"}),
    )
    phone = TextField(
        label=_("Phone (optional, narrows the search)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    reason = TextField(
        label=_("Reason for the call"),
        max_length=300,
        help_text=_("For example: caller asks to book dose 1 for herself. Kept in the audit log."),
        error_messages={"required": _("Say why you act: the caller's request.")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class TakeoverForm(forms.Form):
    code = TextField(
        label=_("Your code"),
        max_length=32,
        help_text=_("10 letters and digits, from the email or text message we sent you."),
        error_messages={"required": _("Enter the code we sent you.")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )
