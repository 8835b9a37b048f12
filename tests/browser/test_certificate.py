"""The vaccination certificate in the browser: the person downloads it from their account,
and the public verify page checks it with no connection, refusing an altered copy."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import assert_accessible
from tests.credentials.health_cards import vaccinated
from tests.factories import SlotFactory

# The live server's pages read availability from the replica alias (the test database's
# mirror), so these tests allow it: otherwise Django's guard against it, installed on the
# connection the server thread shares, outlives the test and breaks later ones.
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def test_person_downloads_the_certificate_and_the_offline_verify_page_accepts_it(
    context: BrowserContext, sign_in, live_server, tmp_path: Path
) -> None:
    appointment = vaccinated(SlotFactory(centre__name="Centro de Salud Norte"), lot="EW0182")
    sign_in(context, appointment.person.user)
    page = context.new_page()

    page.goto("/account/")
    expect(page.get_by_role("img", name="QR code of your vaccination certificate")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download (.smart-health-card)").click()
    download = download_info.value
    assert download.suggested_filename == "vaccination.smart-health-card"
    saved = tmp_path / "vaccination.smart-health-card"
    download.save_as(saved)
    [jws] = json.loads(saved.read_text())["verifiableCredential"]

    assert context.browser is not None
    verifier = context.browser.new_context(base_url=live_server.url)
    public = verifier.new_page()
    public.goto("/verify/")
    verifier.set_offline(True)

    public.get_by_label("Or open a .smart-health-card file").set_input_files(saved)
    result = public.get_by_role("status")
    expect(result).to_contain_text("Genuine vaccination certificate")
    expect(result).to_contain_text("María José Núñez Ortiz")
    expect(result).to_contain_text("EW0182")
    expect(result).to_contain_text("Centro de Salud Norte")

    header, payload, signature = jws.split(".")
    altered = (
        f"{header}.{payload[:-3]}{'A' if payload[-3] != 'A' else 'B'}{payload[-2:]}.{signature}"
    )
    public.get_by_label("Certificate (shc:/… or the signed text)").fill(altered)
    public.get_by_role("button", name="Check").click()
    expect(result).to_contain_text("Not valid: altered certificate")
    expect(result).not_to_contain_text("María José Núñez Ortiz")

    numeric = "shc:/" + "".join(f"{ord(c) - 45:02d}" for c in jws)
    public.get_by_label("Certificate (shc:/… or the signed text)").fill(numeric)
    public.get_by_role("button", name="Check").click()
    expect(result).to_contain_text("Genuine vaccination certificate")
    verifier.close()


def test_certificate_pages_are_accessible(context: BrowserContext, sign_in) -> None:
    appointment = vaccinated(SlotFactory(), lot="EW0182")
    sign_in(context, appointment.person.user)
    page = context.new_page()

    for path in (
        "/account/",
        "/certificate/",
        "/certificate/print/",
        f"/appointments/{appointment.pk}/",
        "/verify/",
    ):
        page.goto(path)
        assert_accessible(page)
    page.get_by_label("Certificate (shc:/… or the signed text)").fill("shc:/1234")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_contain_text("Not valid")
    assert_accessible(page)
