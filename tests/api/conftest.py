"""Callers of the API in every role, each with a bearer token, and a small JSON client."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.factories import CentreFactory, CitizenFactory, SlotFactory, UserFactory, staff_at
from vaxbook.accounts.models import Citizen, StaffRole, User
from vaxbook.api import tokens
from vaxbook.bookings import services
from vaxbook.bookings.models import Appointment
from vaxbook.centres.models import Centre, Slot

API = "/api/v1"
JSON_TYPES = ("application/json", "application/problem+json")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any
    raw: bytes

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class Api:
    """The API as a client sees it: JSON in, JSON (or a problem) out."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client(raise_request_exception=False)
        self.token = token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        **query: Any,
    ) -> Response:
        data: bytes | str | dict[str, Any] | None = raw
        if raw is None and body is not None:
            data = json.dumps(body)
        call = getattr(self.client, method.lower())
        url = API + path
        if method in {"GET", "HEAD"}:
            response = call(url, query, headers=self._headers(headers))
        else:
            response = call(
                url,
                data if data is not None else b"",
                content_type=content_type,
                headers=self._headers(headers),
            )
        content = response.content
        parsed: Any = None
        if response.get("Content-Type", "").startswith(JSON_TYPES) and content:
            parsed = json.loads(content)
        return Response(response.status_code, dict(response.headers), parsed, content)

    def get(self, path: str, *, headers: dict[str, str] | None = None, **query: Any) -> Response:
        return self.request("GET", path, headers=headers, **query)

    def post(self, path: str, body: Any = None, **options: Any) -> Response:
        return self.request("POST", path, body, **options)

    def delete(self, path: str, **options: Any) -> Response:
        return self.request("DELETE", path, **options)


def token_for(user: User, *, second_factor: bool = True) -> str:
    """A token as the API issues it; staff tokens come with the code of an authenticator."""
    return tokens.issue(user=user, second_factor=second_factor).access_token


@pytest.fixture
def anonymous() -> Api:
    return Api()


@pytest.fixture
def centre(db: None) -> Centre:
    return CentreFactory(name="Hospital Isabel Zendal", town="Madrid")


@pytest.fixture
def other_centre(db: None) -> Centre:
    return CentreFactory(name="Fira de Barcelona", town="Barcelona", postcode="08038")


@pytest.fixture
def slot(centre: Centre) -> Slot:
    return SlotFactory(centre=centre)


@pytest.fixture
def person(db: None) -> Citizen:
    return CitizenFactory(full_name="Ada Lovelace")


@pytest.fixture
def citizen(person: Citizen) -> Api:
    return Api(token_for(person.user))


@pytest.fixture
def other_person(db: None) -> Citizen:
    return CitizenFactory(full_name="Grace Hopper")


@pytest.fixture
def other_citizen(other_person: Citizen) -> Api:
    return Api(token_for(other_person.user))


@pytest.fixture
def staff_user(centre: Centre) -> User:
    return staff_at(centre, StaffRole.VACCINATOR)


@pytest.fixture
def staff(staff_user: User) -> Api:
    return Api(token_for(staff_user))


@pytest.fixture
def other_staff(other_centre: Centre) -> Api:
    return Api(token_for(staff_at(other_centre, StaffRole.VACCINATOR)))


@pytest.fixture
def admin(db: None) -> Api:
    return Api(token_for(UserFactory(is_superuser=True, is_staff=True)))


@pytest.fixture
def appointment(person: Citizen, slot: Slot) -> Appointment:
    return services.book_appointment(person=person, slot_id=slot.pk, dose_number=1)
