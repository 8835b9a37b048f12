import pytest
from django.test import RequestFactory

from vaxbook.core.clients import client_address


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/")
    request.META.update(extra)
    return request


def test_without_proxies_a_forged_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_one_proxy_the_address_it_saw_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client forged the first entry; nginx appended the real one.
    request = request_from("127.0.0.1", "198.51.100.1, 203.0.113.9")
    assert client_address(request) == "203.0.113.9"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "203.0.113.9, <script>"])
def test_a_missing_or_malformed_header_falls_back_to_the_peer(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request_from("127.0.0.1", forwarded)) == "127.0.0.1"
