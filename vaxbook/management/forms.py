"""Forms of the management pages. They parse and type what was typed; the rules (ranges,
overlaps, permissions) are the services' (vaxbook.centres), whose errors the views put back
on these forms next to the field they concern."""

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from vaxbook.accounts.models import StaffRole
from vaxbook.centres.models import Vaccine, Weekday
from vaxbook.centres.services import CentreDetails, TemplateDetails
from vaxbook.core.dates import DatePicker
from vaxbook.core.text import TextField


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%H:%M")


def _required(message: Any) -> dict[str, Any]:
    return {"required": message}


def _number(required: Any) -> dict[str, Any]:
    return {"required": required, "invalid": _("Enter a whole number, like 4.")}


def _date(required: Any) -> dict[str, Any]:
    return {"required": required, "invalid": _("Enter a real date, like 2027-03-15.")}


def _time(required: Any) -> dict[str, Any]:
    return {"required": required, "invalid": _("Enter a time on the 24-hour clock, like 09:30.")}


def _degrees(
    *,
    label: Any,
    help_text: Any,
    bound: int,
    required: Any,
    invalid: Any,
    too_precise: Any,
    out_of_range: Any,
) -> forms.DecimalField:
    """A latitude or longitude: 5 decimal places (about a metre), within -bound..bound."""
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        max_digits=8,
        decimal_places=5,
        min_value=-bound,
        max_value=bound,
        error_messages={
            "required": required,
            "invalid": invalid,
            "max_digits": too_precise,
            "max_decimal_places": too_precise,
            "max_whole_digits": out_of_range,
            "min_value": out_of_range,
            "max_value": out_of_range,
        },
        widget=forms.TextInput(attrs={"inputmode": "decimal", "spellcheck": "false"}),
    )


