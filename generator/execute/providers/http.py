"""HTTP providers: any OpenAI-compatible endpoint (streaming), Ollama's native API, hosted APIs.

Every way a request can go wrong maps to one failure kind, so a flaky runtime
shows up on the site as a routing signal (connection resets, 5xx, stalls), not
as a crashed run.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import PurePosixPath
from typing import Any

import httpx

from generator.execute.providers.base import Generation, Prompt
from generator.registry.schema import ExecutionPolicy, ModelEntry
from generator.runs.records import ModelInRun, Usage
from generator.textcut import clip

_CONTEXT_WORDS = ("context length", "context window", "maximum context", "too many tokens", "n_ctx")


def classify_http_error(status: int, body: str) -> str:
    if status == 429:
        return "rate_limited"
    if status in (400, 413) and any(w in body.lower() for w in _CONTEXT_WORDS):
        return "context_overflow"
    return f"http_{status}"


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class _HttpBase:
    """An HTTP runtime. Errors are kept whole here: ``runner.generate_with_retries`` cuts every
    error to the policy's ``execution.error_text_chars`` once, whichever provider made it."""

    supports_parallel = True
    provider_name = "openai"

    def __init__(self, model: ModelEntry, execution: ExecutionPolicy, client: httpx.Client | None = None):
        self.model = model
        self.execution = execution
        assert model.base_url
        self.base_url = model.base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=None)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.model.api_key_env:
            key = os.environ.get(self.model.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
        return headers

    def load(self) -> float | None:
        return None

    def describe(self) -> ModelInRun:
        return ModelInRun(
            id=self.model.id,
            provider=self.model.provider,
            served_name=self.model.request_name,
            endpoint=self.base_url,
            runtime=self.provider_name,
        )

    def close(self) -> None:
        self._client.close()

    def _timeout(self, prompt: Prompt) -> httpx.Timeout:
        # The read timeout bounds a stall between chunks; the total is enforced below.
        return httpx.Timeout(connect=min(10.0, prompt.timeout_s), read=prompt.timeout_s, write=30.0, pool=30.0)


class OpenAIProvider(_HttpBase):
    """Streaming ``/chat/completions`` with ``stream_options.include_usage``."""

    provider_name = "openai-compatible"

    def describe(self) -> ModelInRun:
        """The endpoint, and for a local server (not a hosted API, whose list is its catalogue)
        the models it says it serves. llama.cpp's servers name the GGUF file they loaded: its
        file name is kept (as text, never opened). An endpoint that does not answer the listing
        leaves both empty: the run itself reports whether the endpoint works. The list is kept up
        to the policy's ``execution.max_served_models`` names, each cut to ``error_text_chars``."""
        info = super().describe()
        if self.model.provider != "openai":
            return info
        try:
            resp = self._client.get(f"{self.base_url}/models", headers=self._headers(), timeout=5.0)
            data = resp.json().get("data") if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            data = None
        entries = data if isinstance(data, list) else []
        ids = [
            clip(str(m["id"]), self.execution.error_text_chars) for m in entries if isinstance(m, dict) and m.get("id")
        ]
        info.served_models = ids[: self.execution.max_served_models]
        gguf = [PurePosixPath(i.replace("\\", "/")).name for i in ids if i.lower().endswith(".gguf")]
        if len(gguf) == 1:
            info.file_name = gguf[0]
        return info

    def request_body(self, prompt: Prompt) -> tuple[str, dict[str, Any]]:
        """The endpoint path and JSON body for one request."""
        body: dict[str, Any] = {
            "model": self.model.request_name,
            "max_tokens": prompt.max_tokens,
            "temperature": prompt.temperature,
            "seed": prompt.seed,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.model.api == "completions":
            from generator.execute.providers.embedded import TURN_TEMPLATES

            template, stop = TURN_TEMPLATES[self.model.turn_template or "gemma"]
            body["prompt"] = template(prompt.messages)
            body["stop"] = stop
            return "/completions", body
        body["messages"] = prompt.messages
        return "/chat/completions", body

    def generate(self, prompt: Prompt) -> Generation:
        path, body = self.request_body(prompt)
        gen = Generation(sent_at=time.monotonic())
        pieces: list[str] = []
        saw_done = False
        finish = None
        try:
            with self._client.stream(
                "POST",
                f"{self.base_url}{path}",
                json=body,
                headers=self._headers(),
                timeout=self._timeout(prompt),
            ) as resp:
                if resp.status_code >= 400:
                    text = resp.read().decode("utf-8", "replace")
                    gen.failure_kind = classify_http_error(resp.status_code, text)
                    gen.error = f"HTTP {resp.status_code}: {text}"
                    gen.retry_after_s = _retry_after(resp)
                    gen.done_at = time.monotonic()
                    return gen
                for line in resp.iter_lines():
                    if time.monotonic() - gen.sent_at > prompt.timeout_s:
                        gen.failure_kind, gen.error = "timeout", f"over {prompt.timeout_s:g} s"
                        break
                    line = line.strip()
                    if not line or line.startswith(":") or not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        # Read to the end rather than hang up: a server that sees the client
                        # leave mid-body (llama_cpp.server) may hold its model lock until it
                        # notices, and the next request waits for it.
                        saw_done = True
                        continue
                    try:
                        chunk = json.loads(data)
                    except json.JSONDecodeError:
                        gen.failure_kind, gen.error = "malformed_response", f"bad SSE JSON: {data}"
                        break
                    if not isinstance(chunk, dict):
                        gen.failure_kind, gen.error = "malformed_response", "SSE chunk is not an object"
                        break
                    if chunk.get("usage"):
                        u = chunk["usage"]
                        gen.usage = Usage(
                            prompt_tokens=u.get("prompt_tokens"),
                            completion_tokens=u.get("completion_tokens"),
                            estimated=False,
                        )
                    if isinstance(chunk.get("timings"), dict):
                        gen.server_timings = chunk["timings"]
                    for choice in chunk.get("choices") or []:
                        if not isinstance(choice, dict):
                            continue
                        delta = choice.get("delta") or {}
                        piece = delta.get("content") or choice.get("text") or ""
                        if piece:
                            gen.chunk_times.append(time.monotonic())
                            pieces.append(piece)
                        finish = choice.get("finish_reason") or finish
        except httpx.TimeoutException as exc:
            gen.failure_kind, gen.error = (
                "timeout",
                f"{type(exc).__name__}: stalled past {prompt.timeout_s:g} s",
            )
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # The server dropped the connection mid-body: a truncated stream if text had started.
            gen.failure_kind = "truncated_stream" if pieces else "connection"
            gen.error = f"{type(exc).__name__}: {exc}"
        except httpx.TransportError as exc:
            gen.failure_kind, gen.error = "connection", f"{type(exc).__name__}: {exc}"
        gen.done_at = time.monotonic()
        gen.text = "".join(pieces)
        if not gen.failed and not saw_done and finish is None:
            gen.failure_kind, gen.error = "truncated_stream", "stream ended without [DONE] or finish_reason"
        if gen.usage.completion_tokens is None:
            gen.usage = Usage(
                prompt_tokens=gen.usage.prompt_tokens,
                completion_tokens=len(gen.chunk_times),
                estimated=True,
            )
        if finish == "length" and not gen.text and not gen.failed:
            gen.failure_kind, gen.error = "empty_output", "hit max_tokens with no text"
        elif not gen.failed and not gen.text.strip():
            gen.failure_kind, gen.error = "empty_output", "the model returned no text"
        gen.server_timings = {**(gen.server_timings or {}), "finish_reason": finish}
        return gen


class OllamaProvider(_HttpBase):
    """Ollama's native ``/api/chat`` (NDJSON stream); its durations are nanoseconds."""

    provider_name = "ollama"

    def generate(self, prompt: Prompt) -> Generation:
        body = {
            "model": self.model.request_name,
            "messages": prompt.messages,
            "stream": True,
            "options": {
                "num_predict": prompt.max_tokens,
                "temperature": prompt.temperature,
                "seed": prompt.seed,
            },
        }
        gen = Generation(sent_at=time.monotonic())
        pieces: list[str] = []
        final: dict[str, Any] | None = None
        try:
            with self._client.stream(
                "POST", f"{self.base_url}/api/chat", json=body, timeout=self._timeout(prompt)
            ) as resp:
                if resp.status_code >= 400:
                    text = resp.read().decode("utf-8", "replace")
                    gen.failure_kind = classify_http_error(resp.status_code, text)
                    gen.error = f"HTTP {resp.status_code}: {text}"
                    gen.retry_after_s = _retry_after(resp)
                    gen.done_at = time.monotonic()
                    return gen
                for line in resp.iter_lines():
                    if not line.strip():
                        continue
                    if time.monotonic() - gen.sent_at > prompt.timeout_s:
                        gen.failure_kind, gen.error = "timeout", f"over {prompt.timeout_s:g} s"
                        break
                    try:
                        chunk = json.loads(line)
                    except json.JSONDecodeError:
                        gen.failure_kind, gen.error = "malformed_response", f"bad NDJSON: {line}"
                        break
                    if chunk.get("error"):
                        gen.failure_kind, gen.error = "runtime_error", str(chunk["error"])
                        break
                    piece = (chunk.get("message") or {}).get("content") or ""
                    if piece:
                        gen.chunk_times.append(time.monotonic())
                        pieces.append(piece)
                    if chunk.get("done"):
                        final = chunk
                        break
        except httpx.TimeoutException as exc:
            gen.failure_kind, gen.error = (
                "timeout",
                f"{type(exc).__name__}: stalled past {prompt.timeout_s:g} s",
            )
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            gen.failure_kind = "truncated_stream" if pieces else "connection"
            gen.error = f"{type(exc).__name__}: {exc}"
        except httpx.TransportError as exc:
            gen.failure_kind, gen.error = "connection", f"{type(exc).__name__}: {exc}"
        gen.done_at = time.monotonic()
        gen.text = "".join(pieces)
        if final is not None:
            keys = (
                "total_duration",
                "load_duration",
                "prompt_eval_count",
                "prompt_eval_duration",
                "eval_count",
                "eval_duration",
            )
            gen.server_timings = {k: final.get(k) for k in keys if k in final}
            gen.usage = Usage(
                prompt_tokens=final.get("prompt_eval_count"),
                completion_tokens=final.get("eval_count"),
                estimated=False,
            )
            if final.get("load_duration"):
                gen.load_s = final["load_duration"] / 1e9
        elif not gen.failed:
            gen.failure_kind, gen.error = "truncated_stream", "stream ended without done=true"
        if gen.usage.completion_tokens is None:
            gen.usage = Usage(completion_tokens=len(gen.chunk_times), estimated=True)
        if not gen.failed and not gen.text.strip():
            gen.failure_kind, gen.error = "empty_output", "the model returned no text"
        return gen


def make_provider(model: ModelEntry, execution: ExecutionPolicy):  # -> Provider
    """The provider for a registry model, under policy.yaml's ``execution`` settings."""
    if model.provider == "embedded":
        from generator.execute.providers.embedded import EmbeddedProvider

        return EmbeddedProvider(model, n_ctx=execution.n_ctx)
    if model.provider == "ollama":
        return OllamaProvider(model, execution)
    return OpenAIProvider(model, execution)  # openai and hosted speak the same protocol
