"""Appointment references: short, read aloud and typed by people, with a check character.

A reference is 8 random characters and 1 check character from a 31-character alphabet
with no 0/O, 1/I/L look-alikes: 31**8 ≈ 8.5e11 references. It is shown as `ABC-DEF-GH7`
and accepted in any case, with or without spaces and hyphens.

The check character makes the weighted sum  Σ i·value(char_i), i = 1..9,  a multiple of
31. Because 31 is prime and the weights 1..9 are distinct and non-zero modulo 31, any
single wrong character and any swap of two characters changes the sum, so such a typo is
caught before any database lookup.
"""

import secrets

from django.utils.translation import gettext as _

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BASE = len(ALPHABET)  # 31, prime
DATA_LENGTH = 8
LENGTH = DATA_LENGTH + 1
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
# 9 * 7 = 63 ≡ 1 (mod 31): multiplying by 7 divides by the check character's weight, 9.
_INVERSE_OF_CHECK_WEIGHT = 7


class MalformedReference(ValueError):
    """Not a reference: wrong length, a character outside the alphabet, or a typo."""


def _weighted_sum(chars: str) -> int:
    return sum(weight * _VALUE[char] for weight, char in enumerate(chars, start=1))


def check_character(data: str) -> str:
    return ALPHABET[(-_weighted_sum(data) * _INVERSE_OF_CHECK_WEIGHT) % BASE]


def new_reference() -> str:
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + check_character(data)


def normalize(typed: str) -> str:
    """The stored form of a typed reference; raises MalformedReference on any typo."""
    reference = "".join(typed.split()).replace("-", "").upper()
    if len(reference) != LENGTH:
        raise MalformedReference(_("A reference has %(length)d characters.") % {"length": LENGTH})
    if any(char not in _VALUE for char in reference):
        raise MalformedReference(_("A reference has no 0, O, 1, I or L."))
    if _weighted_sum(reference) % BASE:
        raise MalformedReference(_("This reference has a typo: please check it."))
    return reference


def display(reference: str) -> str:
    return f"{reference[0:3]}-{reference[3:6]}-{reference[6:9]}"
