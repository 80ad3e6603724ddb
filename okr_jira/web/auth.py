"""Who is calling, and may they: a bearer token (scripts, tests, the API), the session cookie a
browser got by signing in with a token once, or a trusted reverse proxy's user header (SSO).

Roles: `read` looks, `admin` also writes. Without a valid identity: 401 (pages redirect to the
sign-in form); a read token writing: 403. Session cookies are HttpOnly, SameSite=Lax, Secure
when the request came over HTTPS; every form and every cookie-authenticated API write carries a
CSRF token (Flask-WTF).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from flask import Flask, Request, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from okr_jira.runtime.tokens import Identity, fingerprint, still_valid, verify
from okr_jira.runtime.wiring import Wiring
from okr_jira.settings import split_list

# Paths that never use a session: the webhook receiver's hot path and the probes.
NO_SESSION = ("/webhooks/", "/healthz", "/readyz", "/metrics")
CSRF_HEADER = "X-CSRFToken"


@dataclass(frozen=True)
class AuthConfig:
    wiring: Wiring
    env_token: str | None
    proxy_header: str | None
    proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    proxy_admins: frozenset[str]
    okr_file: str | None

    @classmethod
    def from_wiring(cls, wiring: Wiring) -> AuthConfig:
        s = wiring.settings
        return cls(
            wiring=wiring,
            env_token=s.admin_token.get_secret_value() if s.admin_token else None,
            proxy_header=s.proxy_user_header or None,
            proxies=tuple(
                ipaddress.ip_network(p, strict=False) for p in split_list(s.trusted_proxies)
            ),
            proxy_admins=frozenset(split_list(s.proxy_admins)),
            okr_file=s.okr_file,
        )

    def trusted(self, address: str | None) -> bool:
        if not address or not self.proxies:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.proxies)


class Unauthenticated(Exception):
    """No valid identity (401; pages send the browser to the sign-in form)."""


class Forbidden(Exception):
    """A valid identity without the role (403)."""


def config() -> AuthConfig:
    found: AuthConfig = g.get("_okr_auth_config") or _load_config()
    return found


def _load_config() -> AuthConfig:
    from flask import current_app

    cfg: AuthConfig = current_app.extensions["okr_jira_auth"]
    g._okr_auth_config = cfg
    return cfg


def identify() -> Identity | None:
    """The caller's identity (computed once per request)."""
    if "_okr_identity" not in g:
        g._okr_identity = _identify(config())
    found: Identity | None = g._okr_identity
    return found


def _identify(cfg: AuthConfig) -> Identity | None:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return verify(cfg.wiring.engine, value.strip(), env_token=cfg.env_token)
    if cfg.proxy_header and cfg.trusted(request.remote_addr):
        user = request.headers.get(cfg.proxy_header, "").strip()
        if user and len(user) <= 200 and user.isprintable():
            role = "admin" if user in cfg.proxy_admins else "read"
            return Identity(user, role, "proxy")
    who, print_ = session.get("who"), session.get("print")
    if isinstance(who, str) and isinstance(print_, str):
        valid = still_valid(cfg.wiring.engine, who, print_, env_token=cfg.env_token)
        if valid is None:
            session.clear()
            return None
        return Identity(who, valid, "session")
    return None


def require(role: str = "read") -> Identity:
    who = identify()
    if who is None:
        raise Unauthenticated("a valid token is required (Authorization: Bearer ...)")
    if role == "admin" and not who.admin:
        raise Forbidden(f"'{who.name}' has the read role; this needs an admin token")
    return who


def actor(who: Identity) -> str:
    """The audit log's actor: the token's or user's name. The shared OKR_JIRA_ADMIN_TOKEN may
    say who holds it (X-Okr-Actor), kept beside the token's name."""
    if who.via == "admin-token":
        named = request.headers.get("X-Okr-Actor", "").strip()[:100]
        if named and named.isprintable():
            return f"{named} (admin-token)"
    return who.name[:200]


def sign_in(token: str) -> Identity | None:
    """Check a token typed into the sign-in form; on success the session remembers it."""
    cfg = config()
    who = verify(cfg.wiring.engine, token.strip(), env_token=cfg.env_token)
    if who is None:
        return None
    session.clear()
    session.permanent = True
    session["who"], session["print"] = who.name, fingerprint(token.strip())
    return Identity(who.name, who.role, "session")


def check_csrf(token: str | None) -> None:
    """Flask-WTF's check of the form's (or X-CSRFToken header's) token against the session."""
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(str(exc)) from None


def csrf_needed() -> bool:
    """Writes by a browser need a CSRF token: signed in by cookie, or by the SSO proxy (which
    names the user on every request, a cross-site one too). Bearer-token writes do not."""
    who = identify()
    return request.method not in ("GET", "HEAD", "OPTIONS") and (
        who is None or who.via in ("session", "proxy")
    )


class WebSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, skipped on the receiver's paths, Secure over HTTPS."""

    def open_session(self, app: Flask, request: Request) -> object:  # type: ignore[override]
        if request.path.startswith(NO_SESSION):
            return None
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        if request.is_secure:
            return True
        cfg = config()
        proto = request.headers.get("X-Forwarded-Proto", "")
        return proto.lower() == "https" and cfg.trusted(request.remote_addr)
