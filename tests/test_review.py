"""Human review as evidence: a blind stratified sample, grades checked line by line, stored once.

Run folders are generated at test time (``tests/synth.py``) under the test's own folder.
The local model's id is a canary that must never show in the file a reviewer sees.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from generator.analysis.review import review_report
from generator.analysis.stats import cohen_kappa
from generator.cli import cli
from generator.errors import InputError, RunError
from generator.registry.loader import load_registry
from generator.registry.schema import ReviewPolicy
from generator.review.store import EVIDENCE_COLUMNS
from generator.runs.reader import load_run
from generator.runs.records import ReviewRecord
from generator.runs.scan import list_review_folders, list_run_folders, load_aggregates, load_results
from generator.runs.writer import RunFolder
from tests.synth import write_run

CANARY = "canary-local-q7x9"  # the local candidate; never in a review file
BASELINE = "claude-sonnet"  # claim-summarization's baseline in workloads.yaml
WORKLOAD = "claim-summarization"
RUN_A = "20260101-000000-claims_ops-aaaaaa"
RUN_B = "20260102-000000-claims_ops-bbbbbb"
DIMS = ["factual_coverage", "unsupported_claims", "missing_document_accuracy", "escalation_usefulness"]

# Untrusted text: a spreadsheet formula, quotes, commas, newlines, YAML-looking lines.
TRICKY = '=HYPERLINK("http://x")\nSummary, with "quotes"\n- key: value\n  # not a comment\n'


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def registry(registry_copy: Path) -> Path:
    return registry_copy


@pytest.fixture
def runs(registry: Path, tmp_path: Path) -> Path:
    """Two runs of claim-summarization: the canary ran all 5 cases (one twice, over two runs),
    the baseline 4 of them plus a hard failure; a third model ran 2 cases."""
    reg = load_registry(registry)
    cases = sorted(c.id for c in reg.suites["claims_ops"].cases if c.workload == WORKLOAD)
    assert len(cases) == 5
    runs_dir = tmp_path / "runs"
    first: dict[tuple[str, str], str | None] = {}
    for i, case in enumerate(cases):
        first[(CANARY, case)] = TRICKY + f"local answer {i}"
        if i < 4:
            first[(BASELINE, case)] = f"Summary: baseline answer {i}"
    first[(BASELINE, cases[4])] = None  # a hard failure: excluded from the sample
    first[("llama3.1-8b", cases[0])] = "Summary: llama answer 0"
    first[("llama3.1-8b", cases[1])] = "Summary: llama answer 1"
    write_run(reg, runs_dir, RUN_A, "claims_ops", first)
    write_run(
        reg,
        runs_dir,
        RUN_B,
        "claims_ops",
        {(CANARY, cases[0]): "Summary: a second local answer"},
        created_at="2026-01-02T00:00:00Z",
    )
    return runs_dir


def sample(registry: Path, runs: Path, out: str, *extra: str) -> Result:
    return invoke(
        "review",
        "sample",
        "--registry",
        str(registry),
        "--runs-dir",
        str(runs),
        "--workload",
        WORKLOAD,
        "--out",
        out,
        *extra,
    )


def key_of(sheet: str) -> dict:
    return json.loads(Path(sheet + ".key.json").read_text())


def csv_rows(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: str, rows: list[dict[str, str]]) -> list[int]:
    """Write rows (header first) and return each row's first line, counted independently of csv.reader."""
    header = list(rows[0])
    chunks = []
    for r in [dict(zip(header, header, strict=True)), *rows]:
        buf = io.StringIO(newline="")
        csv.writer(buf, quoting=csv.QUOTE_ALL).writerow([r[h] for h in header])
        chunks.append(buf.getvalue())
    Path(path).write_text("".join(chunks), encoding="utf-8", newline="")
    starts, line = [], 1
    for chunk in chunks:
        starts.append(line)
        line += chunk.count("\n")
    return starts[1:]


def filled(rows: list[dict[str, str]], grade: str = "4") -> list[dict[str, str]]:
    return [{**r, **dict.fromkeys(DIMS, grade)} for r in rows]


# --------------------------------------------------------------------------- sample


