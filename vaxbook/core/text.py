"""The one rule for text people type (names, addresses, lot numbers, reasons, searches), used
by the web forms (`TextField`) and the API schemas (`vaxbook.api.schemas.FreeText`) alike.

Text is normalised to NFC, so that "José" typed with a combining accent and "José" typed
precomposed are the same name to staff comparing it with an ID, to searches and to the
unique constraints. Characters that are invisible or change how the text around them is
shown are refused with a message, never silently dropped:

- control characters (Unicode category Cc), except a line break or tab in multi-line text;
- format characters (Cf): the bidirectional overrides and isolates (U+202A-U+202E,
  U+2066-U+2069) that make "Ana" + U+202E + "zeréP" display as "AnaPérez", the marks
  U+200E/U+200F, the zero-width space's relatives, the BOM. Two exceptions: the
  zero-width non-joiner and joiner (U+200C, U+200D), which spell ordinary words and names
  in Persian and Indic scripts and reorder nothing;
- private-use characters (Co), unpaired surrogates (Cs), and the line and paragraph
  separators (Zl, Zp), which break lines where no line break is allowed.
"""

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})
JOINERS = frozenset({"\u200c", "\u200d"})
LINE_BREAKS = frozenset({"\n", "\r", "\t"})

REFUSED_MESSAGE = _(
    "Remove the invisible or control character (%(character)s) at position %(position)d: "
    "only letters, digits, spaces and punctuation are allowed."
)


class UnsafeText(ValueError):
    """Text with a character REFUSED_CATEGORIES lists; `message` says which and where."""

    def __init__(self, character: str, position: int) -> None:
        self.character = character
        self.position = position
        self.message = str(
            REFUSED_MESSAGE % {"character": f"U+{ord(character):04X}", "position": position}
        )
        super().__init__(self.message)


def clean_text(value: str, *, multiline: bool = False) -> str:
    """`value` in NFC; UnsafeText if it holds a refused character (the first one, counted
    from 1, so people can find it)."""
    for position, character in enumerate(value, start=1):
        if character in JOINERS or (multiline and character in LINE_BREAKS):
            continue
        if unicodedata.category(character) in REFUSED_CATEGORIES:
            raise UnsafeText(character, position)
    return unicodedata.normalize("NFC", value)


class TextField(forms.CharField):
    """A CharField whose text follows clean_text (multi-line with `multiline=True`)."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str | None:
        text: str | None = super().to_python(value)
        if not text or "\x00" in text:
            return text  # CharField's own validator answers, with the field's message
        try:
            return clean_text(text, multiline=self.multiline)
        except UnsafeText as unsafe:
            raise ValidationError(unsafe.message, code="unsafe_character") from None
