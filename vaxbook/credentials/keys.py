"""The signing key store: ES256 (P-256) keys that sign confirmations, and which of them
verifiers may trust.

The store is a JWK Set whose active key carries its private part (`d`), and every key two
extra members (RFC 7517 §4: members a library does not know are ignored):

    {"keys": [{"kty": "EC", "crv": "P-256", "x": …, "y": …, "d": …,
               "kid": <RFC 7638 thumbprint>, "use": "sig", "alg": "ES256",
               "created_at": "2026-03-01T09:00:00Z", "retired_at": null}, …]}

It comes from settings.SIGNING_KEYS_JSON when that is set (read-only: it is provisioned
elsewhere), otherwise from the file settings.SIGNING_KEYS_PATH, created with one key on
first use. Exactly one key is active (its `retired_at` is null): it signs every new
token. `rotate()` retires it, keeping only its public part, and adds a new active key.

A retired key stays published until it is revoked (`revoke()`, for a key that leaked): a
vaccination certificate does not expire, and the SMART Health Cards practice is that an
issuer's key stays in its key set for as long as cards it signed are in use.

Private keys never leave this module: callers sign through `sign()` and receive only
public keys (`verification_key()`, `published_jwks()`).
"""

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

logger = logging.getLogger(__name__)

ALGORITHM = "ES256"
CURVE = "P-256"

# The longest a confirmation may be valid after it was signed: it expires at the end of
# its appointment's day plus the grace period, and slots open days or weeks ahead, never
# more than a year. tokens.issue_token refuses a token that would outlive it: a
# confirmation signed for a far-off date by mistake is refused, not carried for years.
TOKEN_LIFETIME_BOUND = dt.timedelta(days=400)

# Members of a published JWK, and nothing else: a whitelist, so a private member (`d`)
# or our metadata can never reach the JWKS, whatever the stored JWK contains.
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y")
_METADATA_MEMBERS = ("created_at", "retired_at")

# Only ES256: `none`, HS256 (with the public key as the secret) and every other algorithm
# are refused before any key is used.
JWS_REGISTRY = jws.JWSRegistry(algorithms=[ALGORITHM])


class SigningKeysError(Exception):
    """The signing keys are missing, unreadable or inconsistent: a configuration fault."""


class RotationNotAllowed(SigningKeysError):
    """Rotation was asked for while the keys come from SIGNING_KEYS_JSON."""


@dataclass(frozen=True)
class KeyInfo:
    """What may be said about a key in public: its id and its life."""

    kid: str
    created_at: dt.datetime
    retired_at: dt.datetime | None

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


@dataclass(frozen=True)
class _StoredKey:
    info: KeyInfo
    private: ECKey | None  # None once retired: it never signs again
    public: ECKey


@dataclass(frozen=True)
class _Store:
    keys: tuple[_StoredKey, ...]

    @property
    def active(self) -> _StoredKey:
        # _parse_store guarantees exactly one key is not retired.
        return next(key for key in self.keys if key.info.is_active)

    @property
    def signing_key(self) -> tuple[str, ECKey]:
        """The active key's id and private part (_parse_store guarantees it has one)."""
        active = self.active
        if active.private is None:
            raise SigningKeysError("The active signing key has no private part.")
        return active.info.kid, active.private


# --- public interface ------------------------------------------------------------------


def sign(payload: bytes, *, typ: str) -> str:
    """A compact JWS of `payload` signed by the active key, with `alg`, `kid` and `typ`."""
    kid, private = _current_store().signing_key
    header = {"alg": ALGORITHM, "kid": kid, "typ": typ}
    return jws.serialize_compact(header, payload, private, registry=JWS_REGISTRY)


def sign_with_header(payload: bytes, *, header: dict[str, Any], registry: jws.JWSRegistry) -> str:
    """A compact JWS of `payload` signed by the active key, with `alg`, `kid` and the
    members of `header` (which `registry` must accept): a SMART Health Card has no `typ`
    but a `zip`."""
    kid, private = _current_store().signing_key
    protected = {**header, "alg": ALGORITHM, "kid": kid}
    return jws.serialize_compact(protected, payload, private, registry=registry)


def verification_key(kid: str) -> ECKey | None:
    """The public key `kid` if it is published (stored and not revoked), else None."""
    for key in _current_store().keys:
        if key.info.kid == kid:
            return key.public
    return None


def published_jwks() -> dict[str, list[dict[str, Any]]]:
    """The JWK Set verifiers fetch: every stored key, public members only, the active key
    first."""
    published = sorted(_current_store().keys, key=lambda key: key.info.retired_at is not None)
    return {"keys": [_public_jwk(key) for key in published]}


