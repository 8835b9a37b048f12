from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vaxbook.centres.models import Vaccine
from vaxbook.centres.queries import Position
from vaxbook.core.text import TextField


class CentreSearchForm(forms.Form):
    """Parses the search for a centre; the search itself is centres.queries.find_centres."""

    q = TextField(
        label=_("Town, postcode or centre name"),
        max_length=100,
        required=False,
        error_messages={"max_length": _("Enter 100 characters or fewer.")},
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "postal-code"}),
    )
    vaccine = forms.ModelChoiceField(
        label=_("Vaccine"),
        queryset=Vaccine.objects.order_by("name"),
        required=False,
        empty_label=_("Any vaccine"),
        error_messages={"invalid_choice": _("Choose a vaccine from the list.")},
    )
    # "latitude,longitude", filled in by core/js/locate.js from the browser's position.
    near = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def clean_near(self) -> Position | None:
        raw: str = self.cleaned_data["near"].strip()
        if not raw:
            return None
        message = _("Your position could not be read. Search by town or postcode instead.")
        try:
            latitude, longitude = (float(part) for part in raw.split(","))
        except ValueError:
            raise ValidationError(message, code="invalid") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValidationError(message, code="invalid")
        return Position(latitude, longitude)

    def search_arguments(self) -> dict[str, Any]:
        vaccine = self.cleaned_data.get("vaccine")
        return {
            "text": self.cleaned_data.get("q", ""),
            "vaccine_id": vaccine.pk if vaccine else None,
            "near": self.cleaned_data.get("near"),
        }
