"""Who may post events: an HMAC-SHA256 signature over the raw body, or a secret URL token.

Jira signs with `X-Hub-Signature: sha256=<hex>` when the webhook has a secret; versions that
cannot sign put the token in the URL instead. Comparisons are constant-time. Neither the secret
nor what the client sent is ever logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import NoReturn

from webhooks.errors import Unauthorized

log = logging.getLogger(__name__)
_SIGNATURE = re.compile(r"^sha256=[0-9a-f]{64}$")

SIGNATURE_HEADER = "X-Hub-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_right(secret: str | None, body: bytes, signature_header: str) -> bool:
    """Whether the signature is right, without logging or raising (the fast path's pre-check:
    a refusal is left to the route, so it is logged once)."""
    if not secret:
        return False
    sent = signature_header.strip().lower().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(signature(secret, body).encode(), sent)


def authenticate(
    *, secret: str | None, body: bytes, signature_header: str | None, token: str | None
) -> None:
    """Raise Unauthorized unless the request proves it knows the secret (when one is set).

    A signature, when present, must be right even if a token is also given.
    """
    if not secret:
        return
    if signature_header is not None:
        sent = signature_header.strip().lower()
        expected = signature(secret, body).encode()
        if not hmac.compare_digest(expected, sent.encode("utf-8", "surrogatepass")):
            if not _SIGNATURE.match(sent):
                _refuse("malformed signature", f"{SIGNATURE_HEADER} is not sha256=<64 hex digits>")
            _refuse(
                "bad signature",
                "the HMAC-SHA256 of the body does not match: a different secret on the webhook "
                "(OKR_JIRA_WEBHOOK_SECRET), or a proxy that changed the body",
                len(body),
            )
        return
    if token is not None:
        if hmac.compare_digest(token.encode("utf-8", "surrogatepass"), secret.encode()):
            return
        _refuse("bad token", "the URL token is not OKR_JIRA_WEBHOOK_SECRET")
    _refuse(
        "missing signature",
        f"no {SIGNATURE_HEADER} header and no URL token: the webhook in Jira has no secret set",
    )


def _refuse(reason: str, detail: str, body_bytes: int | None = None) -> NoReturn:
    """Log why (never the secret, the signature or the token sent) and answer 401."""
    extra: dict[str, object] = {"reason": reason, "detail": detail}
    if body_bytes is not None:
        extra["body_bytes"] = body_bytes
    log.warning("webhooks.refused", extra=extra)
    raise Unauthorized(
        "bad signature"
        if reason in ("bad signature", "malformed signature")
        else "a signature (X-Hub-Signature) or the URL token is required"
    )