def key_infos() -> list[KeyInfo]:
    """Every stored key, in the store's order (rotation appends: oldest first)."""
    return [key.info for key in _current_store().keys]


def active_kid() -> str:
    return _current_store().active.info.kid


@dataclass(frozen=True)
class Rotation:
    new: KeyInfo
    retired: list[KeyInfo]
    published: list[KeyInfo]


def rotate(*, now: dt.datetime) -> Rotation:
    """Retire the active key at `now` and make a new one active (file store only). Every
    retired key keeps only its public part: it never signs again, so its private part
    would only be a liability, and the tokens and certificates it signed keep verifying."""
    path = _writable_path("rotate")
    with _file_lock(path):
        # Read the file itself, not the cache: the lock makes this read-modify-write safe
        # against another rotation, and the cache might predate it.
        old = _read_file(path).keys if path.exists() else ()
        retired = [_retire(key, now) for key in old if key.info.is_active]
        still_retired = [_public_only(key) for key in old if not key.info.is_active]
        new = _new_key(now)
        store = _Store(keys=(*still_retired, *retired, new))
        _write_file(path, store)
    _forget_cache()
    return Rotation(
        new=new.info,
        retired=[key.info for key in retired],
        published=[key.info for key in store.keys],
    )


class KeyNotRevocable(SigningKeysError):
    """The key to revoke is not in the store, or is the active one."""


def revoke(kid: str) -> KeyInfo:
    """Remove the retired key `kid` from the store (file store only), after it leaked: it
    leaves the JWK Set, and every confirmation and certificate it signed stops verifying,
    here and at every verifier that refetches the set. The active key is rotated first."""
    path = _writable_path("revoke")
    with _file_lock(path):
        store = _read_file(path)
        found = [key for key in store.keys if key.info.kid == kid]
        if not found:
            raise KeyNotRevocable(f"No key {kid!r} in the store.")
        if found[0].info.is_active:
            raise KeyNotRevocable(
                f"{kid} is the active key: rotate first (rotate_signing_key), then revoke it."
            )
        _write_file(path, _Store(keys=tuple(key for key in store.keys if key.info.kid != kid)))
    _forget_cache()
    return found[0].info


def _writable_path(action: str) -> Path:
    if _json_source():
        raise RotationNotAllowed(
            f"The signing keys come from SIGNING_KEYS_JSON, which this process cannot change: "
            f"{action} where that variable is provisioned (see docs/credentials.md)."
        )
    return _path()


# --- loading and caching -----------------------------------------------------------------

# One parsed store per process, tagged with where it came from: the JSON text, or the
# file's identity (inode, mtime, size). Every use checks the tag (one fstat for a file),
# so a rotation written by another process is picked up without a restart.
_cache: tuple[object, _Store] | None = None
_cache_lock = threading.Lock()


def _current_store() -> _Store:
    text = _json_source()
    with _cache_lock:
        return _store_from_json(text) if text else _store_from_file(_path())


def _store_from_json(text: str) -> _Store:
    global _cache
    tag = ("json", text)
    if _cache is None or _cache[0] != tag:
        _cache = (tag, _parse_store(text, source="SIGNING_KEYS_JSON"))
    return _cache[1]


def _store_from_file(path: Path) -> _Store:
    global _cache
    try:
        if not path.exists():
            _create_file(path)
        with path.open("rb") as file:
            # fstat of the open file, so the tag describes exactly the bytes read.
            stat = os.fstat(file.fileno())
            tag = ("file", str(path), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if _cache is None or _cache[0] != tag:
                _warn_if_readable_by_others(path, stat.st_mode)
                _cache = (tag, _parse_store(file.read().decode(), source=str(path)))
            return _cache[1]
    except (OSError, UnicodeDecodeError) as error:
        raise SigningKeysError(f"The signing keys file {path} cannot be used: {error}") from error


def _forget_cache() -> None:
    global _cache
    with _cache_lock:
        _cache = None


def _json_source() -> str:
    return str(settings.SIGNING_KEYS_JSON).strip()


def _path() -> Path:
    return Path(settings.SIGNING_KEYS_PATH)


def _warn_if_readable_by_others(path: Path, mode: int) -> None:
    if mode & 0o077:
        logger.warning(
            "The signing keys file %s can be read by other users (mode %o): chmod 600 it.",
            path,
            mode & 0o777,
        )


# --- the file ------------------------------------------------------------------------------


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise writers across processes: web workers creating the file on first use at
    the same moment, or a rotation, must never overwrite each other's keys (a token signed
    by a key that was then lost would never verify)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _create_file(path: Path) -> None:
    with _file_lock(path):
        # Another process may have created it while this one waited for the lock.
        if not path.exists():
            _write_file(path, _Store(keys=(_new_key(timezone.now()),)))
            logger.info("Generated a signing key in %s.", path)


