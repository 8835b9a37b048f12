"""Work the worker does for accounts and personal data.

Account emails: a page answers the same way, on the same path, whether or not the address
it was given has an account (no enumeration by the answer or its timing): the page only
enqueues a task; the task looks the address up.

Retention: `apply_retention_rules` runs every RETENTION_EVERY, and enqueues its own next
run first, so a run that fails still leaves the next one. The worker (manage.py run_worker)
starts the chain when no run is waiting; should two workers start it at once, the first run
that finds another one waiting enqueues none, and the chains become one again.
"""

import datetime as dt

from django.conf import settings
from django.tasks import TaskResultStatus, task
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from vaxbook.accounts import retention

RETENTION_EVERY = dt.timedelta(hours=1)


@task()
def send_password_reset(*, email: str, language: str) -> None:
    """The reset link to `email`, in `language`, if an active account uses that address;
    nothing otherwise."""
    from vaxbook.accounts.forms import PasswordResetForm  # forms import this module

    with translation.override(language):
        form = PasswordResetForm({"email": email})
        if form.is_valid():
            form.send_reset_email()


@task()
def apply_retention_rules() -> None:
    """The retention rules (vaxbook.accounts.retention), then again in RETENTION_EVERY."""
    schedule_retention(after=RETENTION_EVERY)
    retention.apply_retention()


def schedule_retention(*, after: dt.timedelta = dt.timedelta(0)) -> bool:
    """Enqueue a run of the retention rules `after` from now, unless one is waiting."""
    waiting = DBTaskResult.objects.filter(
        task_path=apply_retention_rules.module_path, status=TaskResultStatus.READY
    )
    if waiting.exists():
        return False
    apply_retention_rules.using(run_after=timezone.now() + after).enqueue()
    return True


@task()
def send_registration_email(*, email: str) -> None:
    """The link that creates the account asked for with `email`, or the notice to the owner
    of the account that already uses it (vaxbook.accounts.registration)."""
    from vaxbook.accounts import registration

    registration.send_link_or_notice(email=email)


@task()
def forget_registration(*, email: str) -> None:
    """Delete `email`'s registration if its link expired unused; run when it expires."""
    from vaxbook.accounts import registration

    registration.forget_expired_registration(email=email)


@task()
def send_password_changed(*, user_id: int) -> None:
    """Tell the owner of an account that its password was changed (ASVS V2.2.3): if it was
    not them, they know at once, and how to take the account back."""
    from vaxbook.accounts.models import Citizen, User
    from vaxbook.accounts.registration import send_email

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    citizen = Citizen.objects.filter(user=user).first()
    language = citizen.language if citizen is not None else settings.LANGUAGE_CODE
    context = {"reset_url": settings.SITE_URL + reverse("password_reset")}
    send_email(user.email, language, "password_changed", context)