def test_sample_is_blind(registry: Path, runs: Path) -> None:
    result = sample(registry, runs, "review.csv", "--n", "6")
    assert result.exit_code == 0, result.output
    text = Path("review.csv").read_text(encoding="utf-8")
    key = key_of("review.csv")
    secrets = {CANARY, BASELINE, "llama3.1-8b", RUN_A, RUN_B} | {it["key"] for it in key["items"]}
    for secret in secrets:
        assert secret not in text
    assert all(CANARY not in p.name for p in Path(".").iterdir())  # nor in the file names
    header = next(csv.reader(io.StringIO(text)))
    assert header == ["item", "input", "output", *DIMS, "reviewer", "notes"]
    rows = csv_rows("review.csv")
    assert len(rows) == 6 and {r["item"] for r in rows} == {it["item_id"] for it in key["items"]}
    assert all(re.fullmatch(r"i[0-9a-f]{10}", r["item"]) for r in rows)  # a token, text in any reader
    assert all(r[d] == "" for r in rows for d in [*DIMS, "reviewer", "notes"])
    # The key maps every item back; the model's full output is in the file, a formula defused.
    local = [it for it in key["items"] if it["model_id"] == CANARY]
    row = next(r for r in rows if r["item"] == local[0]["item_id"])
    assert row["output"].startswith("'=HYPERLINK(") and "- key: value\n  # not a comment" in row["output"]
    assert "CLAIM PACKET" in row["input"]
    # Every field quoted: the first byte of every record is a quote.
    assert text.startswith('"item","input"')


def test_sample_is_stratified_per_model_and_case(registry: Path, runs: Path) -> None:
    result = sample(registry, runs, "review.csv", "--n", "6")
    key = key_of("review.csv")
    per_model: dict[str, set[str]] = {}
    for it in key["items"]:
        per_model.setdefault(it["model_id"], set()).add(it["case_id"])
    counts = {m: sum(it["model_id"] == m for it in key["items"]) for m in per_model}
    assert counts == {CANARY: 2, BASELINE: 2, "llama3.1-8b": 2}
    # The two cases every model ran come first, so all three are graded on the same cases.
    assert per_model[CANARY] == per_model[BASELINE] == per_model["llama3.1-8b"]
    assert key["excluded_hard_failures"] == 1 and key["eligible"] == 12
    assert "excluded: 1 hard failure(s), 0 without output, 0 of cases no longer in the registry" in result.output
    assert "cases drawn for every model: 2" in result.output

    # More than the small model has: the rest is shared equally by the others, shared cases first.
    sample(registry, runs, "big.csv", "--n", "10")
    big = key_of("big.csv")["items"]
    counts = {m: sum(it["model_id"] == m for it in big) for m in (CANARY, BASELINE, "llama3.1-8b")}
    assert counts == {CANARY: 4, BASELINE: 4, "llama3.1-8b": 2}
    cases = {m: {it["case_id"] for it in big if it["model_id"] == m} for m in (CANARY, BASELINE)}
    assert cases[CANARY] == cases[BASELINE]  # the 4 cases the baseline has, not the canary's 5th


def test_sample_is_deterministic_for_a_seed(registry: Path, runs: Path) -> None:
    sample(registry, runs, "a.csv", "--n", "5", "--seed", "7")
    sample(registry, runs, "b.csv", "--n", "5", "--seed", "7")
    sample(registry, runs, "c.csv", "--n", "5", "--seed", "8")
    assert Path("a.csv").read_bytes() == Path("b.csv").read_bytes()
    assert key_of("a.csv")["items"] == key_of("b.csv")["items"]
    assert {it["item_id"] for it in key_of("a.csv")["items"]} != {it["item_id"] for it in key_of("c.csv")["items"]}


def test_sample_refuses_to_overwrite(registry: Path, runs: Path) -> None:
    sample(registry, runs, "review.csv", "--n", "4")
    before = snapshot(Path("."))
    again = sample(registry, runs, "review.csv", "--n", "4", "--seed", "9")
    assert again.exit_code == 1
    assert again.output.strip() == "error: review.csv already exists; refusing to overwrite it (nothing was written)"
    Path("other.yaml.key.json").write_text("{}")
    keyed = sample(registry, runs, "other.yaml", "--n", "4")
    assert keyed.exit_code == 1 and "other.yaml.key.json already exists" in keyed.output
    assert not Path("other.yaml").exists()
    assert {k: v for k, v in snapshot(Path(".")).items() if k != "other.yaml.key.json"} == before


