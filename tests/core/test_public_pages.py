"""The pages a public service owes its users (privacy, cookies, accessibility, contact and
help) answer in both languages, and every footer, citizen and staff, links them."""

import pytest
from django.conf import LazySettings
from django.test import Client

from tests.factories import CentreFactory, staff_at
from tests.helpers import in_spanish
from tests.staff_clients import verified_client
from vaxbook.accounts.models import StaffRole
from vaxbook.core import db_router, devices
from vaxbook.waiting_room.gate import PASS_COOKIE, TICKET_COOKIE

pytestmark = pytest.mark.django_db

PAGES = {
    "/help/": ("Contact and help", "Contacto y ayuda"),
    "/privacy/": ("Privacy notice", "Aviso de privacidad"),
    "/cookies/": ("Cookies", "Cookies"),
    "/accessibility/": ("Accessibility statement", "Declaración de accesibilidad"),
}
FOOTER_LINKS = [f'href="{path}"' for path in PAGES]


def footer(html: str) -> str:
    return html[html.index('<footer class="site-footer">') :]


@pytest.mark.parametrize(("path", "headings"), PAGES.items())
def test_each_page_answers_in_english_and_spanish(path: str, headings: tuple[str, str]) -> None:
    english, spanish = headings
    assert f"<h1>{english}</h1>" in Client().get(path).text
    assert f"<h1>{spanish}</h1>" in in_spanish(Client()).get(path).text


@pytest.mark.parametrize("path", ["/", "/centres/", "/sign-in/", "/register/", *PAGES])
def test_citizen_pages_link_every_page_from_the_footer(path: str) -> None:
    page = footer(Client().get(path).text)
    assert all(link in page for link in FOOTER_LINKS)


def test_staff_pages_link_every_page_from_the_footer() -> None:
    assert all(link in footer(Client().get("/staff/sign-in/").text) for link in FOOTER_LINKS)
    nurse = staff_at(CentreFactory(), StaffRole.VACCINATOR)
    signed_in = verified_client(nurse).get("/staff/", follow=True)
    assert signed_in.status_code == 200
    assert 'class="staff-user"' in signed_in.text  # a signed-in staff page, not sign-in
    assert all(link in footer(signed_in.text) for link in FOOTER_LINKS)


def test_the_cookie_page_names_every_cookie_the_service_sets(settings: LazySettings) -> None:
    page = Client().get("/cookies/").text
    for name in [
        settings.SESSION_COOKIE_NAME,
        settings.CSRF_COOKIE_NAME,
        settings.LANGUAGE_COOKIE_NAME,
        devices.COOKIE_NAME,
        db_router.READ_YOUR_WRITES_COOKIE,
        TICKET_COOKIE,
        PASS_COOKIE,
    ]:
        assert f"<code>{name}</code>" in page
    assert "14 days, or until you sign out" in page  # the session's own length


def test_the_contact_address_comes_from_the_settings(settings: LazySettings) -> None:
    settings.CONTACT_EMAIL = "ayuda@vacunacion.example.es"
    for path in ["/help/", "/privacy/", "/accessibility/"]:
        assert 'href="mailto:ayuda@vacunacion.example.es"' in Client().get(path).text


def test_the_privacy_notice_says_how_to_exercise_each_right() -> None:
    page = Client().get("/privacy/").text
    for right in ["Download a copy of your data", "Correct it", "Delete your account", "Object"]:
        assert right in page
    assert "24 hours, then deleted" in page  # an account started but never confirmed


def test_the_pages_answer_head_and_refuse_a_post() -> None:
    client = Client()
    assert client.head("/privacy/").status_code == 200
    assert client.post("/privacy/").status_code == 405
