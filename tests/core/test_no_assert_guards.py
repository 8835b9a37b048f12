"""`python -O` drops every `assert`: production code guards with real checks."""

import ast
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from vaxbook.accounts.current import signed_in_user

ROOT = Path(__file__).resolve().parents[2]


def test_production_code_guards_with_real_checks_not_asserts() -> None:
    asserts = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for folder in ("vaxbook", "config")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Assert)
    ]
    assert asserts == []


def test_a_view_reached_without_a_signed_in_user_is_refused(rf) -> None:
    request = rf.get("/appointments/")
    request.user = AnonymousUser()
    with pytest.raises(PermissionDenied):
        signed_in_user(request)
