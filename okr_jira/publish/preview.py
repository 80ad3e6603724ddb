"""The pages as standalone HTML files: read the OKR tree without Confluence (`publish --out`)."""

from __future__ import annotations

import os
import tempfile
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
        # A new file of a random name (O_CREAT | O_EXCL: a planted file or symlink is never
        # followed), then renamed over the page (a rename replaces a symlink, it does not follow).
        handle, partial = tempfile.mkstemp(prefix=".okr-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(html)
            os.chmod(partial, 0o644)
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        written.append(path)
    return written
