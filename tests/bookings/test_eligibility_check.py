"""Check before you start: the answer vaccine by vaccine, and its pages."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from tests.factories import CitizenFactory, VaccineFactory
from tests.helpers import in_spanish
from vaxbook.bookings.eligibility_check import check_eligibility

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 3, 1)


@pytest.fixture
def vaccines() -> None:
    VaccineFactory()  # Comirnaty: 2 doses, 21 days apart, from 12
    VaccineFactory(
        name="Vaxzevria",
        manufacturer="AstraZeneca",
        minimum_age=18,
        minimum_days_between_doses=28,
        cvx_code="210",
    )
    VaccineFactory(
        name="Jcovden",
        manufacturer="Janssen",
        doses_in_primary_course=1,
        minimum_age=18,
        cvx_code="212",
    )


def names(answers) -> list[str]:
    return [answer.vaccine.name for answer in answers]


def test_an_adult_can_book_dose_one_of_every_vaccine(vaccines) -> None:
    answer = check_eligibility(date_of_birth=dt.date(1980, 6, 15), dose_number=1, today=TODAY)
    assert names(answer.bookable) == ["Comirnaty", "Jcovden", "Vaxzevria"]
    assert answer.refused == []


def test_dose_two_exists_only_in_two_dose_courses(vaccines) -> None:
    answer = check_eligibility(date_of_birth=dt.date(1980, 6, 15), dose_number=2, today=TODAY)
    assert names(answer.bookable) == ["Comirnaty", "Vaxzevria"]
    (jcovden,) = answer.refused
    assert "no dose 2" in jcovden.refusal
    assert jcovden.bookable_from is None


def test_a_teenager_gets_the_vaccine_of_their_age_and_the_day_of_the_others(vaccines) -> None:
    answer = check_eligibility(date_of_birth=dt.date(2012, 4, 2), dose_number=1, today=TODAY)
    assert names(answer.bookable) == ["Comirnaty"]
    assert {refused.bookable_from for refused in answer.refused} == {dt.date(2030, 4, 2)}


def test_too_young_for_every_vaccine_says_from_when(vaccines) -> None:
    answer = check_eligibility(date_of_birth=dt.date(2015, 3, 2), dose_number=1, today=TODAY)
    assert answer.bookable == []
    assert answer.bookable_from == dt.date(2027, 3, 2)  # the 12th birthday, tomorrow
    assert "2 March 2027" in answer.refused[0].refusal


def test_the_minimum_age_is_reached_on_the_birthday_itself(vaccines) -> None:
    answer = check_eligibility(date_of_birth=dt.date(2015, 3, 1), dose_number=1, today=TODAY)
    assert names(answer.bookable) == ["Comirnaty"]


# --- the pages ---------------------------------------------------------------------------


def check(client: Client, born: str, dose: str = "1"):
    return client.post("/check/", {"date_of_birth": born, "dose_number": dose})


@time_machine.travel(dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC))
def test_the_start_page_offers_the_check_and_an_adult_is_told_what_they_can_book(
    vaccines, client: Client
) -> None:
    start = client.get("/").text
    assert "Check before you start" in start
    assert 'action="/check/"' in start

    response = check(client, "1980-06-15")

    assert response.status_code == 200
    assert "<h1>You can book</h1>" in response.text
    for name in ("Comirnaty", "Jcovden", "Vaxzevria"):
        assert name in response.text


@time_machine.travel(dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC))
def test_a_child_gets_a_not_eligible_page_with_the_day_not_a_form_error(
    vaccines, client: Client
) -> None:
    response = check(client, "2016-05-20")
    assert response.status_code == 200
    assert "<h1>You cannot book yet</h1>" in response.text
    assert "20 May 2028" in response.text  # the 12th birthday
    assert "Error:" not in response.text


@time_machine.travel(dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC))
def test_the_not_eligible_page_in_spanish_gives_the_day_in_spanish(
    vaccines, client: Client
) -> None:
    in_spanish(client)
    response = check(client, "2016-05-20")
    assert "<h1>Todavía no puede pedir cita</h1>" in response.text
    assert "20 de mayo de 2028" in response.text
    assert "2028-05-20" not in response.text


@time_machine.travel(dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC))
@pytest.mark.parametrize(
    ("born", "dose", "field", "message"),
    [
        ("2027-03-02", "1", "date_of_birth", "Date of birth must be in the past."),
        ("1850-01-01", "1", "date_of_birth", "Enter your real date of birth."),
        ("31/02/1990", "1", "date_of_birth", "Enter a real date, for example 17/05/1990."),
        ("", "1", "date_of_birth", "Enter your date of birth."),
        ("1980-06-15", "7", "dose_number", "Choose which dose you want to book."),
        ("1980-06-15", "", "dose_number", "Choose which dose you want to book."),
    ],
)
def test_bad_input_is_a_form_error_with_a_summary_linked_to_the_field(
    vaccines, client: Client, born: str, dose: str, field: str, message: str
) -> None:
    response = check(client, born, dose)
    assert response.status_code == 400
    page = response.text
    assert "<title>Error: Check before you start" in page
    assert "data-error-summary" in page
    anchor = "id_dose_number_0" if field == "dose_number" else f"id_{field}"
    assert f'<a href="#{anchor}">{message}</a>' in page
    assert f'id="{anchor}"' in page


def test_the_check_needs_a_csrf_token(vaccines) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/check/", {"date_of_birth": "1980-06-15", "dose_number": "1"})
    assert response.status_code == 403


def test_a_signed_in_person_starts_with_their_own_date_of_birth(vaccines, client: Client) -> None:
    client.force_login(CitizenFactory(date_of_birth=dt.date(1975, 11, 30)).user)
    assert 'value="30/11/1975"' in client.get("/").text
    assert 'value="30/11/1975"' in client.get("/check/").text
