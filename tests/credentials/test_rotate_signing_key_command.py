import io

import pytest
from django.core.management import CommandError, call_command

from vaxbook.credentials import keys


def rotate() -> str:
    out = io.StringIO()
    call_command("rotate_signing_key", stdout=out)
    return out.getvalue()


def test_command_prints_the_new_kid_and_the_keys_that_stay_published() -> None:
    old = keys.active_kid()

    output = rotate()

    new = keys.active_kid()
    assert f"New active key: {new}" in output
    assert f"Retired (its private part deleted): {old}" in output
    assert f"  {new}  active" in output
    assert f"  {old}  retired" in output


def test_revoke_command_withdraws_a_retired_key_and_refuses_the_active_one() -> None:
    leaked = keys.active_kid()
    rotate()

    out = io.StringIO()
    call_command("revoke_signing_key", leaked, stdout=out)

    assert f"Revoked: {leaked}" in out.getvalue()
    assert leaked not in [info.kid for info in keys.key_infos()]
    with pytest.raises(CommandError, match="rotate first"):
        call_command("revoke_signing_key", keys.active_kid())


def test_command_refuses_keys_given_in_the_environment(settings) -> None:
    keys.active_kid()
    settings.SIGNING_KEYS_JSON = settings.SIGNING_KEYS_PATH.read_text()

    with pytest.raises(CommandError, match="SIGNING_KEYS_JSON"):
        rotate()
