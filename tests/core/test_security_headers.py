import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/centres/", "/sign-in/"])
def test_pages_carry_a_strict_content_security_policy(client, path):
    policy = client.get(path).headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no other origin
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_the_admin_needs_the_second_factor_not_only_the_password(client, admin_user, admin_client):
    client.force_login(admin_user)  # password only
    refused = client.get("/admin/")
    assert refused.status_code == 302
    assert refused["Location"] == "/staff/verify/?next=%2Fadmin%2F"
    assert admin_client.get("/admin/").status_code == 200  # with the TOTP code


def _features(response) -> dict[str, str]:
    header = response.headers["Permissions-Policy"]
    return dict(part.strip().split("=", 1) for part in header.split(","))


@pytest.mark.parametrize("path", ["/", "/centres/", "/sign-in/", "/healthz", "/api/v1/vaccines"])
def test_pages_may_not_use_the_camera_or_microphone(client, path):
    features = _features(client.get(path))
    assert features["camera"] == "()"
    assert features["microphone"] == "()"
    assert features["geolocation"] == "(self)"  # the centre search's "near me"


def test_the_scan_page_alone_may_use_the_camera_of_our_own_origin(client):
    from tests.factories import CentreFactory, staff_at
    from tests.staff_clients import verified_client
    from vaxbook.accounts.models import StaffRole

    centre = CentreFactory()
    staff = verified_client(staff_at(centre, StaffRole.RECEPTIONIST))

    scan = staff.get(f"/staff/centres/{centre.pk}/validate/")
    day = staff.get(f"/staff/centres/{centre.pk}/day/")

    assert scan.status_code == 200
    assert _features(scan)["camera"] == "(self)"
    assert _features(day)["camera"] == "()"


def test_passwords_are_hashed_with_argon2_in_production() -> None:
    import config.settings as production  # the tests themselves hash fast

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_the_session_cookie_is_secure_httponly_and_same_site(client, settings):
    from tests.factories import CitizenFactory

    settings.SESSION_COOKIE_SECURE = True  # as with HTTPS=true, the production default
    CitizenFactory(user__email="ada@example.org")
    response = client.post(
        "/sign-in/", {"username": "ada@example.org", "password": "a-long-test-password"}
    )
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_https_answers_carry_hsts(client, settings):
    settings.SECURE_HSTS_SECONDS = 63072000  # as with HTTPS=true
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=63072000")
