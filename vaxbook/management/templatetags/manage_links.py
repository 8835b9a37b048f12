"""Whether to show a link to the management pages (the pages check again)."""

from typing import Any

from django import template

from vaxbook.centres.permissions import managed_centre_ids

register = template.Library()


@register.filter
def manages_any_centre(user: Any) -> bool:
    """An administrator, or a manager of at least one centre."""
    return managed_centre_ids(user) != []
