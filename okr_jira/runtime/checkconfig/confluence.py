"""check-config, publishing: what `okr-jira publish` needs from Confluence.

The flavor is detected exactly as publishing detects it (one probe; asked even when configured,
to compare), then the space, the parent page (created by `--fix`, never silently) and the
account's permission to create pages in the space and edit them under the parent.
"""

from __future__ import annotations

from okr_jira.adapters.confluence import ConfluenceAdapter, ConfluenceError
from okr_jira.errors import ConfigError
from okr_jira.runtime.checkconfig.result import Check
from okr_jira.runtime.wiring import check_policy, detect_confluence_flavor, make_confluence
from okr_jira.settings import Settings

PARENT_BODY = (
    "<p>The OKR tree, published by okr-jira. The pages below are rewritten on each publish.</p>"
)


def check_confluence(settings: Settings, out: list[Check], *, fix: bool = False) -> None:
    if not settings.confluence_url:
        return
    space = settings.confluence_space
    if not space:
        detail = "OKR_JIRA_CONFLUENCE_SPACE is not set (the key of the space pages go to)"
        out.append(Check("confluence settings", "fail", detail))
        return
    policy = check_policy(settings)
    try:
        detected = detect_confluence_flavor(settings, policy=policy)
    except ConfigError as exc:
        out.append(Check("confluence settings", "fail", str(exc)))
        return
    except ConfluenceError as exc:
        out.append(_unreachable(settings, exc))
        return
    configured = settings.confluence_flavor
    if configured not in ("auto", detected):
        detail = (
            f"OKR_JIRA_CONFLUENCE_FLAVOR is {configured} but {settings.confluence_url} answers "
            f"like {detected}: set it to {detected} or auto"
        )
        out.append(Check("confluence flavor", "fail", detail))
        return
    how = "detected" if configured == "auto" else "configured and confirmed"
    out.append(Check("confluence flavor", "ok", f"{detected} ({how})"))
    try:
        confluence = make_confluence(settings, policy=policy, flavor=detected)
        if not confluence.space_exists(space):
            detail = (
                f"{space} does not exist, or the account may not see it: set "
                "OKR_JIRA_CONFLUENCE_SPACE to the key in the space's URL (/spaces/KEY/...)"
            )
            out.append(Check("confluence space", "fail", detail))
            return
        out.append(Check("confluence space", "ok", f"{space} is visible"))
        parent_id = _check_parent(confluence, settings, space, out, fix=fix)
        _check_permissions(confluence, space, parent_id, out)
    except ConfigError as exc:
        out.append(Check("confluence settings", "fail", str(exc)))
    except ConfluenceError as exc:
        out.append(_unreachable(settings, exc))


def _unreachable(settings: Settings, exc: ConfluenceError) -> Check:
    if exc.status in (401, 403):
        detail = (
            f"Confluence refused the credentials (HTTP {exc.status}): check "
            "OKR_JIRA_CONFLUENCE_USER and OKR_JIRA_CONFLUENCE_TOKEN"
        )
        return Check("confluence credentials", "fail", detail)
    if exc.status is None:
        detail = (
            f"no answer from {settings.confluence_url} ({exc.message}): check "
            "OKR_JIRA_CONFLUENCE_URL and that Confluence is up"
        )
        return Check("confluence reachable", "fail", detail)
    return Check("confluence", "fail", str(exc))


def _check_parent(
    confluence: ConfluenceAdapter, settings: Settings, space: str, out: list[Check], *, fix: bool
) -> str | None:
    """The parent page's id (None: the space's top level, or missing)."""
    parent = (settings.confluence_parent or "").strip()
    if not parent:
        detail = f"OKR_JIRA_CONFLUENCE_PARENT is not set: pages go to the top of space {space}"
        out.append(Check("confluence parent page", "ok", detail))
        return None
    try:
        page_id = confluence.resolve_parent(space, parent)
    except ConfluenceError as exc:
        if exc.status != 404:
            raise
    else:
        out.append(Check("confluence parent page", "ok", f"{parent!r} is page {page_id}"))
        return page_id
    if parent.isdigit():
        detail = (
            f"no page with id {parent} in space {space}: set OKR_JIRA_CONFLUENCE_PARENT to an "
            "existing page's id or title"
        )
        out.append(Check("confluence parent page", "fail", detail))
        return None
    if fix:
        page = confluence.create_page(space, parent, PARENT_BODY, None)
        detail = f"created page {parent!r} ({page.id}) at the top of space {space} (--fix)"
        out.append(Check("confluence parent page", "ok", detail))
        return page.id
    detail = (
        f"no page {parent!r} in space {space}: run `okr-jira check-config --fix` to create it, "
        "create it in Confluence, or set OKR_JIRA_CONFLUENCE_PARENT to an existing page's "
        "title or id"
    )
    out.append(Check("confluence parent page", "fail", detail))
    return None


def _check_permissions(
    confluence: ConfluenceAdapter, space: str, parent_id: str | None, out: list[Check]
) -> None:
    """Create pages in the space; edit them (the parent's permissions stand for its children's:
    Confluence's page restrictions are inherited)."""
    name = "confluence permissions"
    can = confluence.operations("space", space)
    if can is not None and parent_id is not None:
        on_parent = confluence.operations("content", parent_id)
        can = None if on_parent is None else (can & {"create"}) | (on_parent - {"create"})
    if can is None:
        detail = "Confluence does not say (expand=operations): publish once to be sure"
        out.append(Check(name, "warn", detail))
        return
    missing = [op for op in ("create", "update") if op not in can]
    where = f"space {space}" + (f" under page {parent_id}" if parent_id else "")
    if not missing:
        out.append(Check(name, "ok", f"the account may create and edit pages in {where}"))
        return
    words = {"create": "create", "update": "edit"}
    detail = (
        f"the account may not {' or '.join(words[m] for m in missing)} pages in {where}: give "
        f"it the Add pages permission (Space settings > Permissions) and lift page restrictions"
    )
    out.append(Check(name, "fail", detail))
