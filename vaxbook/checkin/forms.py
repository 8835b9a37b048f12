from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from vaxbook.bookings import references
from vaxbook.bookings.models import LOT_NUMBER_MAX_LENGTH, InjectionSite
from vaxbook.core.dates import DatePicker
from vaxbook.core.text import TextField
from vaxbook.credentials import health_card

# A confirmation token is a few hundred characters, a vaccination certificate's `shc:/`
# string at most health_card.MAX_INPUT_LENGTH; anything longer is junk from a scanner,
# refused with a message before any work.
MAX_PRESENTED_LENGTH = health_card.MAX_INPUT_LENGTH


class PresentedForm(forms.Form):
    """What staff present: a scanned confirmation code (the scanner types the token and
    Enter) or a booking reference typed by a person."""

    presented = forms.CharField(
        label=_("Booking reference or scanned code"),
        max_length=MAX_PRESENTED_LENGTH,
        error_messages={
            "required": _("Enter a booking reference or scan a confirmation code."),
            "max_length": _(
                "That is not a booking reference or a confirmation code: it is far too long."
            ),
            "null_characters_not_allowed": _(
                "That is not a booking reference or a confirmation code."
            ),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def presented_as(self) -> dict[str, str]:
        """The keyword for validate(): a vaccination certificate (`shc:/…`, or a JWS
        whose header says `zip`) is a `certificate` (for check_certificate()), any other
        JWS (two dots) a token, anything else is taken as a typed reference."""
        value: str = self.cleaned_data["presented"]
        if health_card.looks_like_card(value):
            return {"certificate": value}
        if value.count(".") == 2:
            return {"token": value}
        return {"reference": value}


# --- the centre's day ---------------------------------------------------------------------

DATE_ERRORS = {
    "required": _("Enter a date."),
    "invalid": _("Enter a real date, for example 2021-05-17."),
}


class DayForm(forms.Form):
    """?date=YYYY-MM-DD; without it, the page shows the centre's today."""

    date = forms.DateField(
        label=_("Day"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages=DATE_ERRORS,
        widget=DatePicker(),
    )


class ReferenceSearchForm(forms.Form):
    reference = forms.CharField(
        label=_("Booking reference"),
        max_length=64,
        error_messages={
            "required": _("Enter a booking reference."),
            "max_length": _("That is not a booking reference: it is far too long."),
            "null_characters_not_allowed": _("That is not a booking reference."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_reference(self) -> str:
        typed: str = self.cleaned_data["reference"]
        try:
            references.normalize(typed)
        except references.MalformedReference:
            # The check character caught a typo: say so before looking anything up.
            raise forms.ValidationError(
                _(
                    "This is not a valid booking reference: check it for a typo. A reference "
                    "has 9 letters and digits, for example ABC-DEF-GH7."
                )
            ) from None
        return typed


class SurnameSearchForm(forms.Form):
    surname = TextField(
        label=_("Surname"),
        max_length=100,
        error_messages={
            "required": _("Enter the surname."),
            "max_length": _("A surname is at most 100 characters."),
            "null_characters_not_allowed": _("Enter the surname."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": _("Enter the date of birth."),
            "invalid": _("Enter a real date of birth, for example 1990-05-17."),
        },
        widget=DatePicker(attrs={"autocomplete": "off"}),
    )


# --- record the dose ---------------------------------------------------------------------


class VaccinationForm(forms.Form):
    """The dose given. The vaccine is the appointment's; the time is the centre's local
    time, converted by the view (the form does not know the centre)."""

    lot_number = TextField(
        label=_("Lot number"),
        max_length=LOT_NUMBER_MAX_LENGTH,
        help_text=_("As printed on the vial."),
        error_messages={
            "required": _("Enter the lot number printed on the vial."),
            "max_length": _("A lot number is at most %(limit_value)d characters."),
            "null_characters_not_allowed": _("Enter the lot number printed on the vial."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    injection_site = forms.ChoiceField(
        label=_("Injection site"),
        choices=InjectionSite.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose where the dose was injected."),
            "invalid_choice": _("Choose where the dose was injected."),
        },
    )
    administered_at = forms.DateTimeField(
        label=_("Time given"),
        help_text=_("Centre time. Leave as it is if the dose was given just now."),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={"invalid": _("Enter a real date and time, for example 2021-05-17 10:30.")},
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class WalkInForm(forms.Form):
    """A dose given to a person without an appointment; the rules are in
    vaxbook.bookings.services.record_walk_in."""

    full_name = TextField(
        label=_("Full name, as on their identity document"),
        max_length=200,
        error_messages={"required": _("Enter the person's full name.")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        help_text=_("For example 1948-03-02"),
        error_messages={
            "required": _("Enter the person's date of birth."),
            "invalid": _("Enter a real date, for example 1948-03-02."),
        },
        widget=DatePicker(attrs={"autocomplete": "off"}),
    )
    phone = TextField(
        label=_("Phone (optional)"),
        max_length=32,
        required=False,
        help_text=_("Needed only when two people share the name and date of birth."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    vaccine = forms.TypedChoiceField(
        label=_("Vaccine"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the vaccine given."),
            "invalid_choice": _("Choose the vaccine given."),
        },
    )
    dose_number = forms.TypedChoiceField(
        label=_("Dose"),
        coerce=int,
        choices=[(1, "1"), (2, "2"), (3, "3")],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose which dose this is."),
            "invalid_choice": _("Choose which dose this is."),
        },
    )
    lot_number = TextField(
        label=_("Lot number"),
        max_length=LOT_NUMBER_MAX_LENGTH,
        help_text=_("As printed on the vial."),
        error_messages={"required": _("Enter the lot number printed on the vial.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    injection_site = forms.ChoiceField(
        label=_("Injection site"),
        choices=InjectionSite.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose where the dose was injected."),
            "invalid_choice": _("Choose where the dose was injected."),
        },
    )
    over_capacity_reason = TextField(
        label=_("Reason, if no place is left today (optional)"),
        max_length=300,
        required=False,
        help_text=_(
            "Only when the day is full: the dose is then recorded over capacity, with this reason."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, vaccines: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vaccine"].choices = vaccines  # type: ignore[attr-defined]
