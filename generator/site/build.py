"""Build the site: gather everything, write it through one writer, run mkdocs, swap atomically.

The previous ``site/`` is replaced only after ``mkdocs build --strict`` succeeded
into a temporary folder beside it, so a failed build never leaves a half site.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ruamel.yaml import YAML

from generator import __version__
from generator.analysis.orchestration import load_orchestration_runs
from generator.analysis.review import ReviewReport, review_report
from generator.errors import OpsBenchError
from generator.mine.store import load_mining_runs
from generator.registry.loader import Registry, load_registry
from generator.review.store import load_review_evidence
from generator.runs.scan import RunStore, list_run_folders, load_reviews, scan_runs
from generator.runs.sidecar import ensure_sidecars
from generator.runs.writer import atomic_write_text
from generator.site import mkdocs_hook
from generator.site.html import split_raw
from generator.site.pages import SiteData, build_plan, reports
from generator.site.plan import SitePlan
from generator.site.shell import ShellError, shell_sources, stamp, write_file

# Beside the site: what a build can reuse from the last one (compressed run downloads, chart
# SVGs, the Vega bundle), each named by what it was made from.
CACHE_DIR = ".opsbench-cache"


class BuildError(OpsBenchError):
    exit_code = 1


@dataclass
class BuildResult:
    pages: int
    charts: int


class SiteWriter:
    """The one writer for generated files: refuses two outputs at one path or a path outside root.

    ``written``: the paths (relative to the root) already written, shared by writers of one
    build that fill different folders of the same site (the docs mkdocs reads, the files put
    into the built site beside its pages), so one path is still written once across them.
    """

    def __init__(self, root: Path, written: set[str] | None = None):
        self.root = root.resolve()
        self.written: set[str] = set() if written is None else written
        self._dirs: set[str] = set()

    def _target(self, rel: str) -> Path:
        # Lexical, not Path.resolve(): a syscall per path component for each of thousands of files.
        # The same answer here: a build folder is made fresh by the build and holds no symbolic
        # links (copytree copies what site_src's links point to).
        root = str(self.root)
        target = os.path.normpath(os.path.join(root, rel))
        if not target.startswith(root + os.sep):
            raise BuildError(f"refusing to write outside the build folder: {rel!r}")
        key = target[len(root) + 1 :]
        if key in self.written:
            raise BuildError(f"two outputs at one path: {rel}")
        self.written.add(key)
        parent = os.path.dirname(target)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        return Path(target)

    def text(self, rel: str, content: str) -> None:
        target = self._target(rel)
        try:
            write_file(target, content.encode("utf-8"), exclusive=True)
        except FileExistsError:
            raise BuildError(f"generated {rel} would overwrite a file from site_src/") from None

    def gzip_copy(self, rel: str, source: Path, cache: Path | None = None) -> None:
        """A file of the run store, gzip-compressed (``mtime=0``: the same bytes every build).

        Compressing a big archive's results is seconds per run, every build; with ``cache`` (a
        folder beside the site) a compressed copy is kept per source file, named by its size and
        modification time as the side-cars are stamped, and reused until the source changes.
        """
        target = self._target(rel)
        if target.exists():
            raise BuildError(f"generated {rel} would overwrite a file from site_src/")
        if cache is None:
            _gzip(source, target)
            return
        kept = _kept_gzip(source, cache)
        try:
            os.link(kept, target)
        except OSError:
            shutil.copyfile(kept, target)

    def copy(self, rel: str, source: Path) -> None:
        target = self._target(rel)
        if target.exists():
            raise BuildError(f"generated {rel} would overwrite a file from site_src/")
        shutil.copyfile(source, target)


def _kept_gzip(source: Path, cache: Path) -> Path:
    """The compressed copy of ``source`` in the build cache, made if missing: named by the
    source's path hash, size and modification time (as side-cars are stamped), stale copies of the
    same source removed."""
    st = source.stat()
    tag = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    kept = cache / f"{tag}-{st.st_size}-{st.st_mtime_ns}.gz"
    if not kept.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        for stale in cache.glob(f"{tag}-*.gz"):
            stale.unlink(missing_ok=True)
        tmp = kept.with_name(f".{kept.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            _gzip(source, tmp)
            os.replace(tmp, kept)
        finally:
            tmp.unlink(missing_ok=True)
    return kept


def _warm_downloads(folders: list[Path], cache: Path) -> None:
    """Compress every run's results into the build cache ahead of the writer (which then links
    them): zlib works outside the GIL, so on a second core this hides the compression of a big
    archive (16 s for 1.9 GB of JSON lines) behind the analysis. Best effort: what fails here
    the writer makes itself."""
    for folder in folders:
        source = folder / "results.jsonl"
        with contextlib.suppress(OSError):
            if source.is_file():
                _kept_gzip(source, cache)


def _gzip(source: Path, target: Path) -> None:
    with (
        source.open("rb") as src,
        target.open("wb") as raw,
        gzip.GzipFile(filename=source.name, fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz,
    ):
        shutil.copyfileobj(src, gz, 1 << 20)


def read_case_outputs(runs_dir: Path, results: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The whole output text of each result a page shows, keyed by (run id, result key).

    The one place pages read outputs: from a run's side-car when it holds the output whole
    (``sidecar_outputs``), else from ``results.jsonl``, reading only its ``key``, ``run_id`` and
    ``output`` fields and keeping only the shown keys, so a big archive's other outputs never
    sit in memory (``scan_runs`` keeps just an excerpt) and its JSON is parsed only for long ones.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from generator.runs.reader import load_run, load_run_table, read_manifest
    from generator.runs.sidecar import sidecar_outputs

    wanted: dict[str, set[str]] = {}
    for run_id, key in results:
        wanted.setdefault(run_id, set()).add(key)
    schema = pa.schema([("key", pa.string()), ("run_id", pa.string()), ("output", pa.string())])
    out: dict[tuple[str, str], str] = {}
    folders = {f.name: f for f in list_run_folders(runs_dir)}
    for run_id, all_keys in sorted(wanted.items()):
        folder = folders.get(run_id)
        if folder is None:
            continue
        found, keys = sidecar_outputs(folder, read_manifest(folder), all_keys)
        out.update({(run_id, k): v for k, v in found.items()})
        if not keys:
            continue
        key_set = pa.array(sorted(keys), type=pa.string())
        try:
            _, table = load_run_table(
                folder, schema, transform=lambda b, _m, ks=key_set: b.filter(pc.is_in(b.column("key"), value_set=ks))
            )
            rows = table.to_pylist()
        except pa.ArrowException:
            _, dict_rows = load_run(folder)
            rows = [r for r in dict_rows if r.get("key") in keys]
        for row in rows:
            if isinstance(row.get("output"), str):
                out[(run_id, row["key"])] = row["output"]
    return out


def _write_files(plan: SitePlan, writer: SiteWriter, runs_dir: Path, cache: Path) -> None:
    """The site's files that are not pages: the tables' downloads, each run's manifest and
    compressed results, the charts' SVGs and the Vega bundle."""
    for rel, text in sorted(plan.data_files.items()):
        writer.text(rel, text)
    folders = {f.name: f for f in list_run_folders(runs_dir)}
    for run_id, rel_dir in sorted(plan.run_downloads.items()):
        folder = folders.get(run_id)
        if folder is None:
            continue
        for name in ("manifest.json", "results.jsonl"):
            if not (folder / name).is_file():
                continue
            if name.endswith(".jsonl"):
                writer.gzip_copy(f"{rel_dir}/{name}.gz", folder / name, cache=cache / "downloads")
            else:
                writer.copy(f"{rel_dir}/{name}", folder / name)
    for chart in plan.charts:
        spec = json.dumps(chart.spec, sort_keys=True, default=str)
        writer.text(f"charts/{chart.name}.svg", _cached_text(cache, "charts", spec, chart.svg))
    writer.text("assets/vendor/vega-bundle.js", _cached_text(cache, "vega", "bundle", _vega_bundle))


