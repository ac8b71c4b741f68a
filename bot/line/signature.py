"""X-Line-Signature: base64(HMAC-SHA256(channel secret, raw body)), compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid(channel_secret: str, body: bytes, signature: str | None) -> bool:
    """True only for the exact signature of these bytes (checked before the body is parsed)."""
    if not signature:
        return False
    return hmac.compare_digest(sign(channel_secret, body).encode("ascii"), signature.encode("ascii", "replace"))
