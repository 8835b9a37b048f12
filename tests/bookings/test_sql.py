import pytest
from django.db import connection, transaction
from django.db.models import Model

from config import env
from tests.factories import CitizenFactory, SlotFactory
from vaxbook.bookings import sql
from vaxbook.centres.models import Slot

pytestmark = pytest.mark.django_db


def field_values(instance: Model) -> dict:
    return {
        field.attname: getattr(instance, field.attname)
        for field in type(instance)._meta.concrete_fields
    }


def test_a_slot_loads_with_its_centre_and_vaccine_exactly_as_the_orm_loads_them():
    made = SlotFactory()
    loaded = sql.load_slot(made.pk)
    assert loaded is not None
    expected = Slot.objects.select_related("centre", "vaccine").get(pk=made.pk)

    assert field_values(loaded) == field_values(expected)
    assert field_values(loaded.centre) == field_values(expected.centre)
    assert field_values(loaded.vaccine) == field_values(expected.vaccine)
    # Same Python types (Decimal positions, aware datetimes, booleans), not just equal values.
    for instance, reference in [(loaded.centre, expected.centre), (loaded, expected)]:
        for name, value in field_values(instance).items():
            assert type(value) is type(getattr(reference, name)), name
    assert loaded.starts_at.tzinfo is not None


def test_loading_a_slot_that_does_not_exist_gives_none():
    assert sql.load_slot(987654) is None


def test_a_loaded_slot_needs_no_further_query(django_assert_num_queries):
    made = SlotFactory()
    with django_assert_num_queries(1):
        slot = sql.load_slot(made.pk)
        assert slot is not None
        assert (slot.centre.zone, slot.vaccine.name, slot.local_date) == (
            made.centre.zone,
            made.vaccine.name,
            made.local_date,
        )


def test_the_slot_read_with_the_person_lock_is_the_slot_load_slot_reads(
    django_assert_num_queries,
):
    made = SlotFactory()
    person = CitizenFactory()
    expected = sql.load_slot(made.pk)
    assert expected is not None

    with transaction.atomic(), django_assert_num_queries(2):  # the lock, the doses
        holder = sql.lock_person(person.pk, slot_id=made.pk)
        assert holder is not None
        assert holder.slot is not None
        # Loaded already, by the same statement:
        assert holder.slot.centre.zone
        assert holder.slot.vaccine.name

    assert (holder.date_of_birth, holder.held) == (person.date_of_birth, [])
    assert field_values(holder.slot) == field_values(expected)
    assert field_values(holder.slot.centre) == field_values(expected.centre)
    assert field_values(holder.slot.vaccine) == field_values(expected.vaccine)


def test_a_slot_that_does_not_exist_comes_with_the_lock_as_none():
    person = CitizenFactory()
    with transaction.atomic():
        holder = sql.lock_person(person.pk, slot_id=987654)

    assert holder is not None
    assert holder.date_of_birth == person.date_of_birth
    assert holder.slot is None


def test_locking_a_person_who_does_not_exist_gives_none():
    made = SlotFactory()
    with transaction.atomic():
        assert sql.lock_person(987654, slot_id=made.pk) is None
        assert sql.lock_person(987654) is None


def test_a_statement_run_often_is_prepared_by_postgresql():
    made = SlotFactory()
    for _ in range(env.PREPARE_THRESHOLD + 1):
        sql.load_slot(made.pk)

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [statement for (statement,) in cursor.fetchall()]
        assert any("FROM centres_slot s JOIN centres_centre" in text for text in prepared)
    else:  # SQLite keeps its own statement cache; nothing is configured for it
        assert "prepare_threshold" not in connection.settings_dict["OPTIONS"]
