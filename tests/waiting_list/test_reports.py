"""The waiting list's figures per centre and day, as the health authority downloads them."""

import csv
import datetime as dt
import io

import pytest

from tests.factories import CentreFactory, staff_at
from tests.staff_clients import verified_client
from tests.waiting_list.conftest import TUESDAY, book, cancel, join
from vaxbook.accounts.models import StaffRole
from vaxbook.waiting_list import services

pytestmark = pytest.mark.django_db

URL = "/staff/reports/waiting-list.csv"


def rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_counts_waiting_offers_and_their_outcomes(
    centre, vaccine, slot, admin_client, clock
):
    first, second, _never_reached = (join([centre], vaccine) for _person in range(3))
    cancel(book(slot))
    (offer,) = services.offer_free_places(slot_ids=[slot.pk])
    services.decline_offer(person=first.person, offer_id=offer.pk)
    (offer,) = services.offer_free_places(slot_ids=[slot.pk])
    services.accept_offer(person=second.person, offer_id=offer.pk)

    response = admin_client.get(
        URL,
        {"first_day": TUESDAY.isoformat(), "last_day": TUESDAY.isoformat(), "centre": centre.pk},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    (tuesday,) = rows(response)
    assert tuesday["day"] == TUESDAY.isoformat()
    # The first declined and waits on, the second booked, the third was never reached.
    assert (tuesday["waiting"], tuesday["offers_made"]) == ("2", "2")
    assert (tuesday["accepted"], tuesday["declined"], tuesday["expired"]) == ("1", "1", "0")


def test_unused_places_are_those_of_started_slots_never_booked(
    centre, vaccine, slot, admin_client, clock
):
    clock.move_to(slot.starts_at + dt.timedelta(minutes=5))

    response = admin_client.get(
        URL, {"first_day": TUESDAY.isoformat(), "last_day": TUESDAY.isoformat()}
    )

    by_centre = {row["centre_id"]: row for row in rows(response)}
    assert by_centre[str(centre.pk)]["unused_places"] == "1"


def test_a_manager_sees_their_centre_and_nobody_else_sees_it(centre, vaccine):
    manager = verified_client(staff_at(centre, StaffRole.MANAGER))
    other = verified_client(staff_at(CentreFactory(), StaffRole.MANAGER))
    vaccinator = verified_client(staff_at(centre, StaffRole.VACCINATOR))
    query = {"first_day": TUESDAY.isoformat(), "last_day": TUESDAY.isoformat()}

    assert manager.get(URL, {**query, "centre": centre.pk}).status_code == 200
    assert manager.get(URL, query).status_code == 404  # all centres: administrators only
    assert other.get(URL, {**query, "centre": centre.pk}).status_code == 404
    assert vaccinator.get(URL, {**query, "centre": centre.pk}).status_code == 404


def test_bad_parameters_are_400_not_500(centre, admin_client):
    assert admin_client.get(URL, {"first_day": "soon"}).status_code == 400
    reversed_range = {"first_day": TUESDAY.isoformat(), "last_day": "2027-01-01"}
    assert admin_client.get(URL, reversed_range).status_code == 400
    assert admin_client.get(URL, {"centre": "x"}).status_code == 404


def test_the_report_page_shows_the_offers_with_a_chart_and_links_the_csv(
    centre, vaccine, slot, admin_client, clock
):
    first, _second = (join([centre], vaccine) for _person in range(2))
    cancel(book(slot))
    (offer,) = services.offer_free_places(slot_ids=[slot.pk])
    services.accept_offer(person=first.person, offer_id=offer.pk)

    page = admin_client.get(f"/staff/centres/{centre.pk}/manage/report/").content.decode()

    assert "Waiting list, the same days" in page
    assert "1 made, 1 accepted" in page  # the chart's bar for the slot's day
    table = page.split('<th scope="col">Offers made</th>')[1].split("</table>")[0]
    tuesday_row = next(row for row in table.split("<tr>") if TUESDAY.strftime("%-d %B %Y") in row)
    # Waiting (the second person), offers made, accepted, declined, expired.
    assert "<td>1</td><td>1</td><td>1</td><td>0</td><td>0</td>" in tuesday_row
    assert f'action="{URL}"' in page
