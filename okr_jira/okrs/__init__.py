"""The OKR file: load and validate it (okrs/file.py), plan and apply it to storage (plan.py)."""

from okr_jira.okrs.file import load_okr_file, parse_okr_text
from okr_jira.okrs.plan import Change, Plan, apply_plan, make_plan

__all__ = ["Change", "Plan", "apply_plan", "load_okr_file", "make_plan", "parse_okr_text"]
