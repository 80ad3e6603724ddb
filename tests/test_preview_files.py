"""`publish --out`: one safe, distinct file per objective, written without following links."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from okr_jira.domain.models import ObjectiveNode
from okr_jira.publish import write_preview
from okr_jira.render import RenderContext
from okr_jira.render.pages import preview_filename
from tests.support.builders import THRESHOLDS, make_cycle, make_objective


def context(*keys: str) -> RenderContext:
    roots = tuple(
        ObjectiveNode(objective=make_objective(key, title=f"Objective {key}"), progress=0.5)
        for key in keys
    )
    return RenderContext(
        cycle=make_cycle(), space_key="", roots=roots, today=date(2026, 11, 15),
        thresholds=THRESHOLDS,
    )  # fmt: skip


def test_keys_that_look_alike_never_share_a_file(tmp_path: Path) -> None:
    keys = ("index", "INDEX", "A/B", "A_B", "co-1", "CO-1", "../up", "SUP-1")
    written = write_preview(context(*keys), tmp_path)
    names = [p.name for p in written]
    assert len(names) == len(set(names)) == len(keys) + 1  # and index.html for the cycle
    assert len({n.casefold() for n in names}) == len(names)  # case-insensitive disks too
    assert all(p.parent == tmp_path for p in written)  # nothing escapes the folder
    assert "index.html" in names and "SUP-1.html" in names
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    for key in keys:  # each objective's page is its own, linked from the index
        page = (tmp_path / preview_filename(key)).read_text(encoding="utf-8")
        assert f"Objective {key}".replace("&", "&amp;") in page.replace("&#x27;", "'")
        assert preview_filename(key) in index


def test_a_planted_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "preview"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    os.symlink(victim, out / "SUP-1.html")
    os.symlink(victim, out / ".SUP-1.html.tmp")  # where the old code wrote first
    write_preview(context("SUP-1"), out)
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not (out / "SUP-1.html").is_symlink()
    assert "Objective SUP-1" in (out / "SUP-1.html").read_text(encoding="utf-8")
    assert not [p for p in out.iterdir() if p.name.startswith(".okr-")]  # no temp file left
