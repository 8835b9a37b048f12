"""Text people type is stored in NFC and refuses characters that are invisible or change how
the text around them is shown (a right-to-left override makes "Ana\u202ezeréP" read as
"AnaPérez" to staff comparing it with an ID): the same rule on the pages and in the API."""

import unicodedata

import pytest
from django.test import Client

from tests.api.conftest import Api
from vaxbook.accounts.models import PendingRegistration
from vaxbook.core.text import UnsafeText, clean_text

pytestmark = pytest.mark.django_db

DECOMPOSED = "Jose\u0301 Pe\u0301rez"  # the accents as combining marks
COMPOSED = "José Pérez"

REFUSED = [
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE (Cf)
    "\u2066",  # LEFT-TO-RIGHT ISOLATE (Cf)
    "\u200b",  # ZERO WIDTH SPACE (Cf)
    "\u200f",  # RIGHT-TO-LEFT MARK (Cf)
    "\ufeff",  # BYTE ORDER MARK (Cf)
    "\x1b",  # ESCAPE (Cc)
    "\n",  # a line break in a one-line field (Cc)
    "\x7f",  # DELETE (Cc)
    "\ue000",  # private use (Co)
    "\u2028",  # LINE SEPARATOR (Zl)
    "\u2029",  # PARAGRAPH SEPARATOR (Zp)
]


@pytest.mark.parametrize("character", REFUSED)
def test_invisible_and_control_characters_are_refused_saying_which_and_where(
    character: str,
) -> None:
    with pytest.raises(UnsafeText) as refused:
        clean_text(f"Ana{character}Pérez")
    assert f"U+{ord(character):04X}" in refused.value.message
    assert "position 4" in refused.value.message


def test_persian_and_indic_joiners_and_multiline_line_breaks_are_kept() -> None:
    assert clean_text("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645") == (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # Persian, with a ZWNJ
    )
    assert clean_text("Late delivery.\r\nSorry.", multiline=True) == "Late delivery.\r\nSorry."


def test_text_is_normalised_to_nfc() -> None:
    assert clean_text(DECOMPOSED) == COMPOSED
    assert unicodedata.is_normalized("NFC", clean_text(DECOMPOSED))


def registration(**changes: str) -> dict[str, str]:
    return {
        "email": "jose@example.org",
        "password": "navy-compiler-1906",
        "full_name": COMPOSED,
        "date_of_birth": "1990-05-17",
        "phone": "",
        **changes,
    }


def test_the_registration_page_refuses_a_name_with_a_bidi_override() -> None:
    response = Client().post("/register/", registration(full_name="Ana\u202ezeréP"))

    assert response.status_code == 400
    assert 'href="#id_full_name"' in response.text
    assert "U+202E" in response.text
    assert not PendingRegistration.objects.exists()


def test_the_registration_page_stores_the_name_in_nfc() -> None:
    response = Client().post("/register/", registration(full_name=DECOMPOSED))

    assert response.status_code == 302
    assert PendingRegistration.objects.get().full_name == COMPOSED


def test_the_api_refuses_a_name_with_a_bidi_override() -> None:
    anonymous = Api()
    response = anonymous.post("/auth/register", registration(full_name="Ana\u202ezeréP"))

    assert response.status == 422
    assert response.code == "validation_error"
    errors = {error["field"]: error["message"] for error in response.body["errors"]}
    assert "U+202E" in errors["full_name"]
    assert not PendingRegistration.objects.exists()


def test_the_api_refuses_a_control_character_in_a_phone() -> None:
    anonymous = Api()
    response = anonymous.post("/auth/register", registration(phone="+34\x1b600"))

    assert response.status == 422
    assert "phone" in [error["field"] for error in response.body["errors"]]


def test_the_api_stores_the_name_in_nfc() -> None:
    anonymous = Api()
    response = anonymous.post("/auth/register", registration(full_name=DECOMPOSED))

    assert response.status == 202
    assert PendingRegistration.objects.get().full_name == COMPOSED


def test_the_message_is_in_spanish_on_the_spanish_pages() -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    response = client.post("/register/", registration(full_name="Ana\u202ezeréP"))

    assert "Quite el carácter invisible o de control (U+202E)" in response.text