def test_yaml_sample_holds_outputs_as_literal_text(registry: Path, runs: Path) -> None:
    result = sample(registry, runs, "review.yaml", "--n", "6")
    assert result.exit_code == 0, result.output
    text = Path("review.yaml").read_text(encoding="utf-8")
    assert CANARY not in text and RUN_A not in text
    assert "output: |" in text
    doc = yaml.safe_load(text)
    key = {it["item_id"]: it for it in key_of("review.yaml")["items"]}
    for item in doc["items"]:
        assert [k for k in item] == ["item", "input", "output", *DIMS, "reviewer", "notes"]
        assert all(item[k] is None for k in [*DIMS, "reviewer", "notes"])
        if key[item["item"]]["model_id"] == CANARY and item["output"].startswith("="):
            assert item["output"].startswith(TRICKY)  # read back exactly: no formula guard in YAML


# --------------------------------------------------------------------------- add


def test_add_reports_every_bad_grade_and_writes_nothing(registry: Path, runs: Path) -> None:
    sample(registry, runs, "review.csv", "--n", "6")
    rows = filled(csv_rows("review.csv"))
    ids = [r["item"] for r in rows]
    rows[0]["factual_coverage"] = "five"
    rows[1]["unsupported_claims"] = "7"
    rows[2]["item"] = "deadbeef00"
    rows[3]["item"] = ids[0]  # the first item again
    rows[4]["reviewer"] = ""  # and no --reviewer below for it
    rows[5]["escalation_usefulness"] = "3.5"
    for r in rows[:4] + rows[5:]:
        r["reviewer"] = "dana"
    lines = write_csv("review.csv", rows)
    before = snapshot(runs)
    result = invoke("review", "add", "review.csv", "--runs-dir", str(runs))
    assert result.exit_code == 2
    assert result.output.splitlines() == [  # rows in file order, so lines ascending
        f"review.csv:{lines[0]}: item '{ids[0]}': factual_coverage: 'five' is not an integer",
        f"review.csv:{lines[1]}: item '{ids[1]}': unsupported_claims: 7 is outside the scale 1..5",
        f"review.csv:{lines[2]}: unknown item id 'deadbeef00' (not in the key file)",
        f"review.csv:{lines[3]}: duplicate item '{ids[0]}' (first at line {lines[0]})",
        f"review.csv:{lines[4]}: item '{ids[4]}': missing reviewer id (fill it in or pass --reviewer)",
        f"review.csv:{lines[5]}: item '{ids[5]}': escalation_usefulness: '3.5' is not an integer",
        "6 problem(s) found; nothing was written.",
    ]
    assert snapshot(runs) == before


