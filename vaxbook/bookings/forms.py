from typing import Any

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vaxbook.accounts.forms import DATE_OF_BIRTH_ERRORS, DATE_OF_BIRTH_HINT
from vaxbook.accounts.models import Citizen, User
from vaxbook.accounts.services import check_date_of_birth
from vaxbook.bookings.eligibility_check import doses_to_ask_about
from vaxbook.core.dates import TypedDateField


class EligibilityCheckForm(forms.Form):
    """Parses "check before you start"; the rules are in bookings.eligibility_check."""

    date_of_birth = TypedDateField(
        label=gettext_lazy("Date of birth"),
        help_text=DATE_OF_BIRTH_HINT,
        error_messages=DATE_OF_BIRTH_ERRORS,
        attrs={"autocomplete": "bday"},
    )
    dose_number = forms.TypedChoiceField(
        label=gettext_lazy("Which dose do you want to book?"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose which dose you want to book."),
            "invalid_choice": gettext_lazy("Choose which dose you want to book."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dose_number"].choices = [  # type: ignore[attr-defined]
            (dose, _("Dose %(dose)s") % {"dose": dose}) for dose in doses_to_ask_about()
        ]

    def clean_date_of_birth(self) -> Any:
        date_of_birth = self.cleaned_data["date_of_birth"]
        try:
            check_date_of_birth(date_of_birth)
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return date_of_birth


def initial_for(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    """The signed-in person's date of birth, to start the check with."""
    if not isinstance(user, User):
        return {}
    citizen = Citizen.objects.filter(user=user).first()
    return {"date_of_birth": citizen.date_of_birth} if citizen else {}
