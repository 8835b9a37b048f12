"""Dates as people type them (vaxbook.core.dates), and the one date and time format per
language (vaxbook.core.formats)."""

import datetime as dt

import pytest
from django.utils import translation
from django.utils.formats import date_format, time_format

from vaxbook.bookings.forms import EligibilityCheckForm

MAY_17 = dt.date(1990, 5, 17)


def typed(text: str, language: str) -> dt.date | None:
    with translation.override(language):
        form = EligibilityCheckForm({"date_of_birth": text, "dose_number": "1"})
        form.is_valid()
        return form.cleaned_data.get("date_of_birth")


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(
    "text",
    [
        "17/05/1990",
        "17/5/1990",
        "17-05-1990",
        "17.05.1990",
        "17 5 1990",
        " 17/05/1990 ",
        "1990-05-17",
        "17 May 1990",
        "17 may 1990",
        "May 17, 1990",
        "17th of May 1990",
    ],
)
def test_a_date_of_birth_is_read_as_people_type_it(text: str, language: str) -> None:
    assert typed(text, language) == MAY_17


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["17 de mayo de 1990", "17 mayo 1990", "17 Mayo 1990"])
def test_spanish_month_names_are_read_on_spanish_pages(text: str) -> None:
    assert typed(text, "es") == MAY_17


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "31/02/1990",
        "17/05/90",
        "05/17/1990",
        "17 Foo 1990",
        "17 May",
        "17 May June 1990",
        "mayo",
        "17 de mayo de 1990 o 1991",
    ],
)
def test_what_is_not_one_real_date_with_its_year_is_refused(text: str) -> None:
    assert typed(text, "en") is None
    with translation.override("en"):
        form = EligibilityCheckForm({"date_of_birth": text, "dose_number": "1"})
        assert form.errors["date_of_birth"] == ["Enter a real date, for example 17/05/1990."]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
def test_a_form_shows_a_date_the_way_its_hint_does(language: str) -> None:
    with translation.override(language):
        form = EligibilityCheckForm(initial={"date_of_birth": MAY_17})
        html = str(form["date_of_birth"])
        hint = str(form.fields["date_of_birth"].help_text)

    assert 'type="text"' in html
    assert 'value="17/05/1990"' in html
    assert hint.endswith("17/05/1990")


@pytest.mark.parametrize(
    ("language", "day", "time", "moment"),
    [
        ("en", "17 May 1990", "10:00", "17 May 1990, 10:00"),
        ("es", "17 de mayo de 1990", "10:00", "17 de mayo de 1990 a las 10:00"),
    ],
)
def test_one_date_and_one_time_format_per_language(language, day, time, moment) -> None:
    at_ten = dt.datetime(1990, 5, 17, 10, 0, tzinfo=dt.UTC)
    with translation.override(language):
        assert date_format(MAY_17) == day
        assert time_format(at_ten) == time
        assert time_format(at_ten, "TIME_FORMAT") == time
        assert date_format(at_ten, "DATETIME_FORMAT") == moment
