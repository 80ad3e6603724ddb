"""Which Confluence a URL points at, found by asking it, never from the host name.

Cloud serves the REST API under ``/wiki/rest/api`` and takes only an account e-mail with an API
token; Data Center serves it under its base URL (with any context path) and takes a personal
access token or a username and password. So: no user configured means a PAT, hence Data Center
(no request). With a user, one authenticated ``GET {site}/wiki/rest/api/content?limit=1`` decides:
answered -> Cloud; 404 -> Data Center (checked with ``GET {url}/rest/api/content?limit=1``). A Data
Center installed under the context path ``/wiki`` answers like Cloud; set
``OKR_JIRA_CONFLUENCE_FLAVOR=datacenter`` there.
"""

from __future__ import annotations

import requests

from okr_jira.adapters.confluence import ConfluenceError, Flavor
from okr_jira.adapters.http import short_error

_HEADERS = {"Accept": "application/json"}


def _probe(session: requests.Session, url: str, user: str, token: str) -> requests.Response:
    try:
        return session.get(url, params={"limit": 1}, auth=(user, token), headers=_HEADERS)
    except requests.RequestException as error:
        raise ConfluenceError("GET", url, None, type(error).__name__) from None


def _answered(response: requests.Response) -> bool:
    if not response.ok:
        return False
    try:
        return isinstance(response.json(), dict)
    except ValueError:  # an HTML page (a login form, a proxy): not the REST API
        return False


def detect_flavor(url: str, *, user: str | None, token: str, session: requests.Session) -> Flavor:
    """ "cloud" or "datacenter" for the Confluence at ``url`` (see the module docstring)."""
    if not user:
        return "datacenter"
    base = url.strip().rstrip("/")
    site = base.removesuffix("/wiki")
    cloud = _probe(session, f"{site}/wiki/rest/api/content", user, token)
    if _answered(cloud):
        return "cloud"
    if cloud.status_code in (401, 403):
        raise ConfluenceError(
            "GET", "/wiki/rest/api/content", cloud.status_code, "credentials refused"
        )
    if cloud.status_code >= 500:  # down: guessing the flavor now would be wrong later
        raise ConfluenceError(
            "GET", "/wiki/rest/api/content", cloud.status_code, short_error(cloud)
        )
    server = _probe(session, f"{base}/rest/api/content", user, token)
    if _answered(server):
        return "datacenter"
    raise ConfluenceError(
        "GET",
        "/rest/api/content",
        server.status_code,
        f"no Confluence REST API at this URL ({short_error(server)}); check "
        "OKR_JIRA_CONFLUENCE_URL or set OKR_JIRA_CONFLUENCE_FLAVOR",
    )
