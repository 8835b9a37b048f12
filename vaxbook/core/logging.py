"""Logs never carry a secret from a URL: the password reset link's token (and the set-password
step of an invitation) and the secret of the link that creates an account, in a logged path,
are replaced by `[redacted]`.

`RedactSecretPaths` is a logging filter for Django's loggers (settings.LOGGING) and for the
web server's access log (deploy/granian-log.json, which deploy/web passes to granian)."""

import logging
import re
from typing import Any

# /password-reset/<uidb64>/<token>/ and /staff/.../<uidb64>/<token>/ (Django's token is
# "<timestamp in base36>-<hash>"): keep the uid, drop the token.
_TOKEN_IN_PATH = re.compile(r"(/[A-Za-z0-9_-]+/)([0-9a-z]{1,13}-[0-9a-f]{20,64})(?=/|$|\?)")
# /register/confirm/<token>/: the secret of the link that creates an account.
_REGISTRATION_LINK_IN_PATH = re.compile(r"(/register/confirm/)([A-Za-z0-9_-]+)(?=/|$|\?)")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    text = _REGISTRATION_LINK_IN_PATH.sub(rf"\1{REDACTED}", text)
    return _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text)


class RedactSecretPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted(value) for value in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value
