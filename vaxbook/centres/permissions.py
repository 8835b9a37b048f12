"""Who may manage what. The management services ask these questions themselves, so a page,
an API endpoint or a command can never skip them.

- Administrators (the health authority: `is_superuser`) create centres and manage every
  centre, including all reports.
- A centre manager (StaffMembership role `manager`) manages their own centres only: its
  details, opening hours, slots, capacity, staff and report.
- Receptionists and vaccinators manage nothing.
"""

from typing import Any

from vaxbook.accounts.models import StaffMembership, StaffRole, User


def is_administrator(user: Any) -> bool:
    return isinstance(user, User) and user.is_active and user.is_superuser


def may_manage(user: Any, centre_id: int) -> bool:
    """An administrator, or a manager at this centre."""
    if not isinstance(user, User) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return StaffMembership.objects.filter(
        user=user, centre_id=centre_id, role=StaffRole.MANAGER
    ).exists()


def managed_centre_ids(user: Any) -> list[int] | None:
    """The ids of the centres `user` manages; None for an administrator (all of them)."""
    if is_administrator(user):
        return None
    if not isinstance(user, User) or not user.is_active:
        return []
    return list(
        StaffMembership.objects.filter(user=user, role=StaffRole.MANAGER)
        .order_by("centre_id")
        .values_list("centre_id", flat=True)
    )
