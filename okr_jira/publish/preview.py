"""The pages as standalone HTML files: read the OKR tree without Confluence (`publish --out`)."""

from __future__ import annotations

from pathlib import Path

from okr_jira.render import RenderContext, render_preview


def write_preview(context: RenderContext, out_dir: str | Path) -> list[Path]:
    """Write index.html (the cycle's root page) and one file per objective; returns the paths.

    Files are written whole under a temporary name and renamed, so a reader never sees half a page.
    """
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, html in render_preview(context).items():
        path = directory / name
        partial = path.with_name(f".{name}.tmp")
        partial.write_text(html, encoding="utf-8")
        partial.replace(path)
        written.append(path)
    return written
