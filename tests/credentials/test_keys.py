import datetime as dt
import json
import multiprocessing
import os
import stat

import pytest
import time_machine
from joserfc.jwk import ECKey

from vaxbook.credentials import keys

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def stored(path) -> list[dict]:
    return json.loads(path.read_text())["keys"]


def test_first_use_creates_the_store_with_one_active_key_readable_only_by_its_owner(
    signing_keys_path,
) -> None:
    assert not signing_keys_path.parent.exists()

    with time_machine.travel(NOW, tick=False):
        kid = keys.active_kid()

    assert stat.S_IMODE(signing_keys_path.stat().st_mode) == 0o600
    [key] = stored(signing_keys_path)
    assert key["kid"] == kid == ECKey.import_key(key).thumbprint()
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" in key
    assert key["created_at"] == "2026-03-02T09:00:00Z"
    assert key["retired_at"] is None


def test_the_store_is_read_again_and_not_regenerated(signing_keys_path) -> None:
    kid = keys.active_kid()
    contents = signing_keys_path.read_bytes()

    assert keys.active_kid() == kid
    assert signing_keys_path.read_bytes() == contents


def test_rotation_retires_the_active_key_and_makes_a_new_one_active(signing_keys_path) -> None:
    old = keys.active_kid()

    rotation = keys.rotate(now=NOW)

    assert keys.active_kid() == rotation.new.kid != old
    assert [info.kid for info in rotation.retired] == [old]
    assert [(info.kid, info.retired_at) for info in keys.key_infos()] == [
        (old, NOW),
        (rotation.new.kid, None),
    ]
    assert {info.kid for info in rotation.published} == {old, rotation.new.kid}
    assert stat.S_IMODE(signing_keys_path.stat().st_mode) == 0o600


def test_a_retired_key_stays_published_without_its_private_part(signing_keys_path) -> None:
    old = keys.active_kid()
    keys.rotate(now=NOW)
    keys.rotate(now=NOW + dt.timedelta(days=3650))

    assert [jwk["kid"] for jwk in keys.published_jwks()["keys"]][1:2] == [old]
    assert keys.verification_key(old) is not None
    [first, second, active] = stored(signing_keys_path)
    assert (first["kid"], "d" in first, "d" in second, "d" in active) == (old, False, False, True)


def test_a_revoked_key_leaves_the_store_and_the_key_set(signing_keys_path) -> None:
    leaked = keys.active_kid()
    keys.rotate(now=NOW)

    keys.revoke(leaked)

    assert leaked not in {key["kid"] for key in stored(signing_keys_path)}
    assert [jwk["kid"] for jwk in keys.published_jwks()["keys"]] == [keys.active_kid()]
    assert keys.verification_key(leaked) is None


def test_the_active_key_and_an_unknown_key_cannot_be_revoked(signing_keys_path) -> None:
    active = keys.active_kid()

    with pytest.raises(keys.KeyNotRevocable, match="rotate first"):
        keys.revoke(active)
    with pytest.raises(keys.KeyNotRevocable, match="No key"):
        keys.revoke("not-a-kid")
    assert keys.active_kid() == active


def test_a_rotation_by_another_process_is_picked_up_without_a_restart(
    settings, signing_keys_path, tmp_path
) -> None:
    ours = keys.active_kid()
    # Another process writes a different store over ours, the way rotate() does (a new
    # file renamed into place).
    settings.SIGNING_KEYS_PATH = tmp_path / "elsewhere.json"
    theirs = keys.rotate(now=NOW).new.kid
    settings.SIGNING_KEYS_PATH = signing_keys_path
    os.replace(tmp_path / "elsewhere.json", signing_keys_path)

    assert theirs != ours
    assert keys.active_kid() == theirs


def _first_use_in_a_child(queue: "multiprocessing.Queue[str]") -> None:
    queue.put(keys.active_kid())


def test_processes_starting_together_agree_on_one_key(signing_keys_path) -> None:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_first_use_in_a_child, args=(queue,)) for _ in range(6)]
    for child in children:
        child.start()
    kids = {queue.get(timeout=30) for _ in children}
    for child in children:
        child.join(timeout=30)

    assert kids == {key["kid"] for key in stored(signing_keys_path)}
    assert len(kids) == 1


def test_private_members_never_reach_the_published_key_set() -> None:
    keys.active_kid()
    keys.rotate(now=dt.datetime.now(tz=dt.UTC))

    published = keys.published_jwks()["keys"]

    assert len(published) == 2
    for jwk in published:
        assert set(jwk) == {"kty", "crv", "x", "y", "kid", "use", "alg"}


# --- keys given in SIGNING_KEYS_JSON -------------------------------------------------------


