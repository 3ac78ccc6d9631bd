"""``opsbench build``: regenerate the public site."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli.options import handles_errors, registry_option, runs_option


@click.command()
@registry_option
@runs_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("site"),
    show_default=True,
)
@click.option(
    "--site-src",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("site_src"),
    show_default=True,
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("mkdocs.yml"),
    show_default=True,
)
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports"),
    show_default=True,
    help="Where the per-run Markdown reports (local-model-benchmark-YYYY-MM-DD.md) go.",
)
@handles_errors
def build(
    registry_dir: Path, runs_dir: Path, out_dir: Path, site_src: Path, config_file: Path, reports_dir: Path
) -> None:
    """Regenerate the public site from the registry and the runs (mkdocs build --strict).

    Builds into a temporary folder and swaps it in only on success, so a failed
    build leaves the previous site untouched.

    Example:

        opsbench build --out site/
    """
    from generator.site.build import build_site

    result = build_site(registry_dir, runs_dir, site_src, out_dir, config_file, reports_dir)
    click.echo(f"site built: {result.pages} pages, {result.charts} charts -> {out_dir}/index.html")