def test_add_yaml_bad_grade_points_at_its_line(registry: Path, runs: Path) -> None:
    sample(registry, runs, "review.yaml", "--n", "3")
    text = Path("review.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    item_lines = [i for i, ln in enumerate(lines, 1) if ln.startswith("- item: ")]
    ids = [lines[i - 1].split(": ", 1)[1].strip() for i in item_lines]
    grades = iter(["9", "4", "4", "4", "4", "4", "4", "4", "4", "4", "4", "4"])
    out = []
    for ln in lines:
        if any(ln == f"  {d}:" for d in DIMS):
            ln = f"{ln} {next(grades)}"
        out.append(ln)
    Path("review.yaml").write_text("\n".join(out) + "\n", encoding="utf-8")
    bad = next(i for i, ln in enumerate(out, 1) if ln == "  factual_coverage: 9")
    before = snapshot(runs)
    result = invoke("review", "add", "review.yaml", "--runs-dir", str(runs))
    assert result.exit_code == 2
    reviewer_lines = [i for i, ln in enumerate(out, 1) if ln == "  reviewer:"]
    assert result.output.splitlines() == [
        f"review.yaml:{bad}: item '{ids[0]}': factual_coverage: 9 is outside the scale 1..5",
        f"review.yaml:{reviewer_lines[0]}: item '{ids[0]}': missing reviewer id (fill it in or pass --reviewer)",
        f"review.yaml:{reviewer_lines[1]}: item '{ids[1]}': missing reviewer id (fill it in or pass --reviewer)",
        f"review.yaml:{reviewer_lines[2]}: item '{ids[2]}': missing reviewer id (fill it in or pass --reviewer)",
        "4 problem(s) found; nothing was written.",
    ]
    assert item_lines[0] < bad < item_lines[1]
    assert snapshot(runs) == before


def test_add_stores_one_review_folder_and_refuses_a_second_add(registry: Path, runs: Path) -> None:
    sample(registry, runs, "review.csv", "--n", "6")
    rows = filled(csv_rows("review.csv"))
    rows[0] = {**rows[0], **dict.fromkeys(DIMS, ""), "reviewer": ""}  # left blank: skipped
    rows[1]["reviewer"] = "lee"  # a row's own reviewer wins over --reviewer
    rows[1]["notes"] = '=1+1, "quoted"\nsecond line'
    write_csv("review.csv", rows)
    result = invoke("review", "add", "review.csv", "--runs-dir", str(runs), "--reviewer", "dana")
    assert result.exit_code == 0, result.output
    folders = list_review_folders(runs)
    assert len(folders) == 1 and folders[0].name.split("-", 2)[2].startswith("review-claim-summarization-")
    key = {it["item_id"]: it for it in key_of("review.csv")["items"]}
    graded_runs = sorted({key[r["item"]]["run_id"] for r in rows[1:]})
    assert result.output.splitlines() == [
        f"stored 5 graded item(s) as review {folders[0].name} -> {folders[0]}",
        "1 item(s) left blank were skipped",
        f"reviewers: dana, lee; runs graded: {', '.join(graded_runs)}",
    ]
    assert sorted(p.name for p in folders[0].iterdir()) == ["manifest.json", "reviews.jsonl"]
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["origin"] == "human-review" and manifest["schema_version"] == 1
    assert manifest["workload"] == WORKLOAD and manifest["reviewers"] == ["dana", "lee"]
    assert [d["id"] for d in manifest["rubric"]] == DIMS and manifest["graded"] == 5 and manifest["ungraded"] == 1
    assert manifest["source_run_ids"] == graded_runs and len(manifest["content_sha256"]) == 64
    grades = [json.loads(ln) for ln in (folders[0] / "reviews.jsonl").read_text().splitlines()]
    assert len(grades) == 5
    for g in grades:
        it = key[g["item_id"]]
        assert (g["run_id"], g["key"], g["model_id"], g["case_id"]) == (
            it["run_id"],
            it["key"],
            it["model_id"],
            it["case_id"],
        )
        assert g["workload"] == WORKLOAD and g["scores"] == dict.fromkeys(DIMS, 4)
    assert next(g for g in grades if g["reviewer"] == "lee")["notes"] == '=1+1, "quoted"\nsecond line'

    before = snapshot(runs)
    again = invoke("review", "add", "review.csv", "--runs-dir", str(runs), "--reviewer", "dana")
    assert again.exit_code == 1
    assert again.output.strip() == (
        f"error: already added: review folder {folders[0].name} holds these grades "
        "(same content sha256); nothing was written"
    )
    # The same grade of the same output by the same reviewer, in a different file, is refused too.
    rows[2]["notes"] = "changed my mind"
    lines = write_csv("review.csv", rows)
    third = invoke("review", "add", "review.csv", "--runs-dir", str(runs), "--reviewer", "dana")
    assert third.exit_code == 2
    assert (
        f"review.csv:{lines[2]}: item '{rows[2]['item']}': reviewer 'dana' already graded this output" in third.output
    )
    assert snapshot(runs) == before


def test_add_needs_the_key_file(registry: Path, runs: Path) -> None:
    sample(registry, runs, "review.csv", "--n", "2")
    Path("review.csv.key.json").rename("elsewhere.json")
    result = invoke("review", "add", "review.csv", "--runs-dir", str(runs))
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        "review.csv: no key file review.csv.key.json beside it (written by `review sample`)"
    )


