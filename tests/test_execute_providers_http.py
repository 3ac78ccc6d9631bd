"""generator/execute/providers/http.py beyond the fault modes of test_faults.py: how HTTP errors
are classified, and what an endpoint's own model list leaves in the manifest (its length and
each name cut to the policy's execution numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.execute.providers.http import OpenAIProvider, classify_http_error, make_provider
from generator.registry.loader import load_registry
from tests.faultserver import FaultServer


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (429, "", "rate_limited"),
        (400, '{"error": "This model\'s maximum context length is 2048 tokens"}', "context_overflow"),
        (413, "prompt exceeds n_ctx", "context_overflow"),
        (400, '{"error": "bad temperature"}', "http_400"),
        (500, "maximum context length", "http_500"),  # only a 400 / 413 says the prompt was too long
    ],
)
def test_classify_http_error(status: int, body: str, kind: str) -> None:
    assert classify_http_error(status, body) == kind


def test_served_models_follow_the_policy(registry_copy: Path) -> None:
    policy = registry_copy / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("max_served_models: 20", "max_served_models: 3"), encoding="utf-8")
    reg = load_registry(registry_copy)
    ex = reg.policy.execution
    model = next(m for m in reg.models.values() if m.provider == "openai")
    with FaultServer() as server:
        server.served = ["a.gguf", "b", "c", "d", "e"]
        model = model.model_copy(update={"base_url": server.url})
        provider = make_provider(model, ex)
        assert isinstance(provider, OpenAIProvider)
        info = provider.describe()
        assert info.served_models == ["a.gguf", "b", "c"]  # 3 of 5
        assert info.file_name == "a.gguf"  # the one GGUF the server names

        long_name = "models/" + "x" * 1000 + ".gguf"
        server.served = [long_name]
        info = provider.describe()
        [name] = info.served_models
        assert len(name) == ex.error_text_chars and name.endswith("…") and name.startswith("models/xxx")
        assert info.file_name is None  # a cut name is no longer a file name

        server.served = None  # the listing answers 404: nothing recorded, the run still goes on
        info = provider.describe()
        assert info.served_models == [] and info.file_name is None and info.endpoint == server.url
        provider.close()
