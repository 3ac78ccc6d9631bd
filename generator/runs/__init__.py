"""The run store: ``runs/<run-id>/`` folders, the one place the run format lives.

- :mod:`generator.runs.records`: the file format (pydantic records with a schema version).
- :mod:`generator.runs.reader`: the one reader (torn tail, duplicate keys, folder name = run id).
- :mod:`generator.runs.writer`: the one writer (append-only results, whole folders in one step).
- :mod:`generator.runs.frames`: results flattened into the analysis frame's columns.
- :mod:`generator.runs.sidecar`: the columnar (Parquet) copy a finished run is read from.
- :mod:`generator.runs.scan`: one scan of ``runs/`` for manifests, results, summaries and perf.

Execute, ingest, review and mining write through ``writer``; analysis and the site read
through ``scan``; nothing else opens a run folder's files.
"""
