"""Who may manage what. The management services ask these questions themselves, so a page,
an API endpoint or a command can never skip them.

- Administrators (the health authority: `is_superuser`) create centres and manage every
  centre, including all reports.
- A centre manager (StaffMembership role `manager`) manages their own centres only: its
  details, opening hours, slots, capacity, staff and report.
- Receptionists and vaccinators manage nothing.
"""

from typing import Any

from vaxbook.accounts.models import StaffRole, User


def is_administrator(user: Any) -> bool:
    return isinstance(user, User) and user.is_active and user.is_superuser


def managed_centre_ids(user: Any) -> list[int] | None:
    """The ids of the centres `user` manages, in order; None for an administrator (all of
    them). The one place that says what makes a manager: every other check asks here."""
    if is_administrator(user):
        return None
    if not isinstance(user, User) or not user.is_active:
        return []
    return sorted(
        centre_id for centre_id, role in user.centre_roles.items() if role == StaffRole.MANAGER
    )


def may_manage(user: Any, centre_id: int) -> bool:
    """An administrator, or a manager at this centre."""
    centre_ids = managed_centre_ids(user)
    return centre_ids is None or centre_id in centre_ids
