"""Officers' API tokens: short-lived HS256 JWTs signed with SECRET_KEY.

A token names the officer (`sub`, the officer's id) and expires `TOKEN_MINUTES` after it is made; nothing
else is trusted from it: the officer's role and provinces are read from the database on every request, so a
deactivated officer or a changed province takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import jwt

from storage.base import utcnow

ALGORITHM = "HS256"
TOKEN_MINUTES = 15
AUDIENCE = "helpdesk-api"


def _signing_key(secret: str) -> bytes:
    """A key of its own for API tokens, derived from SECRET_KEY (which also signs console sessions): 32 bytes,
    whatever SECRET_KEY's length, and a token can never pass for a session cookie or the reverse."""
    return hmac.new(secret.encode(), b"helpdesk api token v1", hashlib.sha256).digest()


class InvalidToken(Exception):
    """A token that is malformed, badly signed, expired or for someone else; the message says which."""


def create_access_token(
    *, secret: str, officer_id: int, minutes: int = TOKEN_MINUTES, now: datetime | None = None
) -> str:
    now = now or utcnow()
    claims = {
        "sub": str(officer_id),
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
    }
    return jwt.encode(claims, _signing_key(secret), algorithm=ALGORITHM)


def officer_id_from_token(*, secret: str, token: str) -> int:
    """The officer id a valid token names; raises InvalidToken otherwise."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(secret),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the token has expired: sign in again") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("the token is not valid: sign in again") from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.isdigit():
        raise InvalidToken("the token is not valid: sign in again")
    return int(subject)