class CentreForm(forms.Form):
    name = TextField(
        label=_("Name"), max_length=200, error_messages=_required(_("Enter the centre's name."))
    )
    address = TextField(
        label=_("Address"),
        max_length=300,
        error_messages=_required(_("Enter the centre's street address.")),
    )
    postcode = TextField(
        label=_("Postcode"), max_length=16, error_messages=_required(_("Enter the postcode."))
    )
    town = TextField(
        label=_("Town"), max_length=100, error_messages=_required(_("Enter the town."))
    )
    phone = TextField(
        label=_("Telephone (optional)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    latitude = _degrees(
        label=_("Latitude"),
        help_text=_("In decimal degrees, north positive, like 40.41831."),
        bound=90,
        required=_("Enter the latitude."),
        invalid=_("Enter the latitude as a decimal number, like 40.41831."),
        too_precise=_("Enter the latitude with at most 5 decimal places."),
        out_of_range=_("The latitude is between -90 and 90."),
    )
    longitude = _degrees(
        label=_("Longitude"),
        help_text=_("In decimal degrees, east positive, like -3.70275."),
        bound=180,
        required=_("Enter the longitude."),
        invalid=_("Enter the longitude as a decimal number, like -3.70275."),
        too_precise=_("Enter the longitude with at most 5 decimal places."),
        out_of_range=_("The longitude is between -180 and 180."),
    )
    time_zone = TextField(
        label=_("Time zone"),
        help_text=_("The IANA name of the centre's time zone, like Europe/Madrid."),
        max_length=64,
        initial="Europe/Madrid",
        error_messages=_required(_("Enter the time zone, like Europe/Madrid.")),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "none"}),
    )
    is_active = forms.BooleanField(
        label=_("Open for booking"),
        help_text=_("Untick to take the centre out of search and stop all booking there."),
        required=False,
        initial=True,
    )
    vaccine_ids = forms.ModelMultipleChoiceField(
        label=_("Vaccines offered"),
        queryset=Vaccine.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose vaccines from the list.")},
    )

    def details(self) -> CentreDetails:
        data = self.cleaned_data
        return CentreDetails(
            name=data["name"],
            address=data["address"],
            postcode=data["postcode"],
            town=data["town"],
            phone=data["phone"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            time_zone=data["time_zone"].strip(),
            is_active=data["is_active"],
            vaccine_ids=frozenset(vaccine.pk for vaccine in data["vaccine_ids"]),
        )


class TemplateForm(forms.Form):
    vaccine_id = forms.ModelChoiceField(
        label=_("Vaccine"),
        queryset=Vaccine.objects.none(),
        empty_label=None,
        error_messages={
            "required": _("Choose the vaccine."),
            "invalid_choice": _("Choose one of the vaccines this centre offers."),
        },
    )
    weekday = forms.TypedChoiceField(
        label=_("Day of the week"),
        choices=Weekday.choices,
        coerce=int,
        error_messages={
            "required": _("Choose the day of the week."),
            "invalid_choice": _("Choose the day of the week."),
        },
    )
    opens_at = forms.TimeField(
        label=_("Opens at"),
        help_text=_("Local time at the centre, like 09:00."),
        error_messages=_time(_("Enter the opening time.")),
        widget=TimeInput(),
    )
    closes_at = forms.TimeField(
        label=_("Closes at"),
        help_text=_("The last slot ends by this time."),
        error_messages=_time(_("Enter the closing time.")),
        widget=TimeInput(),
    )
    slot_minutes = forms.IntegerField(
        label=_("Slot length in minutes"),
        initial=10,
        error_messages=_number(_("Enter the slot length in minutes.")),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    places_per_slot = forms.IntegerField(
        label=_("Places per slot"),
        initial=4,
        error_messages=_number(_("Enter how many people each slot takes.")),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    valid_from = forms.DateField(
        label=_("First day (optional)"),
        required=False,
        error_messages=_date(""),
        widget=DatePicker(),
    )
    valid_until = forms.DateField(
        label=_("Last day (optional)"),
        required=False,
        error_messages=_date(""),
        widget=DatePicker(),
    )

    def __init__(self, *args: Any, vaccines: QuerySet[Vaccine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["vaccine_id"]
        if not isinstance(field, forms.ModelChoiceField):  # declared above
            raise TypeError(f"{field!r} is not a ModelChoiceField")
        field.queryset = vaccines

    def details(self) -> TemplateDetails:
        data = self.cleaned_data
        return TemplateDetails(
            vaccine_id=data["vaccine_id"].pk,
            weekday=data["weekday"],
            opens_at=data["opens_at"],
            closes_at=data["closes_at"],
            slot_minutes=data["slot_minutes"],
            places_per_slot=data["places_per_slot"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
        )


class DayRangeForm(forms.Form):
    first_day = forms.DateField(
        label=_("First day"),
        error_messages=_date(_("Enter the first day.")),
        widget=DatePicker(),
    )
    last_day = forms.DateField(
        label=_("Last day"),
        error_messages=_date(_("Enter the last day.")),
        widget=DatePicker(),
    )

    def days(self) -> tuple[dt.date, dt.date]:
        return self.cleaned_data["first_day"], self.cleaned_data["last_day"]


class PlacesForm(forms.Form):
    places = forms.IntegerField(
        label=_("Places per slot"),
        error_messages=_number(_("Enter the number of places.")),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class DayPlacesForm(PlacesForm):
    vaccine = forms.ModelChoiceField(
        label=_("Vaccine"),
        queryset=Vaccine.objects.none(),
        required=False,
        empty_label=_("All vaccines"),
        error_messages={"invalid_choice": _("Choose a vaccine from the list.")},
    )

    def __init__(self, *args: Any, vaccines: QuerySet[Vaccine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["vaccine"]
        if not isinstance(field, forms.ModelChoiceField):  # declared above
            raise TypeError(f"{field!r} is not a ModelChoiceField")
        field.queryset = vaccines


class CloseForm(forms.Form):
    reason = TextField(
        multiline=True,
        label=_("Reason"),
        help_text=_(
            "Sent to every person whose appointment is cancelled, so write it for them: "
            "for example, 'The vaccine delivery is late.'"
        ),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _(
                "Give the reason for closing: it is sent to everyone whose appointment "
                "is cancelled."
            ),
            "max_length": _("Keep the reason to %(limit_value)d characters or fewer."),
        },
    )


class CloseDayForm(CloseForm):
    vaccine = forms.ModelChoiceField(
        label=_("Vaccine"),
        queryset=Vaccine.objects.none(),
        required=False,
        empty_label=_("All vaccines"),
        error_messages={"invalid_choice": _("Choose a vaccine from the list.")},
    )

    field_order = ("vaccine", "reason")

    def __init__(self, *args: Any, vaccines: QuerySet[Vaccine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["vaccine"]
        if not isinstance(field, forms.ModelChoiceField):  # declared above
            raise TypeError(f"{field!r} is not a ModelChoiceField")
        field.queryset = vaccines


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        error_messages={
            "required": _("Enter the person's email address."),
            "invalid": _("Enter an email address in the right format, like name@example.org."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=StaffRole.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a role."),
            "invalid_choice": _("Choose a role from the list."),
        },
    )
