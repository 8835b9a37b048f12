"""The offer's email, in the language the person joined in; the time on the centre's clock."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vaxbook.waiting_list.models import Offer
from vaxbook.waiting_list.tokens import offer_url

TEMPLATE_DIR = "waiting_list/email"


def render_offer_email(offer: Offer) -> EmailMultiAlternatives:
    slot, centre = offer.slot, offer.slot.centre
    with translation.override(offer.entry.language or settings.LANGUAGE_CODE):
        starts = timezone.localtime(slot.starts_at, centre.zone)
        expires = timezone.localtime(offer.expires_at, centre.zone)
        context = {
            "name": offer.person.full_name,
            "vaccine": slot.vaccine.name,
            "dose": offer.entry.dose_number,
            "centre": centre.name,
            "address": f"{centre.address}, {centre.postcode} {centre.town}",
            "starts": starts,
            "expires": expires,
            "url": offer_url(offer.pk),
            "site_url": settings.SITE_URL + "/",
            "language": translation.get_language(),
        }
        subject = _("A vaccination place is free for you at %(centre)s") % context
        context["subject"] = subject
        text = render_to_string(f"{TEMPLATE_DIR}/offer.txt", context)
        html = render_to_string(f"{TEMPLATE_DIR}/offer.html", context)
        language = translation.get_language()
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[offer.person.user.email],
        headers={
            "Auto-Submitted": "auto-generated",
            "Content-Language": language,
            # A resend after a crash is recognisably the same message.
            "Message-ID": f"<offer.{offer.pk}@{_domain()}>",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _domain() -> str:
    from email.utils import parseaddr

    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "vaxbook.invalid"
