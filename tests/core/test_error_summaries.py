"""Every form shows its errors the same way: "Error:" before the page title, a summary at
the top that the script focuses, each message a link to a field that exists on the page."""

import re

import pytest
from django.test import Client

from tests.factories import CitizenFactory, VaccineFactory

pytestmark = pytest.mark.django_db

FORMS = {
    "register": ("post", "/register/", {"email": "nope"}),
    "sign in": ("post", "/sign-in/", {"username": "a@example.org", "password": "wrong"}),
    "password reset": ("post", "/password-reset/", {"email": ""}),
    "change details": ("post", "/account/details/", {"full_name": "", "language": "xx"}),
    "change password": ("post", "/account/password/", {"old_password": "wrong"}),
    "check before you start": ("post", "/check/", {"date_of_birth": "2999-01-01"}),
    "find a centre": ("get", "/centres/", {"vaccine": "999"}),
}


@pytest.fixture
def client() -> Client:
    VaccineFactory()
    client = Client()
    client.force_login(CitizenFactory().user)
    return client


@pytest.mark.parametrize("name", FORMS)
def test_form_errors_are_summarised_with_links_to_their_fields(client: Client, name: str) -> None:
    method, url, data = FORMS[name]
    if name in {"register", "sign in", "password reset"}:
        client.logout()

    page = getattr(client, method)(url, data).text

    assert re.search(r"<title>Error: ", page), name
    summary = page[
        page.index("data-error-summary") : page.index("</ul>", page.index("data-error-summary"))
    ]
    targets = re.findall(r'<a href="#([^"]+)">', summary)
    assert targets, name
    for target in targets:
        assert f'id="{target}"' in page, (name, target)
    assert "core/js/forms.js" in page
    assert "<script>" not in page  # scripts only from static files (strict CSP)


def test_a_page_without_errors_has_no_summary_and_no_error_title(client: Client) -> None:
    page = client.get("/account/details/").text
    assert "data-error-summary" not in page
    assert "<title>Error:" not in page
