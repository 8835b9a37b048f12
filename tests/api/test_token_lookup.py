import pytest
from django.db.models import Model

from tests.factories import CitizenFactory, UserFactory
from vaxbook.accounts.models import Citizen
from vaxbook.api import tokens
from vaxbook.api.models import ApiToken

pytestmark = pytest.mark.django_db


def field_values(instance: Model) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_citizens_token_comes_with_the_user_and_citizen_as_the_orm_loads_them(
    django_assert_num_queries,
):
    person = CitizenFactory()
    raw = tokens.issue(user=person.user, second_factor=False).access_token
    with django_assert_num_queries(1):
        found = tokens.token_of(raw)
        assert found is not None
        assert found.user.citizen.full_name == person.full_name
    expected = ApiToken.objects.select_related("user", "user__citizen").get(pk=found.pk)
    assert field_values(found) == field_values(expected)
    assert field_values(found.user) == field_values(expected.user)
    assert field_values(found.user.citizen) == field_values(expected.user.citizen)


def test_a_staff_token_has_a_user_without_a_citizen_profile(django_assert_num_queries):
    user = UserFactory()
    raw = tokens.issue(user=user, second_factor=True).access_token
    with django_assert_num_queries(1):
        found = tokens.token_of(raw)
        assert found is not None
        with pytest.raises(Citizen.DoesNotExist):
            _ = found.user.citizen


def test_an_unknown_token_finds_nothing():
    assert tokens.token_of("not-a-token") is None
