"""check-config, syncing: what `okr-jira sync` and the webhook need from Jira.

Every mapping's JQL accepted by Jira (one count request for them all; each KR's own only when
Jira refuses the union, to name the culprits), the story points field filled in each project a
story-points KR reads, and okr-jira's webhook present, pointing at OKR_JIRA_PUBLIC_URL and
filtered to the mapped projects.
"""

from __future__ import annotations

from okr_jira.adapters.jira import JiraAdapter, JiraError
from okr_jira.adapters.webhook_registration import (
    Registrar,
    RegistrationError,
    jql_filter,
    receiver_url,
    redact_url,
    same_target,
)
from okr_jira.domain.matching import compile_matchers
from okr_jira.domain.models import OkrSet
from okr_jira.domain.selectors import mapped_projects
from okr_jira.runtime.checkconfig.result import Check
from okr_jira.settings import Settings
from okr_jira.sync.plan import make_plan


def check_mappings(jira: JiraAdapter, okrs: OkrSet, out: list[Check]) -> None:
    matchers = compile_matchers(okrs)
    if not matchers:
        return
    try:
        plan = make_plan(jira, matchers)  # asks Jira only about JQL our parser refuses
        for kr, error in sorted(plan.errors.items()):
            out.append(Check(f"KR {kr} mapping", "fail", _refused(error)))
        union = plan.union()
        if not union:
            return
        refused = jira.check_jql(union)
        if refused is None:
            detail = f"Jira accepts the JQL of all {len(plan.queries)} mapped key results"
            out.append(Check("mappings", "ok", detail))
            return
        for kr, jql in sorted(plan.queries.items()):
            message = jira.check_jql(jql)
            if message is not None:
                out.append(Check(f"KR {kr} mapping", "fail", _refused(message)))
    except JiraError as exc:
        out.append(Check("mappings", "fail", f"could not ask Jira about the JQL: {exc}"))


def _refused(message: str) -> str:
    return f"Jira refuses its JQL ({message}): fix the key result's source in the OKR file"


def check_story_points(jira: JiraAdapter, okrs: OkrSet, out: list[Check]) -> None:
    """Each project a story-points KR reads has issues with story points: a field missing from
    a project's screens leaves every issue at 0 points."""
    fields = jira.fields().story_points
    if not fields:
        return  # the Jira checks said so already
    projects: set[str] = set()
    for m in compile_matchers(okrs):
        kr = m.kr
        if kr.kind != "issues" or kr.weight_by != "story_points" or kr.source is None:
            continue
        projects.update(p.upper() for p in (*m.scope_projects, *kr.source.projects))
        keys = (*kr.source.epics, *kr.source.issues, *kr.source.include)
        projects.update(k.rsplit("-", 1)[0].upper() for k in keys if "-" in k)
    for project in sorted(projects):
        name = f"story points in {project}"
        try:
            # One page of the project's latest issues (one request) is sample enough.
            pages = jira.search_pages(f"project = {project} ORDER BY created DESC", list(fields))
            issues = next(iter(pages)).issues
        except JiraError as exc:
            out.append(Check(name, "fail", f"Jira refused the question: {exc.message}"))
            continue
        filled = sum(
            1 for i in issues if any((i.get("fields") or {}).get(f) is not None for f in fields)
        )
        if filled or not issues:
            detail = f"{filled} of its latest {len(issues)} issue(s) have story points"
            out.append(Check(name, "ok", detail))
        else:
            detail = (
                f"none of its latest {len(issues)} issues has a value in {', '.join(fields)}: "
                f"add the field to {project}'s screens, or weigh its key results by count"
            )
            out.append(Check(name, "warn", detail))


def check_webhook(
    jira: JiraAdapter, settings: Settings, okrs: OkrSet | None, out: list[Check]
) -> None:
    name = "jira webhook"
    registrar = Registrar(jira)
    try:
        hooks = registrar.webhooks()
    except RegistrationError as exc:
        detail = f"could not list the webhooks ({exc}): check Jira settings > System > WebHooks"
        out.append(Check(name, "warn", detail))
        return
    target = receiver_url(settings.public_url) if settings.public_url else None
    if not hooks:
        at = f" --url {redact_url(target)}" if target else " --url https://OKR-JIRA-HOST"
        detail = (
            f"none registered: run `okr-jira webhooks register{at}` (until then changes wait "
            f"for the next sync, every {settings.sync_interval_minutes} min)"
        )
        out.append(Check(name, "warn", detail))
        return
    wanted = jql_filter(mapped_projects(okrs)) if okrs is not None else None
    for hook in hooks:
        label = f"{hook.kind} webhook {hook.id}"
        if target is None:
            detail = (
                f"points at {redact_url(hook.url)}; set OKR_JIRA_PUBLIC_URL to okr-jira's public "
                "URL to check it is this service"
            )
            out.append(Check(name, "warn", detail))
        elif not same_target(hook.url, target, receiver_only=True):
            detail = (
                f"{label} points at {redact_url(hook.url)}, not {redact_url(target)} "
                "(OKR_JIRA_PUBLIC_URL): run `okr-jira webhooks register` to point it here"
            )
            out.append(Check(name, "fail", detail))
        elif wanted is not None and hook.jql != wanted:
            detail = (
                f"{label} filters {hook.jql or '(all issues)'} but the OKRs map "
                f"{wanted or 'no project'}: run `okr-jira webhooks register` to update it"
            )
            out.append(Check(name, "fail", detail))
        elif not hook.enabled:
            detail = f"{label} is disabled: enable it in Jira settings > System > WebHooks"
            out.append(Check(name, "fail", detail))
        else:
            out.append(Check(name, "ok", f"{label} delivers to {redact_url(hook.url)}"))
