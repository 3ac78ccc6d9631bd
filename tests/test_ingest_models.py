"""`opsbench ingest`: aliases vs external models, --model, idempotent re-ingest, the atomic writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.errors import RunError
from generator.ingest import FORMATS, ingest_file
from generator.runs.reader import load_perf, load_run, load_summaries
from generator.runs.records import SummaryRecord
from generator.runs.scan import list_run_folders

FIX = Path(__file__).parent / "fixtures" / "ingest"
PROMPTFOO = FIX / "promptfoo" / "results.json"
VLLM = next((FIX / "vllm").glob("*.json"))
REPO = Path(__file__).resolve().parent.parent


def run(registry: Path, *args: str, out: str = "out"):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["ingest", *args, "--registry", str(registry), "--out", out], catch_exceptions=False)


def add_aliases(registry: Path, aliases: dict[str, str]) -> None:
    path = registry / "models.yaml"
    lines = "".join(f"  {json.dumps(k)}: {v}\n" for k, v in aliases.items())
    path.write_text(path.read_text(encoding="utf-8").replace("\naliases:\n", "\naliases:\n" + lines))


def test_alias_matches_and_other_names_stay_external(registry_copy: Path) -> None:
    add_aliases(registry_copy, {"ollama:chat:llama3.1:8b": "llama3.1-8b"})
    result = run(registry_copy, "promptfoo", str(PROMPTFOO))
    assert result.exit_code == 0, result.output
    assert "openai:gpt-4o-mini" in result.output and "external (no alias)" in result.output
    assert "alias 'ollama:chat:llama3.1:8b'" in result.output
    [folder] = list_run_folders(Path("out"))
    manifest, rows = load_run(folder)
    assert {r["model_id"] for r in rows} == {"llama3.1-8b", "openai:gpt-4o-mini"}
    assert manifest.source["external_models"] == ["openai:gpt-4o-mini"]
    assert sorted(m.id for m in manifest.models) == ["llama3.1-8b", "openai:gpt-4o-mini"]
    served = {m.id: m.served_name for m in manifest.models}
    assert served["llama3.1-8b"] == "ollama:chat:llama3.1:8b"


def test_no_fuzzy_matching(registry_copy: Path, tmp_path: Path) -> None:
    """'llama3.1-8b:latest' contains a registry id, but only exact aliases count."""
    data = json.loads(VLLM.read_text())
    data["model_id"] = "llama3.1-8b:latest"
    src = tmp_path / "v.json"
    src.write_text(json.dumps(data))
    assert run(registry_copy, "vllm", str(src)).exit_code == 0
    [p] = load_perf(list_run_folders(Path("out"))[0])
    assert (p.model_id, p.external) == ("llama3.1-8b:latest", True)


def test_model_override_for_a_single_model_file(registry_copy: Path) -> None:
    result = run(registry_copy, "vllm", str(VLLM), "--model", "llama3.1-8b")
    assert result.exit_code == 0, result.output
    [folder] = list_run_folders(Path("out"))
    [p] = load_perf(folder)
    assert (p.model_id, p.external, p.source_model) == (
        "llama3.1-8b",
        False,
        "meta-llama/Llama-3.1-8B-Instruct",
    )
    manifest, _ = load_run(folder)
    assert manifest.source["external_models"] == []
    assert manifest.cli_args == [
        "ingest",
        "vllm",
        str(VLLM),
        "--model",
        "llama3.1-8b",
        "--out",
        "out",
        "--registry",
        str(registry_copy),
    ]


def test_model_override_refuses_a_multi_model_file(registry_copy: Path) -> None:
    result = run(registry_copy, "promptfoo", str(PROMPTFOO), "--model", "llama3.1-8b")
    assert result.exit_code == 2
    assert "--model needs a single-model file; this file names 2 models" in result.stderr
    assert not Path("out").exists()


def test_two_names_aliased_to_one_model_clash(registry_copy: Path) -> None:
    add_aliases(registry_copy, {"ollama:chat:llama3.1:8b": "llama3.1-8b", "openai:gpt-4o-mini": "llama3.1-8b"})
    result = run(registry_copy, "promptfoo", str(PROMPTFOO))
    assert result.exit_code == 2
    assert "map to the same key" in result.stderr
    assert not Path("out").exists() or list(Path("out").iterdir()) == []


def test_reingest_is_idempotent(registry_copy: Path) -> None:
    assert run(registry_copy, "vllm", str(VLLM)).exit_code == 0
    [folder] = list_run_folders(Path("out"))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = run(registry_copy, "vllm", str(VLLM))
    assert again.exit_code == 0
    assert f"already ingested: run {folder.name}" in again.output
    assert list_run_folders(Path("out")) == [folder]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in Path("out").iterdir()] == [folder.name]  # no temporary folder left


def test_same_file_under_another_suite_is_another_run(registry_copy: Path) -> None:
    assert run(registry_copy, "vllm", str(VLLM)).exit_code == 0
    assert run(registry_copy, "vllm", str(VLLM), "--suite", "serving-h100").exit_code == 0
    names = sorted(p.name for p in list_run_folders(Path("out")))
    assert [n.split("-", 2)[2].rsplit("-", 1)[0] for n in names] == ["ingest-vllm", "serving-h100"]


def test_a_folder_holding_another_file_is_not_overwritten(registry_copy: Path) -> None:
    assert run(registry_copy, "vllm", str(VLLM)).exit_code == 0
    [folder] = list_run_folders(Path("out"))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["source"]["sha256"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = run(registry_copy, "vllm", str(VLLM))
    assert result.exit_code == 1
    assert "holds another source file" in result.stderr


def test_json_output(registry_copy: Path) -> None:
    result = run(registry_copy, "vllm", str(VLLM), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["written"] is True and data["perf"] == 1 and data["format"] == "vllm"
    assert data["external_models"] == ["meta-llama/Llama-3.1-8B-Instruct"]
    assert data["run_id"].startswith("20250312-141503-ingest-vllm-")


def test_a_failed_write_leaves_no_folder(registry_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import generator.runs.writer as runstore  # ingest writes through the run store's folder writer

    calls = []

    def broken(path: Path, text: str) -> None:
        calls.append(path)
        raise OSError("disk full")

    monkeypatch.setattr(runstore, "atomic_write_text", broken)
    with pytest.raises(OSError, match="disk full"):
        ingest_file("vllm", VLLM, Path("out"), registry_copy)
    assert calls and list(Path("out").iterdir()) == []


def test_write_refuses_an_existing_target(registry_copy: Path) -> None:
    first = ingest_file("vllm", VLLM, Path("out"), registry_copy)
    (first.path / "manifest.json").unlink()  # a folder without a manifest is not a run ...
    with pytest.raises(RunError, match="already exists"):  # ... but is never overwritten
        ingest_file("vllm", VLLM, Path("out"), registry_copy)


def test_readers_skip_a_torn_tail(tmp_path: Path) -> None:
    rec = SummaryRecord(
        run_id="r", key="k1", model_id="m", external=True, source_model="m", suite="s", task="t", metric="acc"
    )
    folder = tmp_path / "r"  # the folder name is the run id
    folder.mkdir()
    (folder / "summaries.jsonl").write_text(
        rec.model_dump_json() + "\n" + rec.model_dump_json() + "\n" + '{"schema_version": 1, "run_id"'
    )
    assert [r.key for r in load_summaries(folder)] == ["k1"]
    assert load_perf(folder) == []


def test_every_format_is_documented() -> None:
    page = (REPO / "site_src" / "ingest.md").read_text(encoding="utf-8")
    for fmt in FORMATS:
        assert f"`{fmt}`" in page, fmt
    for column in ("model", "case_id", "accepted", "check:<name>"):
        assert f"`{column}`" in page
    help_text = CliRunner().invoke(cli, ["ingest", "--help"]).output
    assert "Example:" in help_text and "--model" in help_text
