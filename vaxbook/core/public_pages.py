"""The pages every public service owes the people who use it, linked from every footer:
the privacy notice, the accessibility statement, the cookies and contact and help.

The privacy notice is written from the register of processing, docs/privacy.md, and the
cookie list from the code that sets each cookie: when either changes, this changes with it.
"""

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from vaxbook.accounts.registration import LINK_VALIDITY
from vaxbook.core import db_router, devices
from vaxbook.waiting_room.gate import PASS_COOKIE, TICKET_COOKIE


def _contact() -> dict[str, str]:
    return {"contact_email": settings.CONTACT_EMAIL}


@require_safe
def privacy(request: HttpRequest) -> HttpResponse:
    context = {**_contact(), "link_hours": int(LINK_VALIDITY / dt.timedelta(hours=1))}
    return render(request, "core/about/privacy.html", context)


@require_safe
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "core/about/accessibility.html", _contact())


@require_safe
def cookies(request: HttpRequest) -> HttpResponse:
    return render(request, "core/about/cookies.html", {"cookies": cookie_list()})


@require_safe
def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "core/about/help.html", _contact())


def cookie_list() -> list[dict[str, object]]:
    """Every cookie vaxbook sets: its name, what it is for and how long it lasts. All are
    strictly necessary for the service asked for, so none needs consent (ePrivacy article
    5(3)); there is no analytics or advertising cookie to ask about."""
    return [
        {
            "name": settings.SESSION_COOKIE_NAME,
            "purpose": _("Keeps you signed in from page to page."),
            "lasts": _("%(days)d days, or until you sign out; staff sessions end sooner")
            % {"days": settings.SESSION_COOKIE_AGE // 86400},
        },
        {
            "name": settings.CSRF_COOKIE_NAME,
            "purpose": _(
                "Proves that a form you send was filled in on this site, so that no other "
                "site can send it in your name."
            ),
            "lasts": _("%(days)d days") % {"days": settings.CSRF_COOKIE_AGE // 86400},
        },
        {
            "name": settings.LANGUAGE_COOKIE_NAME,
            "purpose": _("Remembers the language you chose."),
            "lasts": _("Until you close your browser"),
        },
        {
            "name": devices.COOKIE_NAME,
            "purpose": _(
                "Remembers that this browser has signed in to your account before, so that "
                "someone trying wrong passwords elsewhere cannot lock you out. It holds no "
                "email address, only a code made from it."
            ),
            "lasts": _("%(days)d days") % {"days": devices.MAX_AGE_S // 86400},
        },
        {
            "name": db_router.READ_YOUR_WRITES_COOKIE,
            "purpose": _(
                "Set for a few seconds after you book or change something, so that the next "
                "page shows your change at once."
            ),
            "lasts": _("%(seconds)d seconds") % {"seconds": db_router.read_your_writes_seconds()},
        },
        {
            "name": TICKET_COOKIE,
            "purpose": _(
                "Your place in the queue when the waiting room is open, on the busiest days."
            ),
            "lasts": _("%(minutes)d minutes after your last visit")
            % {"minutes": settings.WAITING_ROOM_GRACE_SECONDS // 60},
        },
        {
            "name": PASS_COOKIE,
            "purpose": _("Lets you book once your turn in the waiting room has come."),
            "lasts": _("Until the time it gives you to book runs out"),
        },
    ]
