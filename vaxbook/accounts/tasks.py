"""Account emails the worker sends, so that a page answers the same way, on the same path,
whether or not the address it was given has an account (no enumeration by the answer or
its timing): the page only enqueues a task; the task looks the address up."""

from django.tasks import task
from django.utils import translation


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