# --------------------------------------------------------------------------- the run store


def test_a_review_folder_does_not_disturb_results_readers(registry: Path, runs: Path) -> None:
    df_before, manifests_before = load_results(runs)
    board_before = invoke("leaderboard", "--registry", str(registry), "--runs", str(runs), "--json").output
    sample(registry, runs, "review.csv", "--n", "4")
    write_csv("review.csv", filled(csv_rows("review.csv")))
    assert invoke("review", "add", "review.csv", "--runs", str(runs), "--reviewer", "dana").exit_code == 0
    review_dir = list_review_folders(runs)[0]

    assert [p.name for p in list_run_folders(runs)] == [RUN_A, RUN_B]
    df_after, manifests_after = load_results(runs)
    pd.testing.assert_frame_equal(df_before, df_after)
    assert [m.run_id for m in manifests_after] == [m.run_id for m in manifests_before]
    summaries, perf = load_aggregates(runs, manifests_after)
    assert summaries.empty and perf.empty
    board = invoke("leaderboard", "--registry", str(registry), "--runs", str(runs), "--json")
    assert board.exit_code == 0 and board.output == board_before
    with pytest.raises(InputError, match="a human-review folder holds grades, not results"):
        load_run(review_dir)
    with pytest.raises(RunError, match="is a human-review folder"):
        RunFolder.open_existing(runs, review_dir.name)


# --------------------------------------------------------------------------- analysis


POLICY = ReviewPolicy(
    acceptable_score=4,
    judge_acceptable_score=1,
    sample_seed=1,
    bootstrap_resamples=500,
    bootstrap_seed=3,
    interval_level=0.95,
)


def rec(model: str, case: str, a: int, b: int, reviewer: str = "r1", workload: str = "w") -> ReviewRecord:
    return ReviewRecord(
        item_id=f"{model}-{case}-{reviewer}",
        run_id="run",
        key=f"{model}|{case}|1|1",
        model_id=model,
        case_id=case,
        workload=workload,
        reviewer=reviewer,
        scores={"a": a, "b": b},
    )


