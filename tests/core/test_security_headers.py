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
