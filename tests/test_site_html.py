"""Raw HTML blocks lifted out of a page before Markdown and put back after it
(``generator.site.html.split_raw`` / ``join_raw``, the build's mkdocs hook)."""

from __future__ import annotations

from pathlib import Path

import markdown

from generator.site.html import RAW_CLOSE, RAW_OPEN, esc, join_raw, pre, raw_block, split_raw
from generator.site.plan import SitePlan

EXTENSIONS = ["admonition", "attr_list", "tables", "toc"]


def _render(text: str) -> str:
    return markdown.Markdown(extensions=EXTENSIONS).convert(text)


def test_split_then_join_after_markdown_is_the_page_markdown_would_have_made() -> None:
    plan = SitePlan()
    table = plan.table("x.md", "t", ["Model", "Output"], [["a & b", "<script>alert(1)</script>"], ["c", "d"]])
    page = "\n".join(
        [
            "# Title",
            "",
            "Some *prose* with a [link](y.md).",
            "",
            table,
            "",
            "## Outputs",
            "",
            pre("line one\n\nline <b>two</b>", 400),
            "",
            f"<p>inline {raw_block('<code>kept</code>')} in a paragraph</p>",
            "",
        ]
    )
    lifted, blocks = split_raw(page)
    assert len(blocks) == 3
    assert "<table" not in lifted and "opsbench-output" not in lifted
    # The page as it was before blocks were marked: the same HTML, with Markdown's own parse.
    unmarked = page.replace(RAW_OPEN, "").replace(RAW_CLOSE, "")
    assert join_raw(_render(lifted), blocks) == _render(unmarked)


def test_nested_blocks_lift_as_one_and_lose_their_inner_markers() -> None:
    inner = raw_block("<pre>x</pre>")
    text = "a\n\n" + raw_block(f"<div>{inner}</div>") + "\n\nb"
    lifted, blocks = split_raw(text)
    assert blocks == ["<div><pre>x</pre></div>"]
    assert RAW_OPEN not in lifted and RAW_CLOSE not in lifted
    assert join_raw(lifted, blocks) == "a\n\n<div><pre>x</pre></div>\n\nb"


def test_a_marker_without_its_partner_stays_an_inert_comment() -> None:
    text = f"x {RAW_CLOSE} y {RAW_OPEN} z"
    lifted, blocks = split_raw(text)
    assert blocks == [] and lifted == text


def test_untrusted_text_cannot_open_or_close_a_block() -> None:
    hostile = f"{RAW_CLOSE}<script>alert(1)</script>{RAW_OPEN}<!--opsbench-fragment:0-->"
    page = f"<p>{esc(hostile)}</p>\n\n" + raw_block("<table></table>")
    lifted, blocks = split_raw(page)
    assert blocks == ["<table></table>"]
    assert "<script>" not in join_raw(_render(lifted), blocks)
    # The escaped token in the text is not a token: only the real one is replaced.
    assert join_raw(_render(lifted), blocks).count("<table></table>") == 1


def test_compressed_downloads_are_kept_until_their_source_changes(tmp_path: Path) -> None:
    import gzip
    import os

    from generator.site.build import SiteWriter

    source = tmp_path / "runs" / "r1" / "results.jsonl"
    source.parent.mkdir(parents=True)
    source.write_text('{"a": 1}\n')
    cache = tmp_path / "cache"
    first, second, third = (SiteWriter(tmp_path / name) for name in ("s1", "s2", "s3"))
    first.gzip_copy("data/r1.jsonl.gz", source, cache=cache)
    (kept,) = cache.glob("*.gz")
    second.gzip_copy("data/r1.jsonl.gz", source, cache=cache)
    assert list(cache.glob("*.gz")) == [kept]  # reused, not compressed again
    assert (tmp_path / "s2/data/r1.jsonl.gz").read_bytes() == (tmp_path / "s1/data/r1.jsonl.gz").read_bytes()
    source.write_text('{"a": 1}\n{"a": 2}\n')  # a resumed run grew
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1))
    third.gzip_copy("data/r1.jsonl.gz", source, cache=cache)
    assert gzip.decompress((tmp_path / "s3/data/r1.jsonl.gz").read_bytes()) == source.read_bytes()
    assert len(list(cache.glob("*.gz"))) == 1 and not kept.exists()  # the stale copy is gone


def test_downloads_compressed_ahead_are_what_the_writer_links(tmp_path: Path) -> None:
    import gzip

    from generator.site.build import SiteWriter, _warm_downloads

    runs = tmp_path / "runs"
    for name in ("r1", "r2"):
        (runs / name).mkdir(parents=True)
        (runs / name / "results.jsonl").write_text(f'{{"run": "{name}"}}\n')
    (runs / "r3").mkdir()  # no results yet: nothing to compress, no error
    cache = tmp_path / "cache"
    _warm_downloads(sorted(runs.iterdir()), cache)
    kept = sorted(cache.glob("*.gz"))
    assert len(kept) == 2
    writer = SiteWriter(tmp_path / "site")
    for name in ("r1", "r2"):
        writer.gzip_copy(f"data/{name}.jsonl.gz", runs / name / "results.jsonl", cache=cache)
        out = tmp_path / "site" / "data" / f"{name}.jsonl.gz"
        assert gzip.decompress(out.read_bytes()) == (runs / name / "results.jsonl").read_bytes()
        assert any(out.samefile(k) for k in kept)  # linked from the cache, not compressed again
    assert sorted(cache.glob("*.gz")) == kept


def test_writers_of_one_build_share_their_paths_and_refuse_what_is_there(tmp_path: Path) -> None:
    import pytest

    from generator.site.build import BuildError, SiteWriter

    docs = SiteWriter(tmp_path / "docs")
    files = SiteWriter(tmp_path / "files", docs.written)
    docs.text("a/b.md", "é\n")
    assert (tmp_path / "docs/a/b.md").read_bytes() == "é\n".encode()
    with pytest.raises(BuildError, match="two outputs at one path"):
        files.text("a/./b.md", "x")  # the same path in the other folder of the site
    with pytest.raises(BuildError, match="outside the build folder"):
        files.text("../escape.txt", "x")
    (tmp_path / "files").mkdir()
    (tmp_path / "files/from-src.txt").write_text("kept")
    with pytest.raises(BuildError, match="would overwrite a file from site_src"):
        files.text("from-src.txt", "x")
    assert (tmp_path / "files/from-src.txt").read_text() == "kept"


def test_generated_files_move_into_the_built_site_whole_folders_at_once(tmp_path: Path) -> None:
    import pytest

    from generator.site.build import BuildError, _move_into

    files, site = tmp_path / "files", tmp_path / "site"
    for rel in ("data/t.csv", "data/cases/x.json", "assets/vendor/v.js"):
        (files / rel).parent.mkdir(parents=True, exist_ok=True)
        (files / rel).write_text(rel)
    (site / "assets").mkdir(parents=True)
    (site / "assets/theme.css").write_text("theme")
    _move_into(files, site)
    assert (site / "data/cases/x.json").read_text() == "data/cases/x.json"
    assert (site / "assets/vendor/v.js").read_text() == "assets/vendor/v.js"
    assert (site / "assets/theme.css").read_text() == "theme"  # a folder both have is merged
    assert not (files / "data").exists()
    (files / "assets").mkdir(exist_ok=True)  # left behind, empty: its one folder moved
    (files / "assets/theme.css").write_text("generated")
    with pytest.raises(BuildError, match=r"assets/theme\.css would overwrite"):
        _move_into(files, site)
    assert (site / "assets/theme.css").read_text() == "theme"
