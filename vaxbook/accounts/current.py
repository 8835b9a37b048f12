"""The account signed in on a request, as the views that need one use it."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from vaxbook.accounts.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user; PermissionDenied (403) otherwise. The views' decorators
    (login_required, staff_required) already turn the anonymous away: this is the check
    that holds even without them, and under `python -O`, which drops `assert`."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user
