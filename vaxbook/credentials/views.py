from django.http import HttpRequest, JsonResponse


def jwks(request: HttpRequest) -> JsonResponse:
    raise NotImplementedError
