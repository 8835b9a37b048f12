import pytest
from django.db.models import Model

from tests.factories import SlotFactory
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