def evidence(rows: list[tuple[str, str, bool, dict[str, int | None]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [("run", f"{m}|{c}|1|1", m, c, "ok", acc, judges) for m, c, acc, judges in rows], columns=EVIDENCE_COLUMNS
    )


def test_kappa_of_a_hand_worked_table() -> None:
    # 2 × 2 table: both yes 20, A yes B no 5, A no B yes 10, both no 15 (n = 50).
    a = [True] * 20 + [True] * 5 + [False] * 10 + [False] * 15
    b = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    k = cohen_kappa(a, b)
    # p_o = 35/50 = 0.7; p_e = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5) / (1 − 0.5) = 0.4
    assert k.n == 50 and k.observed == pytest.approx(0.7) and k.kappa == pytest.approx(0.4) and k.note is None
    assert cohen_kappa([True], [True]).note == "not enough data (fewer than 2 items)"
    constant = cohen_kappa([True, True, True], [True, False, True])
    assert constant.kappa is None and constant.note == "not enough data (a rater gave one verdict only)"


def test_review_report_hand_worked() -> None:
    records = [
        rec("loc", "c1", 5, 4),
        rec("loc", "c1", 3, 4, reviewer="r2"),  # two reviewers: the result's a is (5 + 3) / 2 = 4
        rec("loc", "c2", 3, 5),
        rec("loc", "c3", 2, 2),  # the baseline was not graded on c3: not in the gap
        rec("base", "c1", 4, 4),
        rec("base", "c2", 5, 5),
    ]
    ev = evidence(
        [
            ("loc", "c1", True, {"j1": 2, "j2": 1}),
            ("loc", "c2", False, {"j1": 0, "j2": 1}),
            ("loc", "c3", False, {"j1": 0, "j2": 0}),
            ("base", "c1", True, {"j1": 1, "j2": 2}),
            ("base", "c2", False, {"j1": 2, "j2": 0}),
        ]
    )
    rep = review_report(records, ev, {"w": "base"}, POLICY)
    assert rep.grades == 6 and rep.results == 5 and rep.unmatched == 0
    scores = {(s.model_id, s.dimension): s for s in rep.scores}
    assert scores[("loc", "a")].mean == pytest.approx(3.0) and scores[("loc", "a")].n == 3  # (4 + 3 + 2) / 3
    assert scores[("base", "a")].mean == pytest.approx(4.5) and scores[("base", "b")].mean == pytest.approx(4.5)
    assert scores[("loc", "a")].low <= 3.0 <= scores[("loc", "a")].high
    gaps = {g.dimension: g for g in rep.gaps}
    # a: c1 4 − 4 = 0, c2 3 − 5 = −2 → −1; b: c1 4 − 4 = 0, c2 5 − 5 = 0 → 0
    assert (gaps["a"].model_id, gaps["a"].baseline, gaps["a"].n_cases) == ("loc", "base", 2)
    assert gaps["a"].gap == pytest.approx(-1.0) and gaps["b"].gap == pytest.approx(0.0)
    assert gaps["a"].low <= -1.0 <= gaps["a"].high
    # Human acceptable (every dimension >= 4): loc c1 yes, c2 no, c3 no, base c1 yes, c2 yes.
    agree = {(a.rater_a, a.rater_b): a for a in rep.agreement}
    # checks: yes, no, no, yes, no → p_o 4/5; p_e 0.6·0.4 + 0.4·0.6 = 0.48; κ = 0.32 / 0.52
    checks = agree[("checks", "human")]
    assert checks.n == 5 and checks.observed == pytest.approx(0.8) and checks.kappa == pytest.approx(0.32 / 0.52)
    # j1 >= 1: yes, no, no, yes, yes: the human verdict exactly
    assert agree[("judge:j1", "human")].kappa == pytest.approx(1.0)
    # j2 >= 1: yes, yes, no, yes, no → p_o 3/5; p_e 0.6·0.6 + 0.4·0.4 = 0.52; κ = 0.08 / 0.48
    assert agree[("judge:j2", "human")].kappa == pytest.approx(0.08 / 0.48)
    assert agree[("judge:j1", "judge:j2")].kappa == pytest.approx(0.08 / 0.48)


def test_review_report_says_when_data_is_missing() -> None:
    records = [
        rec("loc", "c1", 5, 5, workload="x"),
        rec("loc", "c2", 4, 4, workload="x"),
        rec("gone", "c9", 1, 1, "r1", "x"),
    ]
    ev = evidence([("loc", "c1", True, {}), ("loc", "c2", True, {})])
    rep = review_report(records, ev, {"x": "base"}, POLICY)
    assert rep.unmatched == 1 and rep.gaps == []
    assert rep.notes[0] == "x: the baseline base has no grades, so no gap to it"
    (checks,) = rep.agreement
    assert checks.kappa is None and checks.note == "not enough data (a rater gave one verdict only)"
    single = {(s.model_id, s.dimension): s for s in rep.scores}[("gone", "a")]
    assert single.n == 1 and single.mean == 1.0 and single.low is None and single.high is None


def test_report_command(registry: Path, runs: Path) -> None:
    sample(registry, runs, "review.csv", "--n", "6")
    rows = filled(csv_rows("review.csv"), grade="5")
    write_csv("review.csv", rows)
    assert invoke("review", "add", "review.csv", "--runs", str(runs), "--reviewer", "dana").exit_code == 0
    text = invoke("review", "report", "--registry", str(registry), "--runs", str(runs))
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[0] == "6 grade(s) of 6 result(s); human acceptable = every dimension >= 4; judge accepts at score >= 1"
    assert lines[2] == "Human scores (mean over graded results, 95% bootstrap interval)"
    assert any(ln.split() == [WORKLOAD, CANARY, "factual_coverage", "2", "5.00", "[5.00,", "5.00]"] for ln in lines)
    assert any(
        ln.split() == [WORKLOAD, CANARY, BASELINE, "factual_coverage", "2", "+0.00", "[+0.00,", "+0.00]"]
        for ln in lines
    )
    assert any(ln.split()[:5] == [WORKLOAD, "checks", "vs", "human", "6"] for ln in lines)
    js = json.loads(invoke("review", "report", "--registry", str(registry), "--runs", str(runs), "--json").output)
    assert js["grades"] == 6 and js["unmatched"] == 0
    (checks,) = [a for a in js["agreement"] if a["rater_a"] == "checks"]
    assert checks["kappa"] is None and checks["note"] == "not enough data (a rater gave one verdict only)"
    empty = invoke(
        "review", "report", "--registry", str(registry), "--runs", str(runs), "--workload", "field-extraction"
    )
    assert empty.output == "no grades yet for field-extraction: see opsbench review sample\n"


# --------------------------------------------------------------------------- registry


def test_rubric_and_review_policy_in_the_shipped_registry(registry: Path) -> None:
    reg = load_registry(registry)
    assert [d.id for d in reg.workloads[WORKLOAD].review_rubric] == DIMS
    assert all((d.scale_min, d.scale_max) == (1, 5) for d in reg.workloads[WORKLOAD].review_rubric)
    assert [d.id for d in reg.workloads["handoff-drafting"].review_rubric] == ["evidence_bound", "no_implied_review"]
    assert [d.id for d in reg.workloads["field-extraction"].review_rubric] == ["field_accuracy", "source_spans"]
    assert reg.policy.review.acceptable_score == 4


def test_bad_rubric_values_are_located(registry: Path) -> None:
    path = registry / "workloads.yaml"
    text = path.read_text()
    text = text.replace("      - id: unsupported_claims\n", "      - id: unsupported_claims\n        colour: red\n", 1)
    text = text.replace(
        "      - id: source_spans\n", "      - id: source_spans\n        scale_min: 5\n        scale_max: 1\n"
    )
    text = text.replace("      - id: evidence_bound\n", "      - id: evidence_bound\n        scale_max: 3\n")
    path.write_text(text)
    lines = text.splitlines()
    colour = lines.index("        colour: red") + 1
    spans = lines.index("      - id: source_spans") + 1
    with pytest.raises(InputError) as info:
        load_registry(registry)
    probs = [str(p) for p in info.value.problems]
    assert any(
        p.endswith(f"workloads.yaml:{colour}: unknown key 'colour' in workloads[0].review_rubric[1]") for p in probs
    ), probs
    assert any(f"workloads.yaml:{spans}:" in p and "scale_min (5) must be below scale_max (1)" in p for p in probs), (
        probs
    )
    # Cross-check once the file is valid: policy's acceptable score 4 is off a 1..3 scale.
    text = text.replace("        colour: red\n", "").replace("        scale_min: 5\n        scale_max: 1\n", "")
    path.write_text(text)
    bound = text.splitlines().index("      - id: evidence_bound") + 1
    with pytest.raises(InputError) as info:
        load_registry(registry)
    assert [str(p).split("registry/", 1)[1] for p in info.value.problems] == [
        f"workloads.yaml:{bound}: policy.yaml review.acceptable_score 4 is outside dimension 'evidence_bound''s "
        "scale 1..3"
    ]


def test_rubric_dimension_ids_are_unique_and_not_file_columns(registry: Path) -> None:
    path = registry / "workloads.yaml"
    text = path.read_text()
    text = text.replace("      - id: no_implied_review\n", "      - id: evidence_bound\n")
    text = text.replace("      - id: source_spans\n", "      - id: notes\n")
    path.write_text(text)
    lines = text.splitlines()
    rubric = [i for i, ln in enumerate(lines, 1) if ln == "    review_rubric:"]
    notes = lines.index("      - id: notes") + 1
    with pytest.raises(InputError) as info:
        load_registry(registry)
    probs = [str(p).split("registry/", 1)[1] for p in info.value.problems]
    assert probs == [
        f"workloads.yaml:{rubric[1]}: workloads[2].review_rubric: rubric dimension ids must be unique: "
        "evidence_bound repeated",
        f"workloads.yaml:{notes}: workloads[3].review_rubric[1]: dimension id 'notes' is a column of the review "
        "file; avoid ['input', 'item', 'notes', 'output', 'reviewer']",
    ]
