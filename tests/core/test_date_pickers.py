"""A browser's date picker (`<input type="date">`) shows only an ISO 8601 value: every form
field drawn as one writes its date that way, whatever the language's format for typed
dates (17/05/1990), or a date given back to the person shows as an empty field."""

import datetime as dt
import importlib
import inspect
import pkgutil

import pytest
from django import forms
from django.utils import translation

import vaxbook


def date_pickers() -> list[tuple[str, forms.Widget]]:
    found = []
    for module_info in pkgutil.walk_packages(vaxbook.__path__, "vaxbook."):
        if not module_info.name.endswith(".forms"):
            continue
        module = importlib.import_module(module_info.name)
        for name, form in inspect.getmembers(module, inspect.isclass):
            if not issubclass(form, forms.Form) or form.__module__ != module.__name__:
                continue
            for field_name, field in form.base_fields.items():
                if getattr(field.widget, "input_type", None) == "date":
                    found.append((f"{module.__name__}.{name}.{field_name}", field.widget))
    return found


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_date_picker_shows_its_date_in_iso_8601(language: str) -> None:
    pickers = date_pickers()
    assert len(pickers) >= 5
    with translation.override(language):
        for name, widget in pickers:
            html = widget.render("day", dt.date(2026, 12, 9))
            assert 'value="2026-12-09"' in html, name
