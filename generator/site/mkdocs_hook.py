"""The mkdocs hook of ``opsbench build``: put each page's raw HTML blocks back after Markdown.

``opsbench build`` lifts the blocks marked by ``generator.site.html.raw_block`` out of every
generated page (``split_raw``) and writes them beside the docs folder, one JSON list per page
(``extra.opsbench_fragments`` in the generated config names the folder). Markdown then renders
a page of headings, prose and one-line tokens, and this hook swaps the tokens for the blocks in
the page's HTML before the theme and the search index see it: the page is the HTML it would
have been, without Markdown's HTML parser running over every table and output.

mkdocs loads this file by path (``hooks:`` in the generated config), not as a package module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_folder: Path | None = None


def on_config(config: Any) -> Any:
    global _folder
    where = (config.get("extra") or {}).get("opsbench_fragments")
    _folder = Path(where) if where else None
    return config


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    if _folder is None:
        return html
    path = _folder / f"{page.file.src_uri}.json"
    if not path.is_file():
        return html
    from generator.site.html import join_raw

    return join_raw(html, json.loads(path.read_text(encoding="utf-8")))
