"""What people call a time zone: "Canary Islands time" rather than "Atlantic/Canary".

Pages and messages that give a time say whose clock it is with these names; the zone id
stays the data (centres' settings, the API, the calendar files).
"""

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The zones the service's centres use, by the name people there give their clock.
PLACE_TIMES: dict[str, Promise] = {
    "Europe/Madrid": gettext_lazy("Spanish mainland time"),
    "Atlantic/Canary": gettext_lazy("Canary Islands time"),
    "Africa/Ceuta": gettext_lazy("Ceuta and Melilla time"),
    "Europe/London": gettext_lazy("UK time"),
    "Europe/Lisbon": gettext_lazy("Portugal time"),
}


def place_time(time_zone: str) -> str:
    """A friendly name for the clock of `time_zone` (an IANA id) in the active language: a
    known zone by its name, another by its city ("Europe/Paris": "Paris time"), a zone of no
    place (UTC, Etc/GMT+5) by its id."""
    if name := PLACE_TIMES.get(time_zone):
        return str(name)
    if "/" not in time_zone or time_zone.startswith("Etc/"):
        return time_zone
    city = time_zone.rsplit("/", 1)[-1].replace("_", " ")
    return _("%(place)s time") % {"place": city}