def _write_file(path: Path, store: _Store) -> None:
    """Replace the file atomically: readers see the old store or the new one, whole."""
    # mkstemp creates the file with mode 0600, so the private keys are never readable by
    # others, not even for a moment.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(_dump_store(store))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable: after a crash the file holds the new keys.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_file(path: Path) -> _Store:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SigningKeysError(f"The signing keys file {path} cannot be read: {error}") from error
    return _parse_store(text, source=str(path))


# --- (de)serialisation -------------------------------------------------------------------


def _new_key(now: dt.datetime) -> _StoredKey:
    private = ECKey.generate_key(CURVE, private=True)
    return _stored_key(private, KeyInfo(kid=private.thumbprint(), created_at=now, retired_at=None))


def _retire(key: _StoredKey, now: dt.datetime) -> _StoredKey:
    info = KeyInfo(kid=key.info.kid, created_at=key.info.created_at, retired_at=now)
    return _StoredKey(info=info, private=None, public=key.public)


def _public_only(key: _StoredKey) -> _StoredKey:
    return _StoredKey(info=key.info, private=None, public=key.public)


def _stored_key(key: ECKey, info: KeyInfo) -> _StoredKey:
    """`key` with its public part apart; a retired key keeps no private part."""
    public = ECKey.import_key(
        {member: key.as_dict()[member] for member in _PUBLIC_MEMBERS},
        parameters={"kid": info.kid, "use": "sig", "alg": ALGORITHM},
    )
    private = key if info.is_active else None
    return _StoredKey(info=info, private=private, public=public)


def _public_jwk(key: _StoredKey) -> dict[str, Any]:
    members = key.public.as_dict()
    jwk = {member: members[member] for member in _PUBLIC_MEMBERS}
    return {**jwk, "kid": key.info.kid, "use": "sig", "alg": ALGORITHM}


def _dump_store(store: _Store) -> str:
    keys = [
        {
            **(key.private or key.public).as_dict(private=key.private is not None),
            "kid": key.info.kid,
            "use": "sig",
            "alg": ALGORITHM,
            "created_at": _format_time(key.info.created_at),
            "retired_at": _format_time(key.info.retired_at) if key.info.retired_at else None,
        }
        for key in store.keys
    ]
    return json.dumps({"keys": keys}, indent=2) + "\n"


def _parse_store(text: str, *, source: str) -> _Store:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SigningKeysError(f"{source} is not JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise SigningKeysError(f'{source} is not a JWK Set: {{"keys": [...]}} expected.')
    keys = tuple(_parse_key(member, source=source) for member in data["keys"])
    kids = [key.info.kid for key in keys]
    if len(set(kids)) != len(kids):
        raise SigningKeysError(f"{source} holds the same key twice.")
    active = [key for key in keys if key.info.is_active]
    if len(active) != 1:
        raise SigningKeysError(
            f"{source} must hold exactly one active key (retired_at null), it holds {len(active)}."
        )
    return _Store(keys=keys)


def _parse_key(member: object, *, source: str) -> _StoredKey:
    if not isinstance(member, dict):
        raise SigningKeysError(f"{source}: every key must be a JSON object.")
    jwk = {name: value for name, value in member.items() if name not in _METADATA_MEMBERS}
    if jwk.get("kty") != "EC" or jwk.get("crv") != CURVE:
        raise SigningKeysError(f"{source}: every key must be an EC key on {CURVE}.")
    if "d" not in jwk and member.get("retired_at") is None:
        raise SigningKeysError(f"{source}: the active key must be a private EC key on {CURVE}.")
    if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
        raise SigningKeysError(f'{source}: every key must be for "use": "sig", "alg": "ES256".')
    try:
        key = ECKey.import_key(jwk)
    except (JoseError, ValueError, TypeError) as error:
        raise SigningKeysError(f"{source}: a key cannot be read: {error}") from error
    kid = key.thumbprint()
    # The kid is the key's thumbprint, so it names the key material itself: two stores
    # can never give one kid to different keys.
    if jwk.get("kid", kid) != kid:
        raise SigningKeysError(f"{source}: kid {jwk['kid']!r} is not the key's thumbprint {kid}.")
    info = KeyInfo(
        kid=kid,
        created_at=_parse_time(member.get("created_at"), source=source),
        retired_at=(
            None
            if member.get("retired_at") is None
            else _parse_time(member["retired_at"], source=source)
        ),
    )
    return _stored_key(key, info)


def _format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: object, *, source: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise SigningKeysError(
            f"{source}: created_at and retired_at must be ISO 8601 times with a zone "
            f"(e.g. 2026-03-01T09:00:00Z), not {value!r}."
        )
    return moment
