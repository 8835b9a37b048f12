"""A person booked for by others takes over their record with their own account, by a code
sent to them: once, in time, and then the bookers no longer see it."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client

from tests.factories import CitizenFactory, SlotFactory
from vaxbook.accounts import people, takeover
from vaxbook.accounts.models import Citizen, TakeoverCode
from vaxbook.bookings import queries, services
from vaxbook.bookings.models import BookingChannel

pytestmark = pytest.mark.django_db

BORN = dt.date(1948, 3, 2)


@pytest.fixture
def booker() -> Citizen:
    return CitizenFactory(full_name="Ada Lovelace")


@pytest.fixture
def mum(booker: Citizen) -> Citizen:
    return people.add_person(
        booker=booker.user, full_name="Carmen López", date_of_birth=BORN, email="carmen@example.org"
    )


@pytest.fixture
def booked(booker: Citizen, mum: Citizen):
    return services.book_appointment(
        person=mum,
        slot_id=SlotFactory().pk,
        dose_number=1,
        on_behalf=services.OnBehalf(user=booker.user, channel=BookingChannel.RELATIVE),
    )


def sent_code(booker: Citizen, mum: Citizen) -> str:
    sent = takeover.send_code(booker=booker.user, person_id=mum.pk)
    takeover.deliver_code.func(takeover_id=sent.pk)
    return takeover.code_of(sent)


def test_the_code_goes_to_the_person_not_to_the_booker(booker, mum) -> None:
    code = sent_code(booker, mum)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["carmen@example.org"]
    assert code in mail.outbox[0].body
    assert TakeoverCode.objects.get().code_hash != code  # only its hash is kept


def test_taking_over_makes_the_record_theirs_and_the_booker_loses_it(booker, mum, booked) -> None:
    code = sent_code(booker, mum)
    carmen = CitizenFactory(full_name="Carmen López", date_of_birth=BORN)

    person = takeover.redeem(user=carmen.user, code=code.lower())

    assert person.pk == mum.pk
    assert person.user == carmen.user
    assert not Citizen.objects.filter(pk=carmen.pk).exists()  # the empty profile it replaced
    assert queries.own_appointments(carmen.user) == [booked]
    assert queries.own_appointments(booker.user) == []
    assert people.people_of(booker.user) == []


def test_a_code_works_once(booker, mum) -> None:
    code = sent_code(booker, mum)
    takeover.redeem(user=CitizenFactory(date_of_birth=BORN).user, code=code)

    with pytest.raises(takeover.TakeoverRefused, match="used already"):
        takeover.redeem(user=CitizenFactory(date_of_birth=BORN).user, code=code)


def test_a_code_expires_after_a_week(booker, mum) -> None:
    code = sent_code(booker, mum)

    late = dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=8)
    with time_machine.travel(late), pytest.raises(takeover.TakeoverRefused, match="expired"):
        takeover.redeem(user=CitizenFactory(date_of_birth=BORN).user, code=code)

    assert Citizen.objects.get(pk=mum.pk).user_id is None


def test_an_account_of_another_date_of_birth_cannot_take_it_over(booker, mum) -> None:
    code = sent_code(booker, mum)

    with pytest.raises(takeover.TakeoverRefused, match="date of birth"):
        takeover.redeem(user=CitizenFactory(date_of_birth=dt.date(1990, 1, 1)).user, code=code)


def test_a_person_without_an_address_gets_no_code(booker) -> None:
    dad = people.add_person(booker=booker.user, full_name="Luis López", date_of_birth=BORN)

    with pytest.raises(takeover.TakeoverRefused, match="own email address or mobile phone"):
        takeover.send_code(booker=booker.user, person_id=dad.pk)


def test_a_stranger_cannot_send_a_code_for_someone_elses_person(mum) -> None:
    with pytest.raises(people.PersonNotFound):
        takeover.send_code(booker=CitizenFactory().user, person_id=mum.pk)


def test_the_take_over_page_says_clearly_when_the_code_is_wrong() -> None:
    client = Client()
    client.force_login(CitizenFactory().user)

    response = client.post("/account/take-over/", {"code": "ABCDEFGHJK"})

    assert response.status_code == 400
    assert "This code is not right." in response.content.decode()


def test_the_people_page_sends_the_code(booker, mum) -> None:
    client = Client()
    client.force_login(booker.user)

    response = client.post(f"/account/people/{mum.pk}/takeover-code/", follow=True)

    assert "We have sent them a code" in response.content.decode()
    assert TakeoverCode.objects.filter(person=mum).count() == 1
