import datetime as dt
import json

import pytest

# jwcrypto ships no type information.
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from vaxbook.credentials import keys
from vaxbook.credentials.tokens import issue_token

pytestmark = pytest.mark.django_db

JWKS = "/.well-known/jwks.json"


def test_our_token_verifies_with_an_independent_library_against_the_served_key_set(
    client, appointment
) -> None:
    token = issue_token(appointment)

    key_set = jwcrypto_jwk.JWKSet.from_json(client.get(JWKS).content)
    signed = jwcrypto_jws.JWS()
    signed.deserialize(token)
    kid = signed.jose_header["kid"]
    signed.verify(key_set.get_key(kid), alg="ES256")

    claims = json.loads(signed.payload)
    assert claims["ref"] == appointment.reference
    assert signed.jose_header["typ"] == "vaxbook-confirmation+jwt"


def test_after_a_rotation_both_generations_of_tokens_verify_against_the_served_key_set(
    client, appointment
) -> None:
    old_token = issue_token(appointment)
    keys.rotate(now=dt.datetime.now(tz=dt.UTC))
    new_token = issue_token(appointment)

    key_set = jwcrypto_jwk.JWKSet.from_json(client.get(JWKS).content)
    for token in (old_token, new_token):
        signed = jwcrypto_jws.JWS()
        signed.deserialize(token)
        signed.verify(key_set.get_key(signed.jose_header["kid"]), alg="ES256")


def test_key_set_lists_the_active_key_with_public_members_only(client) -> None:
    response = client.get(JWKS)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "keys": [
            {
                "kty": "EC",
                "crv": "P-256",
                "x": response.json()["keys"][0]["x"],
                "y": response.json()["keys"][0]["y"],
                "kid": keys.active_kid(),
                "use": "sig",
                "alg": "ES256",
            }
        ]
    }


def test_key_set_keeps_retired_keys_and_drops_a_revoked_one(client) -> None:
    first = keys.active_kid()
    keys.rotate(now=dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=3650))
    second = keys.active_kid()
    keys.rotate(now=dt.datetime.now(tz=dt.UTC))

    assert [key["kid"] for key in client.get(JWKS).json()["keys"]] == [
        keys.active_kid(),
        first,
        second,
    ]

    keys.revoke(first)

    assert [key["kid"] for key in client.get(JWKS).json()["keys"]] == [keys.active_kid(), second]


def test_no_private_member_is_ever_served(client) -> None:
    keys.active_kid()
    keys.rotate(now=dt.datetime.now(tz=dt.UTC))

    body = client.get(JWKS).content

    assert len(json.loads(body)["keys"]) == 2
    assert b'"d"' not in body
    assert b"created_at" not in body


def test_key_set_may_be_cached_five_minutes_by_anyone_on_any_origin(client) -> None:
    response = client.get(JWKS)

    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["ETag"].startswith('"')


def test_a_matching_if_none_match_gets_304_with_the_caching_headers(client) -> None:
    etag = client.get(JWKS)["ETag"]

    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(JWKS, headers={"If-None-Match": if_none_match})

        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag
        assert response["Cache-Control"] == "public, max-age=300"
        assert response["Access-Control-Allow-Origin"] == "*"


def test_the_etag_changes_when_a_key_is_added(client) -> None:
    etag = client.get(JWKS)["ETag"]
    keys.rotate(now=dt.datetime.now(tz=dt.UTC))

    response = client.get(JWKS, headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response["ETag"] != etag
    assert len(response.json()["keys"]) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": "garbage"},
        {"If-None-Match": '"'},
        {"If-None-Match": ",,,"},
        {"If-None-Match": "W/"},
        {"If-None-Match": '"' + "a" * 10_000 + '"'},
        {"If-None-Match": "ünïcödé"},
        {"If-Modified-Since": "yesterday"},
        {"If-Modified-Since": "Mon, 99 Foo 99999 99:99:99 GMT"},
        {"If-Match": "garbage"},
        {"If-Unmodified-Since": "garbage"},
        {"Accept": "text/html"},
        {"Accept": ";;;,,,/*/*"},
        {"Accept": "application/jwk-set+json;q=oops"},
        {"Accept-Encoding": "gzip;q=x, br"},
        {"Range": "bytes=0-10"},
        {"Origin": "null"},
    ],
    ids=repr,
)
def test_odd_request_headers_get_the_key_set(client, headers) -> None:
    response = client.get(JWKS, headers=headers)

    assert response.status_code == 200
    assert response.json()["keys"][0]["kid"] == keys.active_kid()


def test_an_if_match_for_another_version_is_refused_politely(client) -> None:
    assert client.get(JWKS, headers={"If-Match": '"another"'}).status_code == 412


def test_head_gets_the_headers_without_a_body(client) -> None:
    get = client.get(JWKS)

    response = client.head(JWKS)

    assert response.status_code == 200
    assert response.content == b""
    assert response["ETag"] == get["ETag"]
    assert response["Cache-Control"] == get["Cache-Control"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_only_get_and_head_are_allowed(client, method) -> None:
    response = getattr(client, method)(JWKS)

    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
