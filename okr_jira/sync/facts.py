"""Site facts a full sync learns and later syncs reuse: flavor, fields, Jira's clock skew.

Kept per site URL and for up to FACTS_MAX_AGE, so a nightly full sync spends its requests on
issues, and incremental syncs and webhook workers need no /field or serverInfo of their own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from okr_jira.adapters.jira import JiraAdapter
from okr_jira.domain.models import OkrSet
from okr_jira.storage import state
from okr_jira.storage.db import session_scope

FACTS_MAX_AGE = dt.timedelta(days=7)  # site facts older than this are read again


def read_facts(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as session:
        facts = state.SITE_FACTS.get(session=session)
    return facts if isinstance(facts, dict) else {}


def site_time_zone(engine: Engine, jira: JiraAdapter, configured: str | None) -> str:
    """The zone days are counted in: OKR_JIRA_TIME_ZONE, else the one stored, else the zone of
    the account okr-jira uses (/myself: the site's default unless someone changed the account's),
    asked once per install and kept; UTC when Jira does not say. Stored for readers of history
    (`tree --at`, charts)."""
    with session_scope(engine) as session:
        stored = state.SITE_TIME_ZONE.get(session=session)
    name = configured or stored or jira.user_time_zone() or "UTC"
    if name != stored:
        with session_scope(engine) as session:
            state.SITE_TIME_ZONE.set(name, session=session)
    return name


def install_stored_facts(
    engine: Engine, jira: JiraAdapter, okrs: OkrSet, now: dt.datetime
) -> dict[str, Any] | None:
    """The site facts the last full syncs learned, installed in the adapter, when younger than
    FACTS_MAX_AGE and naming every field a KR sums; else None, and this sync learns the fields
    again (from its first page on Data Center)."""
    stored = read_facts(engine)
    if stored.get("url") == jira.url:
        # A site's flavor stays with its URL (a move to Cloud changes the URL): only the fields,
        # which admins add and rename, are learned again.
        jira.use_site_facts({"url": stored["url"], "flavor": stored.get("flavor")})
    fetched = stored.get("fetched_at")
    if fetched and stored.get("fields"):
        age = now - dt.datetime.fromisoformat(fetched)
        if dt.timedelta(0) <= age < FACTS_MAX_AGE:
            jira.use_site_facts(stored)
            fmap = jira.fields()
            named = [
                kr.field
                for o in okrs.objectives
                for kr in o.key_results
                if kr.kind == "field_sum" and kr.field
            ]
            if all(fmap.resolve(name) is not None for name in named):
                return stored
            jira.forget_site_facts()
    return None


def refresh_facts(
    engine: Engine,
    jira: JiraAdapter,
    stored: dict[str, Any] | None,
    now: dt.datetime,
    ours: dt.datetime,
) -> dict[str, Any]:
    """Store the site facts after a full sync's read: the skew measured on Jira's answers (their
    `Date` header against `ours`, no request of its own), and what was learned when `stored` was
    None."""
    facts = dict(stored) if stored is not None else {}
    server = jira.server_clock()
    if server is not None:
        facts["clock_offset"] = (server - ours).total_seconds()
    facts.setdefault("clock_offset", 0.0)
    with session_scope(engine) as session:
        if stored is None:
            facts |= jira.site_facts() | {"fetched_at": now.isoformat()}
            state.JIRA_FIELDS.set(jira.raw_fields(), session=session)
        state.SITE_FACTS.set(facts, session=session)
    return facts
