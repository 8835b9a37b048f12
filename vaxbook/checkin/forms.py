from django import forms
from django.utils.translation import gettext_lazy as _

# A confirmation token is a few hundred characters; anything much longer is junk from a
# scanner, refused with a message before any work.
MAX_PRESENTED_LENGTH = 2048


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
        """The keyword for validate(): a token has two dots (a JWS), anything else is
        taken as a typed reference."""
        value: str = self.cleaned_data["presented"]
        if value.count(".") == 2:
            return {"token": value}
        return {"reference": value}