def _move_into(src: Path, dest: Path, prefix: str = "") -> None:
    """Move everything under ``src`` to the same place under ``dest`` (the built site): a folder
    ``dest`` does not have moves whole, in one rename (``data/``: thousands of files). A file
    already there (from site_src/) is refused, as the writer refuses it in the docs folder."""
    if not src.is_dir():
        return
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        rel = f"{prefix}{entry.name}"
        target = dest / entry.name
        if entry.is_dir(follow_symlinks=False) and target.is_dir() and not target.is_symlink():
            _move_into(Path(entry.path), target, f"{rel}/")
        elif os.path.lexists(target):
            raise BuildError(f"generated {rel} would overwrite a file from site_src/")
        else:
            os.rename(entry.path, target)


def _vega_bundle() -> str:
    import vl_convert as vlc

    return vlc.javascript_bundle()


def _cached_text(cache: Path, kind: str, key: str, make: Callable[[], str]) -> str:
    """A generated text kept in the build cache under its inputs' hash (the Vega bundle of one
    vl-convert version, a chart's SVG of one spec): made once, then read back."""
    import vl_convert as vlc

    digest = hashlib.sha256(f"{vlc.__version__}\0{key}".encode()).hexdigest()[:32]
    path = cache / kind / f"{digest}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    text = make()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    return text


