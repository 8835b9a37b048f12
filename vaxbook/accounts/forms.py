from django import forms
from django.utils.translation import gettext_lazy as _


class RegistrationForm(forms.Form):
    """Parses the registration page; the rules are in accounts.services.register_citizen."""

    email = forms.EmailField(label=_("Email address"), max_length=254)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only numbers, not a common password."),
    )
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        help_text=_("For example 1990-05-17"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )
    phone = forms.CharField(label=_("Mobile phone (optional)"), max_length=32, required=False)
