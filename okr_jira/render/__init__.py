"""Pure rendering: the OKR tree as Confluence storage XHTML, preview HTML and SVG charts."""

from okr_jira.render.context import (
    Attachment,
    RenderContext,
    RenderedPage,
    archive_title,
    content_hash,
    health_title,
    page_title,
    root_title,
)
from okr_jira.render.pages import (
    render_confluence_pages,
    render_health_page,
    render_objective_page,
    render_preview,
    render_root_page,
)

__all__ = [
    "Attachment",
    "RenderContext",
    "RenderedPage",
    "archive_title",
    "content_hash",
    "health_title",
    "page_title",
    "render_confluence_pages",
    "render_health_page",
    "render_objective_page",
    "render_preview",
    "render_root_page",
    "root_title",
]