def _source_date_epoch(manifests: list) -> str:
    """Dates in mkdocs' sitemap come from the data, not the clock, so builds are reproducible."""
    if not manifests:
        return "0"
    latest = max(m.finished_at or m.created_at for m in manifests)
    return str(int(datetime.strptime(latest, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()))


def _data_commit(runs_dir: Path) -> str:
    """The git commit that last touched the run store, or "unknown" (not a repository, no git)."""
    try:
        proc = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", "."],
            cwd=runs_dir,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return proc.stdout.strip() or "unknown"


def _build_stamp(runs_dir: Path, manifests: list) -> dict[str, str]:
    """Tool version, data commit and the data's date for the footer: nothing from the clock, so the
    same data builds the same site."""
    latest = max((m.finished_at or m.created_at for m in manifests), default=None)
    return {
        "version": __version__,
        "data_commit": _data_commit(runs_dir),
        "date": latest[:10] if latest else "no runs",
    }


_GITHUB = re.compile(r"^https://github\.com/(?P<owner>[^/]+)/(?P<repo>[^/]+?)/?$")


def publish_urls(config: dict) -> None:
    """One setting publishes the site: ``repo_url`` in mkdocs.yml. Unless site_url is set too, it is
    derived from a GitHub repository (https://github.com/OWNER/REPO -> https://OWNER.github.io/REPO/),
    which is where ``mkdocs gh-deploy`` puts it."""
    repo = config.get("repo_url")
    if repo and not config.get("site_url"):
        m = _GITHUB.match(str(repo))
        if m:
            config["site_url"] = f"https://{m['owner'].lower()}.github.io/{m['repo']}/"


def _review(reg: Registry, runs_dir: Path) -> ReviewReport | None:
    """Human grades in the run store, set against the checks and judges they graded."""
    _, records = load_reviews(runs_dir)
    if not records:
        return None
    evidence = load_review_evidence(runs_dir, records)
    baselines = {w.id: w.baseline for w in reg.workloads_file.workloads}
    return review_report(records, evidence, baselines, reg.policy.review)


def build_site(
    registry_dir: Path,
    runs_dir: Path,
    site_src: Path,
    out_dir: Path,
    config_file: Path = Path("mkdocs.yml"),
    reports_dir: Path | None = None,
) -> BuildResult:
    reg = load_registry(registry_dir)
    # The columnar side-car of every finished run that lacks a fresh one (a fresh clone, a run
    # from a pull request, side-cars of an older version): the store then reads those. A cache:
    # a store that cannot be written to is read from its JSONL instead.
    with contextlib.suppress(OSError):
        ensure_sidecars(list_run_folders(runs_dir))
    # No output texts in the frame: the pages ask read_case_outputs for the few they show.
    store = scan_runs(runs_dir, output_chars=0)
    manifests = store.manifests
    cache = out_dir.resolve().parent / CACHE_DIR
    warming = ThreadPoolExecutor(max_workers=1, thread_name_prefix="downloads")
    ids = {m.run_id for m in manifests}
    warm = warming.submit(
        _warm_downloads, [f for f in list_run_folders(runs_dir) if f.name in ids], cache / "downloads"
    )
    try:
        plan, data = _plan(reg, runs_dir, store)
    finally:
        warm.result()
        warming.shutdown()
    return _write_site(plan, data, runs_dir, site_src, out_dir, config_file, reports_dir, cache)


def _plan(reg: Registry, runs_dir: Path, store: RunStore) -> tuple[SitePlan, SiteData]:
    manifests = store.manifests
    return build_plan(
        reg,
        store.results,
        manifests,
        store.summaries,
        store.perf,
        review=_review(reg, runs_dir),
        perf_records=store.perf_records,
        mining=load_mining_runs(runs_dir),
        orchestration=load_orchestration_runs(runs_dir),
        read_outputs=lambda shown: read_case_outputs(runs_dir, shown),
    )


def _write_site(
    plan: SitePlan,
    data: SiteData,
    runs_dir: Path,
    site_src: Path,
    out_dir: Path,
    config_file: Path,
    reports_dir: Path | None,
    cache: Path,
) -> BuildResult:
    manifests = data.manifests
    if not config_file.is_file():
        raise BuildError(f"{config_file} not found")
    if not site_src.is_dir():
        raise BuildError(f"{site_src}/ not found")

    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".opsbench-build-", dir=out_dir.parent))
    try:
        docs = work / "docs"
        shutil.copytree(site_src, docs)
        writer = SiteWriter(docs)
        for rel, text in shell_sources(list(plan.html_pages)).items():
            writer.text(rel, text)
        fragments = work / "fragments"
        for rel, text in sorted(plan.pages.items()):
            page_text, blocks = split_raw(text)
            writer.text(rel, page_text)
            if blocks:
                target = fragments / f"{rel}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(blocks, ensure_ascii=False), encoding="utf-8")
        yaml = YAML(typ="safe")
        config = yaml.load(config_file.read_text(encoding="utf-8")) or {}
        static_nav = config.pop("nav", None) or []
        theme = config.get("theme")
        if isinstance(theme, dict) and theme.get("custom_dir"):
            # The config is rewritten into a temporary folder: keep custom_dir relative to mkdocs.yml.
            theme["custom_dir"] = str((config_file.parent / theme["custom_dir"]).resolve())
        publish_urls(config)
        extra = config.setdefault("extra", {})
        extra["build_stamp"] = _build_stamp(runs_dir, manifests)
        # The raw HTML blocks lifted out of the pages, and the hook that puts them back.
        extra["opsbench_fragments"] = str(fragments)
        hooks = [str((config_file.parent / h).resolve()) for h in config.get("hooks") or []]
        config["hooks"] = [*hooks, str(Path(mkdocs_hook.__file__).resolve())]
        config["docs_dir"] = str(docs)
        config["site_dir"] = str(work / "site")
        config["nav"] = [*plan.nav, *static_nav]
        cfg_path = work / "mkdocs.yml"
        with cfg_path.open("w", encoding="utf-8") as fh:
            YAML(typ="safe").dump(config, fh)

        env = {**os.environ, "SOURCE_DATE_EPOCH": _source_date_epoch(manifests)}
        files = work / "files"
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mkdocs") as pool:
            # Not --quiet: it raises mkdocs' log level past WARNING, so --strict would count nothing.
            mkdocs = pool.submit(
                subprocess.run,
                [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(cfg_path)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            # While mkdocs renders the Markdown pages (a process of its own, on another core): the
            # files that go into the site beside them, which mkdocs would only copy (downloads,
            # charts: most of a big site's bytes), and the reports; neither needs a page of it.
            # The same writer's rules hold across both folders (one shared set of written paths).
            _write_files(plan, SiteWriter(files, writer.written), runs_dir, cache)
            report_texts = sorted(reports(data).items()) if reports_dir is not None else []
            proc = mkdocs.result()
        if proc.returncode != 0:
            log = (proc.stderr or proc.stdout).splitlines()
            important = [ln for ln in log if ln.startswith(("WARNING", "ERROR", "Aborted", "  "))]
            raise BuildError(
                "mkdocs build --strict failed; the previous site is untouched:\n" + "\n".join(important or log)[-4000:]
            )
        new_site = work / "site"
        try:
            stamp(new_site, plan.html_pages, config.get("site_url"))
        except (OSError, ShellError) as exc:
            raise BuildError(f"stamping the drill-down pages failed; the previous site is untouched: {exc}") from exc
        _move_into(files, new_site)
        # Swap: old site aside, new site in, old site removed.
        backup = work / "previous-site"
        if out_dir.exists():
            os.replace(out_dir, backup)
        os.replace(new_site, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if reports_dir is not None:
        reports_dir.mkdir(parents=True, exist_ok=True)
        for name, text in report_texts:
            atomic_write_text(reports_dir / name, text)
    return BuildResult(pages=len(plan.pages) + len(plan.html_pages), charts=len(plan.charts))
