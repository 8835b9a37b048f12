"""The public way in for staff is /staff/; the Django admin is branded and points there."""

import pytest
from django.test import Client

from tests.factories import StaffMembershipFactory
from tests.helpers import in_spanish
from tests.staff_clients import verified_client

pytestmark = pytest.mark.django_db


def test_the_start_pages_staff_link_goes_to_the_staff_pages(client: Client) -> None:
    page = client.get("/").text
    assert '<a href="/staff/">Staff and administrators: sign in</a>' in page
    assert 'href="/admin/"' not in page


def test_the_admin_sign_in_is_branded_and_says_where_staff_sign_in(client: Client) -> None:
    page = client.get("/admin/login/").text
    assert "<title>Log in | vaxbook administration</title>" in page
    assert "vaxbook administration" in page
    assert "Centre staff sign in on" in page
    assert 'href="/staff/"' in page
    assert 'rel="icon"' in page


def test_a_nurse_refused_by_the_admin_is_pointed_to_the_staff_pages(client: Client) -> None:
    membership = StaffMembershipFactory()
    nurse = verified_client(membership.user)  # signed in with both steps, yet not an admin
    page = nurse.get("/admin/", follow=True).text
    assert "vaxbook administration" in page
    assert 'href="/staff/"' in page


def test_favicon_ico_leads_to_the_sites_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    assert client.head("/favicon.ico").status_code == 301


def test_the_admin_sign_in_in_spanish(client: Client) -> None:
    page = in_spanish(client).get("/admin/login/").text
    assert "Administración de vaxbook" in page
    assert "El personal de los centros inicia sesión en" in page


def test_staff_pages_have_the_language_switch_and_the_icon(client: Client) -> None:
    page = client.get("/staff/", follow=True).text
    assert '<select id="language" name="language">' in page
    assert 'rel="icon"' in page
    spanish = in_spanish(client).get("/staff/", follow=True).text
    assert "Cambiar idioma" in spanish
