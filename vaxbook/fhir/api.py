"""API: the FHIR R4 export for the health authority (docs/fhir.md). Administrators only.

`GET /fhir/$export` answers a Bulk Data-style manifest naming one NDJSON file per
resource type; each file is `GET /fhir/{type}.ndjson`, streamed; `_since` (a FHIR instant,
with its zone) limits both to what changed since. `GET /fhir/{type}/{id}` is one resource.
"""

import datetime as dt
import json
import urllib.parse

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router
from ninja.decorators import decorate_view

from vaxbook.api import http
from vaxbook.api.auth import bearer, caller
from vaxbook.api.problems import ApiProblem, Problem
from vaxbook.core.streaming import started
from vaxbook.fhir import export

router = Router(tags=["fhir"], auth=bearer)

FHIR_JSON = "application/fhir+json"
ERRORS = {
    403: "`not_permitted`: only administrators export.",
    404: "`not_found`: no such resource type (or resource).",
    422: "`invalid_since`: `_since` is not an instant with its zone.",
}


def _administrator(request: HttpRequest) -> None:
    if not caller(request).is_superuser:
        raise ApiProblem(403, "not_permitted", _("Only administrators export FHIR resources."))


def _since(request: HttpRequest) -> dt.datetime | None:
    text = request.GET.get("_since")
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiProblem(
            422,
            "invalid_since",
            _("_since must be an instant with its zone, for example 2026-12-01T00:00:00Z."),
        )
    return moment


def _types(request: HttpRequest) -> list[str]:
    asked = request.GET.get("_type")
    if not asked:
        return list(export.TYPES)
    types = [name.strip() for name in asked.split(",") if name.strip()]
    for name in types:
        _known(name)
    return types


def _known(resource_type: str) -> str:
    if resource_type not in export.TYPES:
        raise ApiProblem(
            404,
            "not_found",
            _("No resource type %(type)s here; the export has %(types)s.")
            % {"type": resource_type, "types": ", ".join(export.TYPES)},
        )
    return resource_type


def _responses(content_type: str, description: str) -> dict[str, object]:
    return {
        "responses": {
            200: {"description": description, "content": {content_type: {"schema": {}}}},
            **{status: {"description": text} for status, text in ERRORS.items()},
        }
    }


@router.get(
    "/fhir/$export",
    response={200: None, 403: Problem, 404: Problem, 422: Problem},
    summary="FHIR Bulk Data-style export manifest",
    openapi_extra=_responses("application/json", "The manifest: one NDJSON file per type."),
)
@decorate_view(http.private)
def export_manifest(request: HttpRequest) -> HttpResponse:
    """Optional `_type` (comma-separated resource types) and `_since` (an instant)."""
    _administrator(request)
    since = _since(request)
    query = {"_since": request.GET["_since"]} if since is not None else {}
    base = settings.SITE_URL + "/api/v1/fhir/"
    manifest = {
        "transactionTime": export.resources.instant(timezone.now()),
        "request": settings.SITE_URL + request.get_full_path(),
        "requiresAccessToken": True,
        "output": [
            {
                "type": name,
                "url": f"{base}{name}.ndjson"
                + (f"?{urllib.parse.urlencode(query)}" if query else ""),
            }
            for name in _types(request)
        ],
        "error": [],
    }
    return HttpResponse(json.dumps(manifest), content_type="application/json")


@router.get(
    "/fhir/{resource_type}.ndjson",
    response={200: None, 403: Problem, 404: Problem, 422: Problem},
    summary="Every resource of one type, as NDJSON",
    openapi_extra=_responses(export.NDJSON, "One resource a line, streamed."),
)
@decorate_view(http.private)
def export_type(request: HttpRequest, resource_type: str) -> StreamingHttpResponse:
    _administrator(request)
    lines = export.ndjson_lines(_known(resource_type), since=_since(request))
    response = StreamingHttpResponse(started(lines), content_type=export.NDJSON)
    response["Content-Disposition"] = f'attachment; filename="{resource_type}.ndjson"'
    return response


@router.get(
    "/fhir/{resource_type}/{resource_id}",
    response={200: None, 403: Problem, 404: Problem},
    summary="One FHIR resource",
    openapi_extra=_responses(FHIR_JSON, "The resource."),
)
@decorate_view(http.private)
def read_resource(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    _administrator(request)
    resource = export.one(_known(resource_type), resource_id)
    return HttpResponse(json.dumps(resource, ensure_ascii=False), content_type=FHIR_JSON)
