"""API tokens: `okr-jira tokens add|list|revoke` and the web app's check of a bearer token.

A token is `okrj_` + 43 random URL-safe characters, shown once; only its SHA-256 is stored, with
its first characters as a lookup prefix. Checks compare hashes in constant time and read the
database every time, so a revoked token stops working at once, in every process, without a
restart. OKR_JIRA_ADMIN_TOKEN is an admin token named `admin-token`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine

from okr_jira.errors import OkrJiraError
from okr_jira.storage import tokens
from okr_jira.storage.db import session_scope
from okr_jira.storage.tables import utcnow

ROLES = ("read", "admin")
ENV_TOKEN_NAME = "admin-token"
_PREFIX = "okrj_"
_LOOKUP = 12  # characters of the token kept as its lookup prefix (the scheme + 7 random)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class Identity:
    """Who is calling: a token's or a proxy user's name, and the role it has."""

    name: str
    role: str
    via: str  # token | admin-token | session | proxy

    @property
    def admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: str
    created_at: str
    created_by: str | None
    revoked: bool


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(engine: Engine, name: str, role: str, *, created_by: str | None) -> str:
    """Store a new token; returns it (the only time it is ever seen)."""
    if not _NAME.fullmatch(name) or name == ENV_TOKEN_NAME:
        raise OkrJiraError(
            f"invalid token name {name!r}: letters, digits, '.', '_', '@', '-' (at most 64), "
            f"and not '{ENV_TOKEN_NAME}'"
        )
    if role not in ROLES:
        raise OkrJiraError(f"role must be one of {', '.join(ROLES)}")
    token = _PREFIX + secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        if tokens.token_named(session=session, name=name) is not None:
            raise OkrJiraError(f"a token named '{name}' exists already (revoked ones keep it)")
        tokens.add_token(
            session=session, name=name, role=role, prefix=token[:_LOOKUP],
            token_hash=digest(token), created_by=created_by, at=utcnow(),
        )  # fmt: skip
    return token


def list_tokens(engine: Engine) -> list[TokenInfo]:
    with session_scope(engine) as session:
        return [
            TokenInfo(
                name=r.name,
                role=r.role,
                created_at=r.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                created_by=r.created_by,
                revoked=r.revoked_at is not None,
            )
            for r in tokens.all_tokens(session=session)
        ]


def revoke_token(engine: Engine, name: str) -> None:
    with session_scope(engine) as session:
        if not tokens.revoke_token(session=session, name=name, at=utcnow()):
            raise OkrJiraError(f"no live token named '{name}'")


def verify(engine: Engine, token: str, *, env_token: str | None) -> Identity | None:
    """The identity of a bearer token, or None. Every comparison is constant-time."""
    given = token.encode("utf-8", "surrogatepass")
    if env_token is not None and hmac.compare_digest(given, env_token.encode()):
        return Identity(ENV_TOKEN_NAME, "admin", "admin-token")
    if not token.startswith(_PREFIX) or len(token) < _LOOKUP + 8:
        return None
    wanted = digest(token)
    with session_scope(engine) as session:
        for row in tokens.tokens_with_prefix(session=session, prefix=token[:_LOOKUP]):
            if hmac.compare_digest(row.token_hash, wanted):
                return Identity(row.name, row.role, "token")
    return None


def fingerprint(token: str) -> str:
    """What a session cookie keeps of the token it signed in with (not enough to use it)."""
    return digest(token)[:16]


def still_valid(engine: Engine, name: str, print_: str, *, env_token: str | None) -> str | None:
    """For a signed-in browser: the role of the token it signed in with, while that token is
    live and unchanged (None once revoked, or once OKR_JIRA_ADMIN_TOKEN changed)."""
    if name == ENV_TOKEN_NAME:
        ok = env_token is not None and hmac.compare_digest(fingerprint(env_token), print_)
        return "admin" if ok else None
    with session_scope(engine) as session:
        row = tokens.token_named(session=session, name=name)
        if row is None or row.revoked_at is not None:
            return None
        return row.role if hmac.compare_digest(row.token_hash[:16], print_) else None
