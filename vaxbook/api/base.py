"""The API object's class: django-ninja's NinjaAPI with vaxbook's rules for every endpoint.

- every failure is a problem (vaxbook.api.problems.install);
- every view goes through vaxbook.api.guards (body size and length, JSON only, HEAD,
  problem 405);
- the OpenAPI document says so: error responses are `application/problem+json` with the
  Problem schema, and the errors any endpoint can meet (a malformed or oversized body, a
  missing token, the database out of reach) are listed on each operation they apply to.
"""

from typing import Any, cast

from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from vaxbook.api import problems
from vaxbook.api.guards import JsonParser, guard_view, read_only

# Errors every operation with a JSON body can answer, whatever the endpoint.
BODY_ERRORS = {
    400: "`malformed_json`, `invalid_encoding`: the body is not UTF-8 JSON.",
    411: "`length_required`: the body was sent in chunks, without a Content-Length.",
    413: "`payload_too_large`: the body is over 64 kB.",
    415: "`unsupported_media_type`: the body is not `application/json`.",
    422: "`validation_error`: a field is missing, unknown or of the wrong type (see `errors`).",
}
PARAMETER_ERRORS = {
    422: "`validation_error`: a path, query or header parameter is not valid (see `errors`).",
}
AUTH_ERRORS = {
    401: "`not_authenticated`: no bearer token; `invalid_token`: unknown, expired or revoked.",
}
SERVICE_ERRORS = {
    503: "`service_unavailable`: the database cannot be reached just now; try again after "
    "`Retry-After` seconds.",
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
ERROR_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to use: Bearer.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}


class VaxbookAPI(NinjaAPI):
    def __init__(self, **options: Any) -> None:
        options.setdefault("parser", JsonParser())
        # The OpenAPI document and its docs page: GET and HEAD, else a 405 problem.
        options.setdefault("docs_decorator", read_only)
        super().__init__(**options)
        problems.install(self)

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        guarded = [
            URLPattern(p.pattern, guard_view(p.callback), p.default_args, p.name)
            if isinstance(p, URLPattern)
            else p
            for p in patterns
        ]
        return guarded, app_name, namespace

    def get_openapi_operation_id(self, operation: Any) -> str:
        # Endpoint functions have unique names across the routers: they are the ids.
        return cast(str, operation.view_func.__name__)

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                extra = {
                    **(PARAMETER_ERRORS if operation.get("parameters") else {}),
                    **(BODY_ERRORS if "requestBody" in operation else {}),
                    **(AUTH_ERRORS if operation.get("security") else {}),
                    **SERVICE_ERRORS,
                }
                for status, description in extra.items():
                    responses.setdefault(status, {"description": description})
                for status, response in responses.items():
                    if int(status) >= 400:
                        response["content"] = {problems.MEDIA_TYPE: {"schema": problem_ref}}
                    if int(status) in ERROR_HEADERS:
                        response.setdefault("headers", {}).update(ERROR_HEADERS[int(status)])
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in components:
            components["Problem"] = problems.Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            for name, definition in components["Problem"].pop("$defs", {}).items():
                components.setdefault(name, definition)
        return schema
