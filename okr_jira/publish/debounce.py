"""When to publish: every change that moves progress asks for a publish; the publish job writes
once the first unpublished change has waited one window, so changes within a window publish
once and a change reaches Confluence within about one window, however busy the site is.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from okr_jira.storage import state
from okr_jira.storage.db import session_scope


def request_publish(engine: Engine, *, now: dt.datetime) -> None:
    """Note that progress changed (by a sync, a webhook, an applied OKR file, a review)."""
    with session_scope(engine) as session:
        if not state.PUBLISH_REQUESTED.get(session=session):
            state.PUBLISH_REQUESTED.set(now, session=session)
        state.PUBLISH_LAST_CHANGE.set(now, session=session)


def publish_due(engine: Engine, *, now: dt.datetime, window: dt.timedelta) -> bool:
    """True when the oldest unpublished change has waited `window`."""
    with session_scope(engine) as session:
        first = state.PUBLISH_REQUESTED.get(session=session)
    return first is not None and now - first >= window


def last_change(engine: Engine) -> dt.datetime | None:
    with session_scope(engine) as session:
        return state.PUBLISH_LAST_CHANGE.get(session=session)


def published(
    engine: Engine, *, started_at: dt.datetime, last_change_then: dt.datetime | None
) -> None:
    """Close the request after a publish that started at `started_at`, when the last change was
    `last_change_then`. A change that arrived while it ran may not be on the pages: the request
    stays open as of `started_at`, so that change waits one window at most."""
    with session_scope(engine) as session:
        if state.PUBLISH_LAST_CHANGE.get(session=session) == last_change_then:
            state.PUBLISH_REQUESTED.set(None, session=session)
            state.PUBLISH_LAST_CHANGE.set(None, session=session)
        else:
            state.PUBLISH_REQUESTED.set(started_at, session=session)