@pytest.fixture
def keys_in_environment(settings, signing_keys_path, tmp_path) -> str:
    """A store made elsewhere and handed to the process whole, with one retired key."""
    settings.SIGNING_KEYS_PATH = tmp_path / "provisioning.json"
    keys.rotate(now=NOW)
    keys.rotate(now=dt.datetime.now(tz=dt.UTC))
    text = settings.SIGNING_KEYS_PATH.read_text()
    settings.SIGNING_KEYS_PATH = signing_keys_path
    settings.SIGNING_KEYS_JSON = text
    return text


def test_keys_can_come_from_the_environment_without_touching_the_file(
    keys_in_environment, signing_keys_path
) -> None:
    given = json.loads(keys_in_environment)["keys"]

    assert keys.active_kid() == given[-1]["kid"]
    assert [info.kid for info in keys.key_infos()] == [key["kid"] for key in given]
    assert not signing_keys_path.exists()


def test_keys_from_the_environment_cannot_be_rotated_here(keys_in_environment) -> None:
    with pytest.raises(keys.RotationNotAllowed, match="SIGNING_KEYS_JSON"):
        keys.rotate(now=NOW)


def test_a_change_of_the_environment_value_is_noticed(
    settings, keys_in_environment, tmp_path
) -> None:
    before = keys.active_kid()
    # The store rotated where it is provisioned, and provisioned again.
    settings.SIGNING_KEYS_JSON = ""
    settings.SIGNING_KEYS_PATH = tmp_path / "provisioning.json"
    after = keys.rotate(now=dt.datetime.now(tz=dt.UTC)).new.kid
    settings.SIGNING_KEYS_JSON = settings.SIGNING_KEYS_PATH.read_text()

    assert keys.active_kid() == after != before


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda store: "not json", "not JSON"),
        (lambda store: [], "not a JWK Set"),
        (lambda store: {"keys": {}}, "not a JWK Set"),
        (lambda store: {"keys": [1]}, "JSON object"),
        (lambda store: {"keys": []}, "exactly one active key"),
        (lambda store: {"keys": store["keys"] * 2}, "same key twice"),
        (
            lambda store: {"keys": [{**store["keys"][-1], "retired_at": None}, *store["keys"]]},
            "same key twice",
        ),
        (
            lambda store: {"keys": [{**store["keys"][0], "retired_at": None}, store["keys"][1]]},
            "active key must be a private",
        ),
        (
            lambda store: {"keys": [store["keys"][0]]},
            "exactly one active key",
        ),
        (
            lambda store: {"keys": [{**key, "created_at": "yesterday"} for key in store["keys"]]},
            "ISO 8601",
        ),
        (
            lambda store: {
                "keys": [{**key, "created_at": "2026-03-02T09:00:00"} for key in store["keys"]]
            },
            "with a zone",
        ),
        (
            lambda store: {
                "keys": [
                    {k: v for k, v in key.items() if k != "created_at"} for key in store["keys"]
                ]
            },
            "ISO 8601",
        ),
        (
            lambda store: {
                "keys": [{k: v for k, v in key.items() if k != "d"} for key in store["keys"]]
            },
            "private EC key",
        ),
        (lambda store: {"keys": [{**key, "alg": "ES384"} for key in store["keys"]]}, "ES256"),
        (lambda store: {"keys": [{**key, "kid": "mine"} for key in store["keys"]]}, "thumbprint"),
        (
            lambda store: {"keys": [{**key, "x": key["y"]} for key in store["keys"]]},
            "cannot be read",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_an_inconsistent_store_is_refused_with_a_clear_message(
    settings, keys_in_environment, spoil, message
) -> None:
    spoiled = spoil(json.loads(keys_in_environment))
    settings.SIGNING_KEYS_JSON = spoiled if isinstance(spoiled, str) else json.dumps(spoiled)

    with pytest.raises(keys.SigningKeysError, match=message):
        keys.active_kid()


# --- faults ------------------------------------------------------------------------------


def test_a_store_file_others_can_read_is_used_but_reported(signing_keys_path, caplog) -> None:
    keys.active_kid()
    signing_keys_path.chmod(0o644)
    os.utime(signing_keys_path, ns=(0, 0))  # a change the cache notices

    keys.active_kid()

    assert "can be read by other users" in caplog.text


def test_an_unusable_store_file_is_a_clear_configuration_error(signing_keys_path) -> None:
    signing_keys_path.parent.mkdir()
    signing_keys_path.mkdir()  # a directory where the file should be

    with pytest.raises(keys.SigningKeysError, match="cannot be used"):
        keys.active_kid()
    with pytest.raises(keys.SigningKeysError, match="cannot be read"):
        keys.rotate(now=NOW)
