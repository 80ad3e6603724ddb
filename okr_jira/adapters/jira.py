"""A thin adapter over atlassian-python-api's Jira client: searches, fields, one issue.

Cloud (email + API token, enhanced search `/rest/api/3/search/jql` with nextPageToken) and Data
Center (personal access token, `/rest/api/2/search` with startAt). The flavor comes from settings,
else from the URL and credentials when they leave no doubt, else from serverInfo. Jira's clock is
read off the `Date` header of its answers. Every call goes through the session policy in `http.py`
(timeout, retries, Retry-After, bound on requests in flight). Errors name the method, path and
status, never a credential.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from atlassian import Jira

from okr_jira.adapters.http import (
    RequestStats,
    RetryPolicy,
    make_session,
    session_stats,
    short_error,
)
from okr_jira.adapters.jira_fields import FieldMap, field_map
from okr_jira.errors import OkrJiraError

log = logging.getLogger(__name__)
Flavor = Literal["cloud", "datacenter"]

CLOUD_PAGE = 100  # Cloud's cap on enhanced search pages that carry fields
CLOUD_KEYS_PAGE = 5000  # ... and on pages of ids/keys only
DC_PAGE = 1000  # Data Center's default jira.search.views.default.max
FieldsFor = Callable[[FieldMap], Sequence[str]]  # the fields to ask for, given the site's map


class JiraError(OkrJiraError):
    """A Jira call failed; `status` is None when no response came back."""

    def __init__(self, method: str, path: str, status: int | None, message: str) -> None:
        self.method, self.path, self.status, self.message = method, path, status, message
        what = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"Jira {method} {path} failed ({what}): {message}")


@dataclass(frozen=True)
class SearchPage:
    issues: list[dict[str, Any]]
    total: int | None  # Data Center reports it; Cloud does not


class JiraAdapter:
    def __init__(
        self,
        url: str,
        *,
        user: str | None,
        token: str | None,
        flavor: Literal["auto", "cloud", "datacenter"] = "auto",
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._user, self._token = user, token
        self.policy = policy or RetryPolicy()
        self.session = session or make_session(self.policy)
        self._flavor: Flavor | None = None if flavor == "auto" else flavor
        if flavor == "auto" and (urlsplit(self.url).hostname or "").endswith(".atlassian.net"):
            self._flavor = "cloud"  # Atlassian's Cloud domain
        elif flavor == "auto" and token and not user:
            # A token without an account e-mail can only be a Data Center personal access token
            # (Cloud API tokens go with the e-mail): serverInfo would say nothing new.
            self._flavor = "datacenter"
        self._client: Jira | None = None
        self._fields: FieldMap | None = None
        self._raw_fields: list[dict[str, Any]] | None = None
        self._date: tuple[float, dt.datetime] | None = None  # (monotonic time, Date header)
        self.session.hooks["response"].append(self._note_date)

    # --- set-up ---------------------------------------------------------------------------------

    @property
    def stats(self) -> RequestStats:
        return session_stats(self.session)

    @property
    def flavor(self) -> Flavor:
        if self._flavor is None:
            info = self.server_info()
            self._flavor = "cloud" if info.get("deploymentType") == "Cloud" else "datacenter"
        return self._flavor

    @property
    def client(self) -> Jira:
        if self._client is None:
            # The library's own 429 handling would sleep up to 30 minutes on a Retry-After our
            # policy refused to wait for: the policy in http.py is the only one (it also bounds
            # the library's 75 s default timeout).
            options: dict[str, Any] = {"session": self.session, "retry_with_header": False}
            if self.flavor == "cloud":
                self._client = Jira(
                    self.url, username=self._user, password=self._token, cloud=True, **options
                )
            elif self._user:
                self._client = Jira(self.url, username=self._user, password=self._token, **options)
            else:
                self._client = Jira(self.url, token=self._token, **options)
        return self._client

    def raw_request(
        self, method: str, path: str, *, json: dict[str, Any] | None = None
    ) -> requests.Response:
        """A request outside atlassian-python-api (flavor detection, webhook registration): the
        same session, credentials and retry policy. Raises requests' errors."""
        auth = None
        headers = {"Accept": "application/json"}
        if self._user:
            auth = (self._user, self._token or "")
        elif self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return self.session.request(
            method,
            f"{self.url}/{path.lstrip('/')}",
            auth=auth,
            headers=headers,
            json=json,
            timeout=self.policy.timeout,
        )

    def _raw_get(self, path: str) -> dict[str, Any]:
        """A GET before the client exists (flavor detection): same session, same policy."""
        try:
            resp = self.raw_request("GET", path)
        except requests.RequestException as exc:
            raise JiraError("GET", path, None, type(exc).__name__) from None
        if resp.status_code >= 400:
            raise JiraError("GET", path, resp.status_code, short_error(resp))
        try:
            data = resp.json()
        except ValueError:
            raise JiraError("GET", path, resp.status_code, "the answer is not JSON") from None
        if not isinstance(data, dict):
            raise JiraError("GET", path, resp.status_code, "unexpected answer") from None
        return data

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            if method == "GET":
                return self.client.get(path, **kwargs)
            if method == "DELETE":
                return self.client.delete(path, **kwargs)
            if method == "PUT":
                return self.client.put(path, **kwargs)
            return self.client.post(path, **kwargs)
        except requests.HTTPError as exc:
            resp = exc.response
            status = resp.status_code if resp is not None else None
            message = short_error(resp) if resp is not None else str(exc)
            raise JiraError(method, path, status, message) from None
        except requests.RequestException as exc:
            raise JiraError(method, path, None, type(exc).__name__) from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call (GET, POST, PUT, DELETE) through the client and the session policy;
        the decoded answer, or JiraError naming the method, path and status."""
        return self._call(method, path, **kwargs)

    def server_info(self) -> dict[str, Any]:
        return self._raw_get("rest/api/2/serverInfo")

    def _note_date(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        value = response.headers.get("Date")
        if not value:
            return
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if when.tzinfo is not None:
            self._date = (time.monotonic(), when.astimezone(dt.UTC))

    def server_clock(self) -> dt.datetime | None:
        """Jira's clock now, from the `Date` header of its latest answer (to the second, which
        the sync's overlap window absorbs); None before any answer. Costs no request."""
        if self._date is None:
            return None
        received, when = self._date
        return when + dt.timedelta(seconds=time.monotonic() - received)

    def myself(self) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", "rest/api/2/myself") or {}
        return data

    def user_time_zone(self) -> str | None:
        """The IANA time zone of the account okr-jira uses (/myself `timeZone`), None when Jira
        does not say or cannot be asked."""
        try:
            zone = self.myself().get("timeZone")
        except JiraError as exc:
            log.warning("jira.myself.failed", extra={"status": exc.status})
            return None
        return zone if isinstance(zone, str) and zone else None

    def site_facts(self) -> dict[str, Any]:
        """What a later process may reuse without asking again: flavor and fields, for this URL."""
        from okr_jira.adapters.jira_fields import field_map_to_json

        return {"url": self.url, "flavor": self.flavor, "fields": field_map_to_json(self.fields())}

    def use_site_facts(self, facts: dict[str, Any]) -> None:
        """Take stored facts (flavor, fields) unless they were learned from another URL."""
        from okr_jira.adapters.jira_fields import field_map_from_json

        if facts.get("url") not in (None, self.url):
            return
        if self._flavor is None and facts.get("flavor") in ("cloud", "datacenter"):
            self._flavor = facts["flavor"]
        if self._fields is None and facts.get("fields"):
            self._fields = field_map_from_json(facts["fields"])

    def forget_site_facts(self) -> None:
        """Drop the cached fields so the next search (or call) learns them from Jira again."""
        self._fields = None
        self._raw_fields = None

    def fields(self) -> FieldMap:
        if self._fields is None:
            self._fields = field_map(self.raw_fields())
        return self._fields

    def raw_fields(self) -> list[dict[str, Any]]:
        """The site's fields in `/field`'s shape (the webhook worker builds its FieldMap from
        them): learned from a search page, else the `/field` list."""
        if self._raw_fields is None:
            data = self._call("GET", "rest/api/2/field") or []
            self._raw_fields = [f for f in data if isinstance(f, dict)]
        return self._raw_fields

    def _learn_fields(self, data: dict[str, Any]) -> None:
        """Take the field map from a search answer expanded with names and schema."""
        names = data.get("names")
        if not isinstance(names, dict) or not names:
            return  # nothing learned: `fields()` asks /field when next needed
        schemas = data.get("schema")
        if not isinstance(schemas, dict):
            schemas = {}
        self._raw_fields = [
            {
                "id": fid,
                "name": name,
                "custom": fid.startswith("customfield_"),
                "navigable": True,
                "schema": schemas.get(fid) or {},
            }
            for fid, name in names.items()
        ]
        self._fields = field_map(self._raw_fields)

    # --- reading --------------------------------------------------------------------------------

    def search_pages(self, jql: str, fields: Sequence[str] | FieldsFor) -> Iterator[SearchPage]:
        """Every issue matching `jql`, page by page, with only `fields`.

        `fields` may be a function of the site's field map. On Data Center, while that map is
        unknown, the first page asks for every navigable field with `expand=names,schema` and
        the map is learned from it: one request fewer than `/field` on a site whose pages hold
        1,000 issues. Cloud reads `/field` first (a page there holds 100 issues, and its
        nextPageToken is not documented to survive a change of fields between pages).
        """

        def wanted() -> list[str]:
            return list(fields(self.fields()) if callable(fields) else fields)

        if self.flavor == "cloud":
            token: str | None = None
            while True:
                body: dict[str, Any] = {"jql": jql, "fields": wanted(), "maxResults": CLOUD_PAGE}
                if token:
                    body["nextPageToken"] = token
                data = self._call("POST", "rest/api/3/search/jql", json=body) or {}
                yield SearchPage(list(data.get("issues") or []), None)
                token = data.get("nextPageToken")
                if not token or data.get("isLast"):
                    return
        start = 0
        while True:
            body = {"jql": jql, "startAt": start, "maxResults": DC_PAGE}
            learn = start == 0 and callable(fields) and self._fields is None
            if learn:
                body |= {"fields": ["*navigable"], "expand": ["names", "schema"]}
            else:
                body["fields"] = wanted()
            data = self._call("POST", "rest/api/2/search", json=body) or {}
            if learn:
                self._learn_fields(data)
            issues = list(data.get("issues") or [])
            total = data.get("total")
            yield SearchPage(issues, total)
            start += len(issues)
            if not issues or (total is not None and start >= total):
                return

    def search_keys(self, jql: str) -> list[str]:
        """Keys only: Cloud pages 5,000 of them at a time."""
        keys: list[str] = []
        if self.flavor == "cloud":
            token: str | None = None
            while True:
                body: dict[str, Any] = {
                    "jql": jql,
                    "fields": ["key"],
                    "maxResults": CLOUD_KEYS_PAGE,
                }
                if token:
                    body["nextPageToken"] = token
                data = self._call("POST", "rest/api/3/search/jql", json=body) or {}
                keys.extend(str(i.get("key")) for i in data.get("issues") or [] if i.get("key"))
                token = data.get("nextPageToken")
                if not token or data.get("isLast"):
                    return keys
        for page in self.search_pages(jql, ["key"]):
            keys.extend(str(i.get("key")) for i in page.issues if i.get("key"))
        return keys

    def count(self, jql: str) -> int:
        """How many issues match (approximate on Cloud, exact on Data Center)."""
        if self.flavor == "cloud":
            data = self._call("POST", "rest/api/3/search/approximate-count", json={"jql": jql})
            return int((data or {}).get("count") or 0)
        body = {"jql": jql, "fields": ["key"], "maxResults": 0}
        data = self._call("POST", "rest/api/2/search", json=body) or {}
        return int(data.get("total") or 0)

    def check_jql(self, jql: str) -> str | None:
        """Jira's error text for `jql`, or None when Jira accepts it."""
        try:
            self.count(jql)
        except JiraError as exc:
            if exc.status in (400, 403, 404):
                return exc.message
            raise
        return None

    def get_issue(self, key: str, fields: Sequence[str]) -> dict[str, Any] | None:
        """One issue, or None when it does not exist (or cannot be seen)."""
        try:
            data = self._call("GET", f"rest/api/2/issue/{key}", params={"fields": ",".join(fields)})
        except JiraError as exc:
            if exc.status == 404:
                return None
            raise
        return data if isinstance(data, dict) else None

    def can_browse_project(self, key: str) -> bool:
        """Whether the project exists and these credentials may browse it (Jira answers 404 to
        both a missing project and one the user cannot see)."""
        try:
            self._call("GET", f"rest/api/2/project/{key}")
        except JiraError as exc:
            if exc.status in (403, 404):
                return False
            raise
        return True
