"""Who may post events: an HMAC-SHA256 signature over the raw body, or a secret URL token.

Jira signs with `X-Hub-Signature: sha256=<hex>` when the webhook has a secret; versions that
cannot sign put the token in the URL instead. Comparisons are constant-time. Neither the secret
nor what the client sent is ever logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac

from webhooks.errors import Unauthorized

SIGNATURE_HEADER = "X-Hub-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def authenticate(
    *, secret: str | None, body: bytes, signature_header: str | None, token: str | None
) -> None:
    """Raise Unauthorized unless the request proves it knows the secret (when one is set).

    A signature, when present, must be right even if a token is also given.
    """
    if not secret:
        return
    if signature_header is not None:
        expected = signature(secret, body).encode()
        if not hmac.compare_digest(
            expected, signature_header.strip().lower().encode("utf-8", "surrogatepass")
        ):
            raise Unauthorized("bad signature")
        return
    if token is not None and hmac.compare_digest(
        token.encode("utf-8", "surrogatepass"), secret.encode()
    ):
        return
    raise Unauthorized("a signature (X-Hub-Signature) or the URL token is required")
