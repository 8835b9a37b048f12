"""Centres, the vaccines they offer, and their weekly opening hours: who may change them,
and the rules a change must keep."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from tests.factories import VaccineFactory
from tests.helpers import at
from tests.management.helpers import make_site, slot_at
from vaxbook.audit.models import AuditAction, AuditEvent
from vaxbook.centres import services
from vaxbook.centres.errors import CentreNotFound, InvalidCentre, InvalidTemplate, NotPermitted
from vaxbook.centres.models import Centre, OpeningTemplate, Weekday

pytestmark = pytest.mark.django_db

DAY = dt.date(2027, 5, 10)


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(at(8, day=DAY), tick=False):
        yield


@pytest.fixture
def site():
    return make_site()


def details(**changes: Any) -> services.CentreDetails:
    values: dict[str, Any] = {
        "name": "Pabellón 9 IFEMA",
        "address": "Avenida del Partenón 5",
        "postcode": "28042",
        "town": "Madrid",
        "phone": "+34 900 000 999",
        "latitude": Decimal("40.46340"),
        "longitude": Decimal("-3.61780"),
        "time_zone": "Europe/Madrid",
        "is_active": True,
        "vaccine_ids": frozenset(),
    } | changes
    return services.CentreDetails(**values)


def hours(site, **changes: Any) -> services.TemplateDetails:
    values: dict[str, Any] = {
        "vaccine_id": site.vaccine.pk,
        "weekday": Weekday.MONDAY,
        "opens_at": dt.time(9),
        "closes_at": dt.time(14),
        "slot_minutes": 10,
        "places_per_slot": 4,
    } | changes
    return services.TemplateDetails(**values)


# --- centres -----------------------------------------------------------------------------------


def test_an_administrator_opens_a_centre_with_its_vaccines(site) -> None:
    centre = services.create_centre(
        staff=site.admin,
        details=details(vaccine_ids=frozenset({site.vaccine.pk})),
        client_address="192.0.2.1",
    )

    centre.refresh_from_db()
    assert (centre.name, centre.town, centre.time_zone, centre.is_active) == (
        "Pabellón 9 IFEMA",
        "Madrid",
        "Europe/Madrid",
        True,
    )
    assert list(centre.vaccines.all()) == [site.vaccine]
    event = AuditEvent.objects.get(action=AuditAction.CENTRE_CHANGED)
    assert (event.actor, event.centre_id, event.outcome) == (site.admin, centre.pk, "created")


@pytest.mark.parametrize("who", ["manager", "other_manager", "vaccinator", "citizen"])
def test_only_administrators_open_centres(site, who) -> None:
    count = Centre.objects.count()

    with pytest.raises(NotPermitted):
        services.create_centre(staff=getattr(site, who), details=details())

    assert Centre.objects.count() == count


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"latitude": Decimal("95.00000")}, "latitude"),
        ({"longitude": Decimal("-180.50000")}, "longitude"),
        ({"name": "  "}, "name"),
    ],
)
def test_a_centre_with_bad_details_is_refused_and_nothing_is_written(site, changes, field) -> None:
    count = Centre.objects.count()

    with pytest.raises(InvalidCentre) as refused:
        services.create_centre(staff=site.admin, details=details(**changes))

    assert field in refused.value.errors
    assert Centre.objects.count() == count
    assert not AuditEvent.objects.exists()


def test_a_manager_changes_their_own_centre(site) -> None:
    other_vaccine = VaccineFactory(name="Spikevax", cvx_code="207")

    services.update_centre(
        staff=site.manager,
        centre_id=site.centre.pk,
        details=details(is_active=False, vaccine_ids=frozenset({other_vaccine.pk})),
        client_address="192.0.2.9",
    )

    site.centre.refresh_from_db()
    assert site.centre.name == "Pabellón 9 IFEMA"
    assert not site.centre.is_active
    assert list(site.centre.vaccines.all()) == [other_vaccine]
    event = AuditEvent.objects.get()
    assert event.detail["is_active"] == {"from": True, "to": False}
    assert event.detail["vaccines"] == {"from": ["Comirnaty"], "to": ["Spikevax"]}


@pytest.mark.parametrize("who", ["other_manager", "vaccinator", "receptionist", "citizen"])
def test_nobody_else_changes_a_centre(site, who) -> None:
    with pytest.raises(NotPermitted):
        services.update_centre(
            staff=getattr(site, who), centre_id=site.centre.pk, details=details()
        )

    site.centre.refresh_from_db()
    assert site.centre.name == "Centro de Vacunación Norte"


def test_a_vaccine_with_opening_hours_cannot_be_dropped(site) -> None:
    services.add_opening_template(staff=site.manager, centre_id=site.centre.pk, details=hours(site))

    with pytest.raises(InvalidCentre) as refused:
        services.update_centre(
            staff=site.manager, centre_id=site.centre.pk, details=details(vaccine_ids=frozenset())
        )

    assert refused.value.errors["vaccine_ids"] == [
        "Comirnaty still has opening hours at this centre. Remove those opening hours first."
    ]
    assert list(site.centre.vaccines.all()) == [site.vaccine]


def test_the_time_zone_cannot_change_under_future_slots(site) -> None:
    slot_at(site.centre, site.vaccine, at(10, day=DAY))

    with pytest.raises(InvalidCentre) as refused:
        services.update_centre(
            staff=site.manager,
            centre_id=site.centre.pk,
            details=details(time_zone="Atlantic/Canary", vaccine_ids=frozenset({site.vaccine.pk})),
        )

    assert "time_zone" in refused.value.errors
    site.centre.refresh_from_db()
    assert site.centre.time_zone == "Europe/Madrid"


def test_a_missing_centre_is_not_found(site) -> None:
    with pytest.raises(CentreNotFound):
        services.managed_centre(user=site.admin, centre_id=999_999)


# --- opening templates -----------------------------------------------------------------------


def test_a_manager_adds_opening_hours(site) -> None:
    template = services.add_opening_template(
        staff=site.manager, centre_id=site.centre.pk, details=hours(site)
    )

    assert OpeningTemplate.objects.get() == template
    assert AuditEvent.objects.get().outcome == "template_added"


@pytest.mark.parametrize(
    ("opens", "closes"),
    [("13:00", "15:00"), ("08:00", "09:10"), ("10:00", "11:00"), ("08:00", "15:00")],
)
def test_overlapping_hours_for_the_same_vaccine_and_day_are_refused(site, opens, closes) -> None:
    services.add_opening_template(staff=site.manager, centre_id=site.centre.pk, details=hours(site))

    with pytest.raises(InvalidTemplate) as refused:
        services.add_opening_template(
            staff=site.manager,
            centre_id=site.centre.pk,
            details=hours(
                site,
                opens_at=dt.time.fromisoformat(opens),
                closes_at=dt.time.fromisoformat(closes),
            ),
        )

    assert refused.value.message == (
        "These hours overlap the Comirnaty opening hours on Monday from 09:00 to 14:00. "
        "Change the times, or change that template instead."
    )
    assert OpeningTemplate.objects.count() == 1


def test_hours_that_only_touch_or_differ_in_day_vaccine_or_validity_are_fine(site) -> None:
    other = VaccineFactory(name="Spikevax", cvx_code="207")
    site.centre.vaccines.add(other)
    add = lambda **changes: services.add_opening_template(  # noqa: E731
        staff=site.manager, centre_id=site.centre.pk, details=hours(site, **changes)
    )

    add(valid_until=dt.date(2027, 6, 30))
    add(opens_at=dt.time(14), closes_at=dt.time(20), valid_until=dt.date(2027, 6, 30))
    add(weekday=Weekday.TUESDAY)
    add(vaccine_id=other.pk)
    add(valid_from=dt.date(2027, 7, 1))

    assert OpeningTemplate.objects.count() == 5


def test_overlapping_validity_counts_as_an_overlap(site) -> None:
    services.add_opening_template(
        staff=site.manager,
        centre_id=site.centre.pk,
        details=hours(site, valid_from=dt.date(2027, 6, 1), valid_until=dt.date(2027, 6, 30)),
    )

    with pytest.raises(InvalidTemplate):
        services.add_opening_template(
            staff=site.manager,
            centre_id=site.centre.pk,
            details=hours(site, valid_until=dt.date(2027, 6, 1)),
        )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"slot_minutes": 0}, "slot_minutes", "A slot lasts between 5 and 240 minutes."),
        ({"slot_minutes": 1000}, "slot_minutes", "A slot lasts between 5 and 240 minutes."),
        ({"places_per_slot": 0}, "places_per_slot", "A slot has between 1 and 500 places."),
        (
            {"opens_at": dt.time(14), "closes_at": dt.time(9)},
            "closes_at",
            "The closing time must be after the opening time.",
        ),
        (
            {"valid_from": dt.date(2027, 7, 1), "valid_until": dt.date(2027, 6, 1)},
            "valid_until",
            "The last day must not be before the first day.",
        ),
    ],
)
def test_bad_hours_are_refused_next_to_their_field(site, changes, field, message) -> None:
    with pytest.raises(InvalidTemplate) as refused:
        services.add_opening_template(
            staff=site.manager, centre_id=site.centre.pk, details=hours(site, **changes)
        )

    assert refused.value.errors[field] == [message]
    assert not OpeningTemplate.objects.exists()
    assert not AuditEvent.objects.exists()


def test_hours_for_a_vaccine_the_centre_does_not_offer_are_refused(site) -> None:
    other = VaccineFactory(name="Spikevax", cvx_code="207")

    with pytest.raises(InvalidTemplate) as refused:
        services.add_opening_template(
            staff=site.manager, centre_id=site.centre.pk, details=hours(site, vaccine_id=other.pk)
        )

    assert "vaccine_id" in refused.value.errors


@pytest.mark.parametrize("who", ["other_manager", "vaccinator", "receptionist", "citizen"])
def test_only_the_centres_managers_change_its_hours(site, who) -> None:
    template = services.add_opening_template(
        staff=site.admin, centre_id=site.centre.pk, details=hours(site)
    )

    with pytest.raises(NotPermitted):
        services.add_opening_template(
            staff=getattr(site, who),
            centre_id=site.centre.pk,
            details=hours(site, weekday=Weekday.FRIDAY),
        )
    with pytest.raises(NotPermitted):
        services.remove_opening_template(
            staff=getattr(site, who), centre_id=site.centre.pk, template_id=template.pk
        )

    assert list(OpeningTemplate.objects.all()) == [template]


def test_removing_hours_keeps_the_slots_made_from_them(site) -> None:
    template = services.add_opening_template(
        staff=site.manager, centre_id=site.centre.pk, details=hours(site)
    )
    slot = slot_at(site.centre, site.vaccine, at(10, day=DAY))

    services.remove_opening_template(
        staff=site.manager, centre_id=site.centre.pk, template_id=template.pk
    )

    assert not OpeningTemplate.objects.exists()
    slot.refresh_from_db()
    assert slot.is_open


def test_a_template_of_another_centre_is_not_found_through_this_one(site) -> None:
    other_centre = site.other_manager.memberships.get().centre
    template = services.add_opening_template(
        staff=site.other_manager, centre_id=other_centre.pk, details=hours(site)
    )

    with pytest.raises(CentreNotFound):
        services.remove_opening_template(
            staff=site.manager, centre_id=site.centre.pk, template_id=template.pk
        )

    assert OpeningTemplate.objects.filter(pk=template.pk).exists()
