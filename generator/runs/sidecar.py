"""The columnar side-car of a run: ``results.parquet`` beside ``results.jsonl``.

``results.jsonl`` stays the record (append-only, durable line by line, what resume and
``check-run`` read). Parsing it is most of the cost of loading a big archive, so a finished
or ingested run also gets its flat table (``generator.runs.frames.FLAT_SCHEMA``, outputs cut
to ``OUTPUT_KEEP_CHARS``) as Parquet with zstd, and the store reads that instead.

The side-car is a cache, never evidence: it states the size, modification time and origin of
the ``results.jsonl`` it was made from, and one that no longer matches (a resumed run grew, a
file was replaced) is ignored and the JSONL read instead. Git ignores it and ``check-run``
skips it, so a contributed run is always judged by its JSONL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from generator.runs.records import RESULTS_FILE, SIDECAR_FILE, Manifest

#: Bump when the side-car's columns or meaning change: older side-cars are then ignored.
SIDECAR_VERSION = 2  # 2: output_chars, the whole output's length
_META_KEY = b"opsbench.sidecar"


def _stamp(folder: Path, origin: str) -> dict[str, Any] | None:
    try:
        st = (folder / RESULTS_FILE).stat()
    except OSError:
        return None
    return {
        "version": SIDECAR_VERSION,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "origin": origin,
    }


def sidecar_path(folder: Path) -> Path:
    return folder / SIDECAR_FILE


def write_sidecar(folder: Path) -> Path | None:
    """Write (or rewrite) the side-car of the run in ``folder``; None when the run has no
    results or its lines cannot be typed column by column (the JSONL is then read each time).

    The stamp is taken before the file is read, so lines appended meanwhile make it stale.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from generator.runs.frames import OUTPUT_KEEP_CHARS, RESULT_FIELDS, flat_batch
    from generator.runs.reader import load_run_table, read_manifest

    manifest = read_manifest(folder)
    stamp = _stamp(folder, manifest.origin)
    if stamp is None:
        return None
    try:
        _, table = load_run_table(
            folder,
            RESULT_FIELDS,
            transform=lambda batch, m: flat_batch(batch, m.origin, OUTPUT_KEEP_CHARS),
        )
    except pa.ArrowException:
        return None  # typed only row by row: no side-car, the JSONL stays the way in
    table = table.drop_columns(["key"])
    meta = {**stamp, "output_chars": OUTPUT_KEEP_CHARS}
    table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    target = sidecar_path(folder)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, compression="zstd", compression_level=9, row_group_size=256 * 1024)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_sidecar(folder: Path, manifest: Manifest, output_chars: int | None) -> Any | None:
    """The flat table of the run from its side-car, outputs cut to ``output_chars``; None when
    there is none, it is stale, or it kept fewer characters of output than asked for."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from generator.runs.frames import FLAT_SCHEMA

    path = sidecar_path(folder)
    if output_chars is None or not path.is_file():
        return None
    try:
        schema = pq.read_schema(path)
        meta = json.loads((schema.metadata or {}).get(_META_KEY, b"{}"))
    except (OSError, ValueError):
        return None
    stamp = _stamp(folder, manifest.origin)
    if stamp is None or any(meta.get(k) != v for k, v in stamp.items()):
        return None
    if meta.get("output_chars", 0) < output_chars:
        return None
    want = [f.name for f in FLAT_SCHEMA if f.name != "key"]
    if [f.name for f in schema] != want:
        return None
    table = pq.read_table(path).replace_schema_metadata(None)
    if output_chars < meta["output_chars"]:
        i = table.schema.get_field_index("output")
        table = table.set_column(i, "output", pc.utf8_slice_codeunits(table.column("output"), 0, output_chars))
    return table


def sidecar_outputs(folder: Path, manifest: Manifest, keys: set[str]) -> tuple[dict[str, str], set[str]]:
    """Outputs of the results ``keys`` of one run that its side-car holds whole, and the keys it
    cannot answer (no fresh side-car, not in it, or an output longer than it keeps): those are
    for ``results.jsonl``. A case page then reads the JSONL only for long outputs."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = sidecar_path(folder)
    if not keys or not path.is_file() or read_sidecar(folder, manifest, 0) is None:
        return {}, set(keys)
    kept = json.loads(pq.read_schema(path).metadata[_META_KEY])["output_chars"]
    table = pq.read_table(path, columns=["model_id", "case_id", "repeat", "concurrency", "output", "output_chars"])
    key = pc.binary_join_element_wise(
        table.column("model_id"),
        table.column("case_id"),
        pc.cast(table.column("repeat"), pa.string()),
        pc.cast(table.column("concurrency"), pa.string()),
        "|",
    )  # ResultRecord.make_key
    mask = pc.is_in(key, value_set=pa.array(sorted(keys), type=pa.string()))
    # Answered here: no output at all (a hard failure), or the whole of it.
    answered = pc.and_(mask, pc.fill_null(pc.less_equal(table.column("output_chars"), kept), True))
    names = key.filter(answered).to_pylist()
    texts = table.column("output").filter(answered).to_pylist()
    found = {k: v for k, v in zip(names, texts, strict=True) if isinstance(v, str)}
    return found, set(keys) - set(names)


def ensure_sidecars(folders: list[Path]) -> list[Path]:
    """Write the side-car of every finished or ingested run among ``folders`` that lacks a
    fresh one (runs made before side-cars, or whose side-car went stale); the paths written."""
    from generator.runs.reader import read_manifest

    written = []
    for folder in folders:
        manifest = read_manifest(folder)
        if manifest.origin == "executed" and manifest.status == "running":
            continue  # still growing: it gets its side-car when it finishes
        if read_sidecar(folder, manifest, 0) is not None:
            continue
        path = write_sidecar(folder)
        if path is not None:
            written.append(path)
    return written
