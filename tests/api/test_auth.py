"""Accounts and bearer tokens: register, sign in (with a TOTP code for staff who have an
authenticator), sign out, and every way a token stops working."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.api.conftest import Api, token_for
from tests.factories import CitizenFactory, UserFactory, staff_at
from tests.staff_clients import authenticator_for, code_of
from vaxbook.accounts.models import Citizen, StaffRole, User
from vaxbook.api.models import ApiToken

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"  # tests.factories.UserFactory's


def registration(**changes: object) -> dict[str, object]:
    return {
        "email": "Ada@Example.org",
        "password": "correct horse battery staple",
        "full_name": "Ada  Lovelace",
        "date_of_birth": "1990-05-17",
        **changes,
    }


def sign_in(api: Api, email: str, password: str = PASSWORD, **extra: str):
    return api.post("/auth/token", {"email": email, "password": password, **extra})


# --- registration ----------------------------------------------------------------------


def test_registering_creates_an_account_that_can_sign_in(anonymous: Api) -> None:
    response = anonymous.post("/auth/register", registration())

    assert response.status == 201
    assert response.body == {
        "id": response.body["id"],
        "email": "ada@example.org",
        "citizen": {
            "id": response.body["citizen"]["id"],
            "full_name": "Ada Lovelace",
            "date_of_birth": "1990-05-17",
            "phone": "",
            "language": "en",
        },
        "staff_at": [],
        "is_administrator": False,
    }
    citizen = Citizen.objects.get(user__email="ada@example.org")
    assert citizen.full_name == "Ada Lovelace"
    assert response.body["citizen"]["id"] == citizen.pk
    token = sign_in(anonymous, "ada@example.org", "correct horse battery staple")
    assert token.status == 200


def test_registering_an_address_that_has_an_account_is_refused(anonymous: Api) -> None:
    UserFactory(email="ada@example.org")

    response = anonymous.post("/auth/register", registration())

    assert response.status == 422
    assert response.code == "validation_error"
    assert [error["field"] for error in response.body["errors"]] == ["email"]
    assert User.objects.filter(email__iexact="ada@example.org").count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "password"}, "password"),  # too common, too short
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),  # in the future
        ({"full_name": "   "}, "full_name"),
        ({"email": "not an address"}, "email"),
        ({"date_of_birth": "17/05/1990"}, "date_of_birth"),
    ],
)
def test_registration_names_each_invalid_field(anonymous: Api, changes, field: str) -> None:
    response = anonymous.post("/auth/register", registration(**changes))

    assert response.status == 422
    assert response.code == "validation_error"
    assert field in [error["field"] for error in response.body["errors"]]
    assert not User.objects.exists()


# --- tokens ----------------------------------------------------------------------------


def test_a_token_is_opaque_random_and_stored_only_as_a_hash(anonymous: Api, person) -> None:
    response = sign_in(anonymous, person.user.email)

    assert response.status == 200
    assert response.body["token_type"] == "bearer"
    assert response.body["expires_in"] == 12 * 3600
    access_token = response.body["access_token"]
    assert len(access_token) >= 43  # 32 random bytes, base64url
    assert "no-store" in response.headers["Cache-Control"]
    stored = ApiToken.objects.get()
    assert access_token not in (stored.digest, stored.auth_hash)
    me = Api(access_token).get("/me")
    assert me.status == 200
    assert me.body["email"] == person.user.email


def test_the_email_address_is_case_insensitive(anonymous: Api, person) -> None:
    assert sign_in(anonymous, person.user.email.upper()).status == 200


@pytest.mark.parametrize("who", ["wrong password", "unknown address", "inactive account"])
def test_wrong_credentials_are_one_401(anonymous: Api, person, who: str) -> None:
    email, password = person.user.email, PASSWORD
    if who == "wrong password":
        password = "not-the-password"
    elif who == "unknown address":
        email = "nobody@example.org"
    else:
        User.objects.filter(pk=person.user.pk).update(is_active=False)

    response = sign_in(anonymous, email, password)

    assert response.status == 401
    assert response.code == "invalid_credentials"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert not ApiToken.objects.exists()


def test_two_tokens_of_one_account_work_independently(anonymous: Api, person) -> None:
    first = Api(sign_in(anonymous, person.user.email).body["access_token"])
    second = Api(sign_in(anonymous, person.user.email).body["access_token"])

    assert first.delete("/auth/token").status == 204

    assert first.get("/me").code == "invalid_token"
    assert second.get("/me").status == 200


def test_signing_out_revokes_the_token(citizen: Api) -> None:
    response = citizen.delete("/auth/token")

    assert response.status == 204
    again = citizen.get("/me")
    assert again.status == 401
    assert again.code == "invalid_token"
    assert not ApiToken.objects.exists()


def test_a_token_expires(person) -> None:
    api = Api(token_for(person.user))
    with time_machine.travel(dt.timedelta(hours=12, seconds=1)):
        response = api.get("/me")
    assert response.status == 401
    assert response.code == "invalid_token"


def test_a_token_works_until_it_expires(person) -> None:
    api = Api(token_for(person.user))
    with time_machine.travel(dt.timedelta(hours=11, minutes=59)):
        assert api.get("/me").status == 200


def test_a_password_change_revokes_every_token(person) -> None:
    api = Api(token_for(person.user))
    user = User.objects.get(pk=person.user.pk)
    user.set_password("a-brand-new-password")
    user.save()

    assert api.get("/me").code == "invalid_token"


def test_a_password_changed_in_the_database_revokes_too(person) -> None:
    # An administrator's change in the admin, or a reset: whatever writes the password.
    api = Api(token_for(person.user))
    User.objects.filter(pk=person.user.pk).update(password=make_password("another-one"))

    assert api.get("/me").code == "invalid_token"


def test_a_deactivated_account_loses_its_tokens(person) -> None:
    api = Api(token_for(person.user))
    User.objects.filter(pk=person.user.pk).update(is_active=False)

    assert api.get("/me").code == "invalid_token"


def test_a_rotated_secret_key_keeps_tokens_valid(person, settings) -> None:
    api = Api(token_for(person.user))
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40

    assert api.get("/me").status == 200


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "not_authenticated"),
        ("Bearer", "invalid_token"),
        ("Bearer not-a-token", "invalid_token"),
        ("Basic YWRhOnB3", "invalid_token"),
        ("Token abc", "invalid_token"),
    ],
)
def test_a_missing_or_malformed_authorization_is_401(citizen: Api, header, code: str) -> None:
    api = Api()
    headers = {} if header is None else {"Authorization": header}

    response = api.get("/me", headers=headers)

    assert response.status == 401
    assert response.code == code
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- staff with an authenticator --------------------------------------------------------


@pytest.fixture
def nurse(centre) -> User:
    return staff_at(centre, StaffRole.VACCINATOR)


@pytest.fixture
def device(nurse: User) -> TOTPDevice:
    return authenticator_for(nurse)


def test_staff_with_an_authenticator_sign_in_with_its_code(anonymous: Api, nurse, device) -> None:
    response = sign_in(anonymous, nurse.email, otp=code_of(device))

    assert response.status == 200
    assert Api(response.body["access_token"]).get("/me").body["staff_at"][0]["role"] == (
        "vaccinator"
    )


def test_staff_with_an_authenticator_need_its_code(anonymous: Api, nurse, device) -> None:
    response = sign_in(anonymous, nurse.email)

    assert response.status == 401
    assert response.code == "otp_required"
    assert not ApiToken.objects.exists()


def test_a_wrong_code_is_refused(anonymous: Api, nurse, device) -> None:
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"

    response = sign_in(anonymous, nurse.email, otp=wrong)

    assert response.status == 401
    assert response.code == "otp_invalid"
    assert not ApiToken.objects.exists()


def test_a_code_cannot_be_used_twice(anonymous: Api, nurse, device) -> None:
    code = code_of(device)
    assert sign_in(anonymous, nurse.email, otp=code).status == 200

    assert sign_in(anonymous, nurse.email, otp=code).code == "otp_invalid"


def test_the_code_is_checked_only_after_the_password(anonymous: Api, nurse, device) -> None:
    response = sign_in(anonymous, nurse.email, "wrong-password", otp=code_of(device))

    assert response.code == "invalid_credentials"


def test_staff_without_an_authenticator_get_no_token(anonymous: Api, nurse) -> None:
    response = sign_in(anonymous, nurse.email)

    assert response.status == 403
    assert response.code == "otp_setup_required"
    assert "invitation" in response.body["detail"]
    assert not ApiToken.objects.exists()


def test_an_administrator_without_an_authenticator_gets_no_token(anonymous: Api) -> None:
    admin = UserFactory(is_superuser=True, is_staff=True)

    response = sign_in(anonymous, admin.email)

    assert response.code == "otp_setup_required"
    assert not ApiToken.objects.exists()


def test_an_unconfirmed_authenticator_does_not_count(anonymous: Api, nurse) -> None:
    TOTPDevice.objects.create(user=nurse, name="phone", confirmed=False)

    assert sign_in(anonymous, nurse.email).code == "otp_setup_required"
    assert sign_in(anonymous, nurse.email, otp="123456").code == "otp_setup_required"
    assert not ApiToken.objects.exists()


def test_a_token_of_staff_records_the_second_factor(anonymous: Api, nurse, device) -> None:
    sign_in(anonymous, nurse.email, otp=code_of(device))

    assert ApiToken.objects.get().second_factor


def test_a_citizens_token_comes_from_the_password_alone(anonymous: Api) -> None:
    person = CitizenFactory()

    response = sign_in(anonymous, person.user.email)

    assert response.status == 200
    assert not ApiToken.objects.get().second_factor


def test_a_citizen_with_an_authenticator_needs_its_code_too(anonymous: Api) -> None:
    person = CitizenFactory()
    authenticator_for(person.user)

    assert sign_in(anonymous, person.user.email).code == "otp_required"


# --- /me -------------------------------------------------------------------------------


def test_me_of_staff_lists_their_centres(staff: Api, centre) -> None:
    response = staff.get("/me")

    assert response.status == 200
    assert response.body["citizen"] is None
    assert response.body["staff_at"] == [
        {"centre": {"id": centre.pk, "name": centre.name}, "role": "vaccinator"}
    ]
    assert response.body["is_administrator"] is False


def test_me_of_an_administrator(admin: Api) -> None:
    assert admin.get("/me").body["is_administrator"] is True


def test_me_needs_a_token(anonymous: Api) -> None:
    response = anonymous.get("/me")

    assert response.status == 401
    assert response.code == "not_authenticated"


def test_expired_tokens_are_purged(person) -> None:
    token_for(person.user)
    with time_machine.travel(dt.timedelta(hours=11)):
        live = token_for(person.user)

    with time_machine.travel(dt.timedelta(hours=12, seconds=1)):
        call_command("purge_api_records")

        assert ApiToken.objects.count() == 1
        assert Api(live).get("/me").status == 200
