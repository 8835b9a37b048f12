from django import template

from vaxbook.accounts.models import User
from vaxbook.audit.queries import may_read_centre_log

register = template.Library()


@register.filter
def may_read_audit_log_of(user: User, centre_id: int) -> bool:
    """{% if user|may_read_audit_log_of:centre.pk %}: whether to link the centre's log."""
    return isinstance(user, User) and may_read_centre_log(user, centre_id)
