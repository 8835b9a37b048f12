"""Dates as people type them into a form, in their language.

A date field is a text box (not the browser's date picker, whose format follows the
browser's settings rather than the hint beside it). It shows a date the way its hint does,
17/05/1990, and reads what a person types: that form with slashes, dashes, dots or spaces
(settings' DATE_INPUT_FORMATS for the language), ISO 8601 (1990-05-17), and the month in
words in the page's language or in English: "17 May 1990", "17 de mayo de 1990",
"May 17, 1990".
"""

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils import translation
from django.utils.dates import MONTHS, MONTHS_3

# Words between the numbers that carry no meaning: "17 de mayo de 1990", "the 17th of May".
_FILLERS = frozenset({"de", "del", "of", "the", "st", "nd", "rd", "th"})


def _month_numbers() -> dict[str, int]:
    """Month names and three-letter abbreviations in the active language and in English,
    lower case."""
    names: dict[str, int] = {}
    languages = {"en", translation.get_language() or "en"}
    for language in languages:
        with translation.override(language):
            for number in range(1, 13):
                names[str(MONTHS[number]).casefold()] = number
                names[str(MONTHS_3[number]).casefold()] = number
    return names


def parse_written_date(text: str) -> dt.date | None:
    """The date in `text` when it names its month in words ("17 May 1990", "17 de mayo de
    1990", "May 17, 1990"), else None. A four-digit year is required."""
    words = re.findall(r"\d+|[^\W\d_]+", text.casefold())
    months = _month_numbers()
    month_at = [i for i, word in enumerate(words) if word in months]
    if len(month_at) != 1:
        return None
    numbers = [word for word in words if word.isdigit()]
    if any(not word.isdigit() and word not in months and word not in _FILLERS for word in words):
        return None
    if len(numbers) != 2 or len(numbers[1]) != 4:
        return None
    try:
        return dt.date(int(numbers[1]), months[words[month_at[0]]], int(numbers[0]))
    except ValueError:
        return None


class TypedDateField(forms.DateField):
    """A date typed in a text box: the numeric formats of the language, or its month names."""

    def __init__(self, *, attrs: dict[str, str] | None = None, **kwargs: Any) -> None:
        # Room for "17 de septiembre de 1990"; the hint asks for 17/05/1990.
        widget = forms.DateInput(
            attrs={"class": "input-date", "spellcheck": "false"} | (attrs or {})
        )
        super().__init__(widget=widget, **kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, str) and (written := parse_written_date(value)):
            return written
        return super().to_python(value)


class DatePicker(forms.DateInput):
    """The browser's date picker, where a day is chosen rather than typed (staff searches,
    date ranges). It shows only an ISO 8601 value, so a date is given back that way,
    whatever the language's format for typed dates."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")
