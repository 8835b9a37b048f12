"""Parsing the waiting-list pages' forms; the rules are in services.py."""

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from vaxbook.centres.models import Centre, Vaccine, Weekday
from vaxbook.core.dates import DatePicker
from vaxbook.waiting_list.models import TimeOfDay
from vaxbook.waiting_list.services import (
    Wish,
    normalised_times_of_day,
    normalised_weekdays,
)

# The form's field names for the services' error keys.
FIELD_FOR_ERROR = {"centre_ids": "centres", "vaccine_id": "vaccine"}


class WishForm(forms.Form):
    """Where and when one can go: changing an entry."""

    centres = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Which centres can you go to?"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": gettext_lazy("Choose at least one centre."),
            "invalid_choice": gettext_lazy("Choose centres from the list."),
        },
    )
    first_day = forms.DateField(
        label=gettext_lazy("From"),
        widget=DatePicker(),
        error_messages={
            "required": gettext_lazy("Enter the first day you can go."),
            "invalid": gettext_lazy("Enter a real date, for example 2021-06-01."),
        },
    )
    last_day = forms.DateField(
        label=gettext_lazy("Until"),
        widget=DatePicker(),
        error_messages={
            "required": gettext_lazy("Enter the last day you can go."),
            "invalid": gettext_lazy("Enter a real date, for example 2021-06-14."),
        },
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("On which days of the week?"),
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": gettext_lazy("Choose at least one day of the week."),
            "invalid_choice": gettext_lazy("Choose days of the week from the list."),
        },
    )
    times_of_day = forms.MultipleChoiceField(
        label=gettext_lazy("At which times of day?"),
        choices=TimeOfDay.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": gettext_lazy("Choose at least one time of day."),
            "invalid_choice": gettext_lazy("Choose times of day from the list."),
        },
    )
    short_notice = forms.BooleanField(
        label=gettext_lazy("I can come at short notice (within a few hours)"),
        required=False,
    )

    def __init__(self, *args: Any, centres: list[Centre], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["centres"].choices = [  # type: ignore[attr-defined]
            (centre.pk, f"{centre.name}, {centre.town}") for centre in centres
        ]

    def wish(self) -> Wish:
        data = self.cleaned_data
        return Wish(
            centre_ids=frozenset(data["centres"]),
            first_day=data["first_day"],
            last_day=data["last_day"],
            weekdays=normalised_weekdays(data["weekdays"]),
            times_of_day=normalised_times_of_day(data["times_of_day"]),
            short_notice=data["short_notice"],
        )

    def add_domain_errors(self, errors: dict[str, list[str]], message: str) -> None:
        if not errors:
            self.add_error(None, message)
        for key, messages in errors.items():
            field = FIELD_FOR_ERROR.get(key, key)
            for text in messages:
                self.add_error(field if field in self.fields else None, text)


class JoinForm(WishForm):
    """What one waits for (vaccine and dose), then where and when."""

    vaccine = forms.TypedChoiceField(
        label=gettext_lazy("Which vaccine?"),
        coerce=int,
        error_messages={
            "required": gettext_lazy("Choose a vaccine."),
            "invalid_choice": gettext_lazy("Choose a vaccine from the list."),
        },
    )
    dose_number = forms.TypedChoiceField(
        label=gettext_lazy("Which dose?"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose which dose."),
            "invalid_choice": gettext_lazy("Choose which dose."),
        },
    )
    field_order = ("vaccine", "dose_number")

    def __init__(self, *args: Any, centres: list[Centre], **kwargs: Any) -> None:
        super().__init__(*args, centres=centres, **kwargs)
        vaccines = list(Vaccine.objects.order_by("name"))
        self.fields["vaccine"].choices = [(v.pk, v.name) for v in vaccines]  # type: ignore[attr-defined]
        longest = max((v.doses_in_primary_course for v in vaccines), default=1)
        self.fields["dose_number"].choices = [  # type: ignore[attr-defined]
            (dose, str(dose)) for dose in range(1, longest + 1)
        ]


def initial_wish(*, centre_id: int | None, day: dt.date | None) -> dict[str, Any]:
    today = timezone.localdate()
    first = max(day or today, today)
    return {
        "centres": [centre_id] if centre_id else [],
        "first_day": first,
        "last_day": first + dt.timedelta(days=14),
        "weekdays": list(Weekday.values),
        "times_of_day": list(TimeOfDay.values),
        "dose_number": 1,
    }
