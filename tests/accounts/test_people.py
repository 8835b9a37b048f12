"""The people an account books for: adding them (services, pages and API), one record per
person, and nobody else's people in sight."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from tests.api.conftest import Api, token_for
from tests.factories import CitizenFactory, UserFactory
from tests.helpers import in_spanish
from vaxbook.accounts import people
from vaxbook.accounts.models import Citizen, PersonBookedFor

pytestmark = pytest.mark.django_db

MUM_BORN = dt.date(1948, 3, 2)


@pytest.fixture
def booker() -> Citizen:
    return CitizenFactory(full_name="Ada Lovelace", date_of_birth=dt.date(1990, 5, 17))


def add_mum(booker: Citizen, **details: str) -> Citizen:
    return people.add_person(
        booker=booker.user,
        full_name=details.pop("full_name", "Carmen López García"),
        date_of_birth=MUM_BORN,
        **details,
    )


# --- the service -------------------------------------------------------------------------


def test_a_person_added_has_no_account_and_is_held_by_the_booker(booker) -> None:
    mum = add_mum(booker, phone="+34 600 111 222")

    assert mum.user_id is None
    assert (mum.full_name, mum.date_of_birth, mum.phone) == (
        "Carmen López García",
        MUM_BORN,
        "+34 600 111 222",
    )
    assert people.people_of(booker.user) == [mum]


def test_adding_the_same_name_and_date_of_birth_twice_is_refused(booker) -> None:
    add_mum(booker)

    with pytest.raises(people.PersonAlreadyAdded, match="already"):
        add_mum(booker, full_name="  carmen   LÓPEZ garcía ")

    assert Citizen.objects.filter(user__isnull=True).count() == 1


def test_adding_oneself_is_refused(booker) -> None:
    with pytest.raises(people.PersonAlreadyAdded, match="This is you"):
        people.add_person(
            booker=booker.user, full_name="ada lovelace", date_of_birth=dt.date(1990, 5, 17)
        )


def test_two_accounts_giving_the_same_name_birth_and_phone_reach_one_record(booker) -> None:
    sibling = CitizenFactory()
    mine = add_mum(booker, phone="+34 600 111 222")

    theirs = add_mum(sibling, phone="+34 600 111 222")

    assert theirs.pk == mine.pk
    assert set(PersonBookedFor.objects.filter(person=mine).values_list("booker", flat=True)) == {
        booker.user_id,
        sibling.user_id,
    }


def test_without_a_phone_or_email_the_same_name_and_birth_are_two_records(booker) -> None:
    # Nothing but a name and a birthday is too little to hand one account another's relative.
    mine = add_mum(booker)
    theirs = add_mum(CitizenFactory())

    assert theirs.pk != mine.pk


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"full_name": "   "}, "full_name"),
        ({"phone": "call me"}, "phone"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_bad_details_are_refused_per_field(booker, details, field) -> None:
    with pytest.raises(ValidationError) as refused:
        add_mum(booker, **details)

    assert field in refused.value.message_dict
    assert not Citizen.objects.filter(user__isnull=True).exists()


def test_a_date_of_birth_in_the_future_is_refused(booker) -> None:
    with pytest.raises(ValidationError) as refused:
        people.add_person(booker=booker.user, full_name="Baby", date_of_birth=dt.date(2999, 1, 1))

    assert "date_of_birth" in refused.value.message_dict


def test_someone_elses_person_is_not_found(booker) -> None:
    mum = add_mum(booker)
    stranger = UserFactory()

    with pytest.raises(people.PersonNotFound):
        people.person_for(booker=stranger, person_id=mum.pk)


# --- the pages ---------------------------------------------------------------------------


def signed_in(citizen: Citizen) -> Client:
    client = Client()
    client.force_login(citizen.user)
    return client


def test_the_people_page_adds_a_person_and_lists_only_ones_own(booker) -> None:
    add_mum(CitizenFactory(), full_name="Somebody Else")
    client = signed_in(booker)

    response = client.post(
        "/account/people/",
        {"full_name": "Carmen López García", "date_of_birth": "1948-03-02", "phone": ""},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Carmen López García added." in page
    assert "Carmen López García" in page
    assert "Somebody Else" not in page


def test_the_people_page_says_clearly_when_a_person_was_added_already(booker) -> None:
    add_mum(booker)

    response = signed_in(booker).post(
        "/account/people/", {"full_name": "Carmen López García", "date_of_birth": "1948-03-02"}
    )

    assert response.status_code == 400
    assert (
        "You have added Carmen López García, born 1948-03-02, already." in response.content.decode()
    )


def test_the_people_page_speaks_spanish(booker) -> None:
    client = in_spanish(signed_in(booker))

    response = client.post("/account/people/", {"full_name": "", "date_of_birth": "1948-03-02"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Personas para las que reserva" in page
    assert "Escriba el nombre completo de la persona." in page


def test_the_people_page_needs_signing_in() -> None:
    response = Client().get("/account/people/")

    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


# --- the API -----------------------------------------------------------------------------


def test_the_api_adds_and_lists_people(booker) -> None:
    api = Api(token_for(booker.user))

    added = api.post(
        "/people",
        {
            "full_name": "Carmen López García",
            "date_of_birth": "1948-03-02",
            "email": "carmen@example.org",
        },
    )
    listed = api.get("/people")

    assert added.status == 201
    assert added.body["full_name"] == "Carmen López García"
    assert added.body["email"] == "carmen@example.org"
    assert listed.body == {"items": [added.body], "count": 1}


def test_the_api_refuses_a_person_added_twice_with_a_409(booker) -> None:
    api = Api(token_for(booker.user))
    body = {"full_name": "Carmen López García", "date_of_birth": "1948-03-02"}
    api.post("/people", body)

    response = api.post("/people", body)

    assert response.status == 409
    assert response.code == "person_already_added"


def test_the_api_refuses_bad_details_with_a_422(booker) -> None:
    response = Api(token_for(booker.user)).post(
        "/people", {"full_name": "Carmen", "date_of_birth": "1948-03-02", "phone": "call me"}
    )

    assert response.status == 422
    assert response.code == "validation_error"
    assert [error["field"] for error in response.body["errors"]] == ["phone"]


def test_the_api_lists_nobody_elses_people(booker) -> None:
    add_mum(booker)

    response = Api(token_for(CitizenFactory().user)).get("/people")

    assert response.body == {"items": [], "count": 0}
