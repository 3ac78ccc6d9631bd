"""`opsbench mine`: Claude Code transcripts read as user turns only, aggregates with Wilson
intervals, the audit's Cohen's kappa, bad lines as file:line, and no prompt text ever written.

The transcripts under tests/fixtures/mine/ are in Claude Code's own line format (checked
against public write-ups of ~/.claude/projects/*/*.jsonl: `type`, `message` {role, content},
`uuid`, `parentUuid`, `sessionId`, `timestamp`, `cwd`; tool results are `type: "user"` lines
whose content blocks are `tool_result`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.mine.classify import UNCLASSIFIED, Label, Rules, answer_line, parse_answer, request_messages
from generator.mine.history import read_history
from generator.mine.mix import audit_agreement, prompt_mix
from generator.mine.store import load_mining_runs
from generator.registry.loader import load_registry
from generator.runs.scan import list_mining_folders, list_run_folders
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "mine"
TRANSCRIPTS = FIXTURES / "claude-code"
CANARY = "CANARY-prompt-text-7f3q"

# The user prompts of the two fixture sessions, in file order (uuid of each line).
PROMPT_IDS = [
    "a1f3c2d4-0001-4b6e-8f00-000000000001",  # the 500-on-null bug
    "f6c8b7a9-0006-40b3-9e55-000000000006",  # "yes"
    "18eadacb-0008-42d5-9077-000000000008",  # commit message, as a list of text blocks
    "29fbebdc-0009-43e6-8188-000000000009",  # /compact
    "6d3f2f10-0013-472a-85cc-000000000013",  # architecture question
    "7e404021-0014-483b-96dd-000000000014",  # Wilson interval question (second project)
    "90626243-0016-4a5d-b8ff-000000000016",  # status update
]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_claude_code_user_turns_only() -> None:
    h = read_history(TRANSCRIPTS, "claude-code")
    assert [p.id for p in h.prompts] == PROMPT_IDS
    assert h.files == 2 and h.projects == 2 and h.sessions == 2
    assert h.problems == []
    # Tool results arrive as type "user" lines and are not prompts; nor are meta lines,
    # command output, interruptions or a sub-agent's (sidechain) prompt.
    assert dict(h.skipped) == {
        "assistant turn": 3,
        "command or shell output": 1,
        "interruption notice": 1,
        "meta line": 1,
        "queue-operation line": 1,
        "sub-agent prompt (sidechain)": 1,
        "summary line": 1,
        "tool result": 2,
    }
    by_id = {p.id: p.text for p in h.prompts}
    assert by_id[PROMPT_IDS[3]] == "/compact"
    assert by_id[PROMPT_IDS[2]] == "Write a commit message for these changes."


def test_bad_lines_are_reported_and_the_rest_read() -> None:
    h = read_history(FIXTURES / "damaged", "claude-code")
    assert [p.id for p in h.prompts] == ["a0737354-0017-4b6e-89a0-000000000017", "c2959576-0019-4d80-8bc2-000000000019"]
    where = "tests/fixtures/mine/damaged/a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d.jsonl"
    shown = [str(p).replace(str(REPO) + "/", "") for p in h.problems]
    assert shown[0].startswith(f"{where}:2: not JSON (")
    assert shown[1].startswith(f"{where}:3: not JSON (")
    assert shown[2] == f"{where}:4: an assistant line without a message; line skipped"
    assert len(shown) == 3


def test_a_file_that_is_not_a_transcript_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "history" / "notes.jsonl"
    bad.parent.mkdir()
    bad.write_text('{"prompt": "hello"}\n{"prompt": "again"}\n')
    r = invoke("mine", str(bad.parent), "--registry", str(REPO / "registry"), "--out", str(tmp_path / "runs"))
    assert r.exit_code == 2
    assert r.stderr.splitlines()[0] == ("history/notes.jsonl: not a Claude Code transcript: no line of it is one")
    assert not (tmp_path / "runs").exists()


def test_rules_run_first_and_parse_answer() -> None:
    pol = load_registry(REPO / "registry").policy.mining
    rules = Rules(pol.rules)
    assert rules.match("yes").decided_by == "rule:confirmation"
    assert rules.match("/compact").decided_by == "rule:slash-command"
    assert rules.match("Please write a commit message for this").tier == "edge"
    assert rules.match("Refactor the router") is None
    assert parse_answer("coding moderate local-large", pol) == ("coding", "moderate", "local-large")
    assert parse_answer("I think: Local-Small. debugging", pol) == ("debugging", None, "local-small")
    assert parse_answer("no idea", pol) == (None, None, None)
    # A base model that echoes its instructions (which list every label) is not read as answering.
    req = request_messages("Fix the flaky test", pol)
    echo = req[0]["content"] + "\n" + req[1]["content"] + "coding\nFix the flaky test"
    assert answer_line(echo, req) == "coding"
    assert parse_answer(answer_line(echo, req), pol) == ("coding", None, None)
    assert answer_line(req[0]["content"], req) == ""


def _labels(tiers: list[str], category: str = "coding") -> list[Label]:
    return [Label(category, "simple", t, "test") for t in tiers]


def test_mix_counts_with_wilson_intervals() -> None:
    pol = load_registry(REPO / "registry").policy.mining
    tiers = ["edge"] * 6 + ["local-small"] * 2 + ["local-large"] + [UNCLASSIFIED]
    ids = [f"p{i}" for i in range(10)]
    mix = prompt_mix(ids, _labels(tiers), pol, alpha=0.05, audit_sample_size=4, seed=1)
    assert mix.n == 10
    off = {s.key: s for s in mix.offloadable}
    # 9 of 10 at most local-large; the unclassified prompt stays in the denominator.
    assert (off["local-large"].k, off["local-large"].n) == (9, 10)
    # Wilson 95 % for 9/10, by hand: centre (0.9 + 1.9208/10) / 1.38415 = 0.78898,
    # half 1.96 · √(0.009 + 0.0096040) / 1.38415 = 0.19314.
    assert off["local-large"].low == pytest.approx(0.59585, abs=1e-4)
    assert off["local-large"].high == pytest.approx(0.98212, abs=1e-4)
    assert (off["edge"].k, off["local-small"].k) == (6, 8)
    assert {s.key: s.k for s in mix.by_tier} == {
        "edge": 6,
        "local-small": 2,
        "local-large": 1,
        "frontier": 0,
        UNCLASSIFIED: 1,
    }
    assert len(mix.audit_ids) == 4 and set(mix.audit_ids) <= set(ids)
    assert mix.audit_ids == prompt_mix(ids, _labels(tiers), pol, 0.05, 4, seed=1).audit_ids
    seed97 = next(c for c in mix.claims if c.claimed_share == 0.973)
    assert seed97.ours.k == 9 and seed97.inside is True  # 0.973 lies in [0.596, 0.982]


def test_kappa_from_the_audit() -> None:
    pol = load_registry(REPO / "registry").policy.mining
    classifier = {"a": "edge", "b": "edge", "c": "frontier", "d": UNCLASSIFIED}
    human = {"a": "edge", "b": "local-large", "c": "frontier", "d": "local-small"}
    ag = audit_agreement(classifier, human, pol, alpha=0.05)
    assert ag.n == 4 and ag.exact.k == 2
    edge = next(t for t in ag.by_tier if t.at_most == "edge")
    # at most edge: classifier T,T,F,F; human T,F,F,F. p_o = 3/4, p_e = ½·¼ + ½·¾ = ½, κ = ½.
    assert edge.observed == pytest.approx(0.75) and edge.kappa == pytest.approx(0.5)
    large = next(t for t in ag.by_tier if t.at_most == "local-large")
    # at most local-large: classifier T,T,F,F (unclassified is not offloadable); human T,T,F,T.
    # p_o = 3/4, p_e = ½·¾ + ½·¼ = ½, κ = ½.
    assert large.kappa == pytest.approx(0.5)


def test_audit_file_problems_are_file_line(tmp_path: Path) -> None:
    audit = tmp_path / "audit.csv"
    audit.write_text(f"id,tier,notes\n{PROMPT_IDS[0]},huge,\nnot-an-id,edge,\n{PROMPT_IDS[1]},,later\n")
    r = invoke(
        "mine",
        str(TRANSCRIPTS),
        "--registry",
        str(REPO / "registry"),
        "--audit",
        str(audit),
        "--out",
        str(tmp_path / "runs"),
    )
    assert r.exit_code == 2
    assert r.stderr.splitlines()[:2] == [
        "audit.csv:2: unknown tier 'huge' (one of: edge, local-small, local-large, frontier)",
        "audit.csv:3: id 'not-an-id' is not a prompt of this history",
    ]
    assert not (tmp_path / "runs").exists()


def _planted(tmp_path: Path) -> Path:
    """The fixture transcripts plus one line whose prompt is the canary (matched by a rule, and
    one that needs the classifier), so a leak of prompt text anywhere shows."""
    hist = tmp_path / "history"
    shutil.copytree(TRANSCRIPTS, hist)
    session = next(hist.rglob("8e4a*.jsonl"))
    lines = session.read_text().splitlines()
    line = json.loads(lines[0])
    for i, text in enumerate([f"/{CANARY.lower()} now", f"Port the {CANARY} parser to Rust"]):
        line = {**line, "uuid": f"c0ffee00-0000-4000-8000-00000000000{i}", "message": {"role": "user", "content": text}}
        lines.append(json.dumps(line))
    session.write_text("\n".join(lines) + "\n")
    return hist


def _everything_written(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


def test_rules_only_history_needs_no_model_and_writes_no_prompt(tmp_path: Path) -> None:
    hist = tmp_path / "h.csv"
    hist.write_text(f"id,prompt\nx1,yes\nx2,/clear\nx3,write the commit message {CANARY}\n")
    out = tmp_path / "runs"
    r = invoke(
        "mine",
        str(hist),
        "--format",
        "csv",
        "--id-column",
        "id",
        "--registry",
        str(REPO / "registry"),
        "--out",
        str(out),
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    payload = json.loads(r.stdout)
    assert payload["manifest"]["classifier"] is None
    assert payload["mix"]["decided_by"] == {"rule:commit-message": 1, "rule:confirmation": 1, "rule:slash-command": 1}
    assert [s["k"] for s in payload["mix"]["offloadable"]] == [3, 3, 3]
    assert CANARY not in _everything_written(out) and CANARY.lower() not in _everything_written(out).lower()
    assert CANARY not in r.stdout
    # The mining folder is not a run of requests: readers of results leave it out.
    assert list_run_folders(out) == [] and len(list_mining_folders(out)) == 1
    (run,) = load_mining_runs(out)
    assert run.mix.n == 3 and run.manifest.audit_rows == 0


@pytest.mark.model
def test_real_mining_run_with_the_embedded_model(tmp_path: Path, site_inputs: dict[str, Path]) -> None:
    """The classifier really runs the embedded model; nothing written (runs, site, reports) holds a prompt."""
    hist = _planted(tmp_path)
    runs = site_inputs["runs"]
    audit = tmp_path / "audit.csv"
    audit.write_text(
        "id,tier\n"
        + "".join(
            f"{i},{t}\n"
            for i, t in zip(
                PROMPT_IDS, ["local-large", "edge", "edge", "edge", "frontier", "local-small", "edge"], strict=True
            )
        )
    )
    r = invoke("mine", str(hist), "--registry", str(site_inputs["registry"]), "--out", str(runs), "--audit", str(audit))
    assert r.exit_code == 0, r.stderr
    assert "mined 9 prompts from 2 file(s), 2 project(s), 2 session(s)" in r.stdout
    assert CANARY not in r.stdout
    (run,) = load_mining_runs(runs)
    m, mix = run.manifest, run.mix
    assert m.classifier == "gemma3-270m" and m.classifier_file_sha256 and m.classifier_load_s > 0
    # Three prompts match rules (yes, /compact, commit message) plus the planted slash command.
    assert sum(v for k, v in mix.decided_by.items() if k.startswith("rule:")) == 4
    assert sum(v for k, v in mix.decided_by.items() if not k.startswith("rule:")) == 5
    assert sum(s.k for s in mix.by_tier) == 9
    assert mix.agreement is not None and mix.agreement.n == 7
    b = invoke(
        "build",
        "--registry",
        str(site_inputs["registry"]),
        "--runs",
        str(runs),
        "--out",
        str(tmp_path / "site"),
        "--site-src",
        str(site_inputs["site_src"]),
        "--config",
        str(site_inputs["config"]),
        "--reports",
        str(tmp_path / "reports"),
    )
    assert b.exit_code == 0, b.stderr
    page = (tmp_path / "site" / "prompt-mix.html").read_text()
    assert m.run_id in page and "Cohen" in page
    written = (
        _everything_written(runs) + _everything_written(tmp_path / "site") + _everything_written(tmp_path / "reports")
    )
    assert CANARY not in written and CANARY.lower() not in written.lower()
