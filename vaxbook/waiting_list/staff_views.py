"""The waiting list's CSV report for the health authority and centre managers."""

import csv
from collections.abc import Iterator

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from vaxbook.accounts.current import signed_in_user
from vaxbook.accounts.staff import staff_required
from vaxbook.centres.errors import CentreNotFound, InvalidRange, NotPermitted
from vaxbook.management.forms import DayRangeForm
from vaxbook.waiting_list import reports


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@staff_required
def report_csv(request: HttpRequest) -> HttpResponse:
    """`?first_day=&last_day=[&centre=]`: one row per centre and day (reports.COLUMNS).
    Someone who may not see that report gets a 404, as for the other reports."""
    user = signed_in_user(request)
    centre_id = request.GET.get("centre")
    try:
        centre = int(centre_id) if centre_id else None
        reports.check_may_report(user=user, centre_id=centre)
    except (ValueError, NotPermitted, CentreNotFound):
        raise Http404 from None
    form = DayRangeForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            _("Choose a first and last day."), status=400, content_type="text/plain; charset=utf-8"
        )
    first_day, last_day = form.days()
    try:
        rows = list(
            reports.figures(user=user, first_day=first_day, last_day=last_day, centre_id=centre)
        )
    except InvalidRange as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(reports.COLUMNS)
        for figures in rows:
            yield writer.writerow(figures.row())

    filename = f"vaxbook-waiting-list-{first_day.isoformat()}-{last_day.isoformat()}.csv"
    return StreamingHttpResponse(  # type: ignore[return-value]
        lines(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
