"""A small misbehaving OpenAI-compatible server on loopback, for fault tests.

The requested ``model`` name picks the misbehaviour, so one server serves every
case. It only ever binds 127.0.0.1 and every request finishes or is cut within a
few seconds.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORDS = ["The", " claim", " needs", " review", "."]


def chunk(text: str | None, finish: str | None = None) -> bytes:
    body = {
        "id": "cmpl-fault",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the body ends when we close: lets us truncate at will
    server: FaultServer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _json(self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _stream_start(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

    def _stream_ok(self, usage: bool = True, words: list[str] | None = None) -> None:
        words = WORDS if words is None else words
        self._stream_start()
        for w in words:
            self.wfile.write(chunk(w))
            self.wfile.flush()
            time.sleep(0.01)
        final = json.loads(chunk(None, "stop")[6:])
        # llama.cpp's C++ server puts its own timings on the last chunk.
        final["timings"] = {"prompt_n": 7, "prompt_ms": 3.5, "predicted_n": len(WORDS), "predicted_ms": 40.0}
        self.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
        if usage:
            tail = {
                "id": "cmpl-fault",
                "choices": [],
                "usage": {"prompt_tokens": 7, "completion_tokens": len(WORDS)},
            }
            self.wfile.write(f"data: {json.dumps(tail)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def _ollama(self, body: dict[str, Any]) -> None:
        """Ollama's /api/chat: NDJSON lines, durations in nanoseconds on the final one."""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for w in WORDS:
            line = {"model": body.get("model"), "message": {"role": "assistant", "content": w}, "done": False}
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()
            time.sleep(0.01)
        final = {
            "model": body.get("model"),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "total_duration": 2_500_000_000,
            "load_duration": 2_000_000_000,
            "prompt_eval_count": 9,
            "prompt_eval_duration": 100_000_000,
            "eval_count": len(WORDS),
            "eval_duration": 250_000_000,
        }
        self.wfile.write((json.dumps(final) + "\n").encode())

    def do_GET(self) -> None:
        """``/v1/models``: the models the server says it serves (``server.served`` names them)."""
        if self.path.endswith("/models") and self.server.served is not None:
            self._json(200, {"object": "list", "data": [{"id": name} for name in self.server.served]})
        else:
            self._json(404, {"error": "no model list"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.endswith("/api/chat"):
            self.server.hits["ollama"] += 1
            self._ollama(body)
            return
        mode = str(body.get("model", "ok"))
        self.server.hits[mode] += 1
        n = self.server.hits[mode]
        self.server.auth_headers.append(self.headers.get("Authorization"))
        if mode == "ok":
            self._stream_ok()
        elif mode.startswith("judge-"):  # a judge that always gives the score in its name
            self._stream_ok(words=['{"score": ', mode.removeprefix("judge-"), ', "reason": "fixed"}'])
        elif mode == "slow":  # a well-behaved but slow model: ~0.25 s a request
            time.sleep(0.2)
            self._stream_ok()
        elif mode == "no-usage":
            self._stream_ok(usage=False)
        elif mode == "http500":
            self._json(500, {"error": "internal"})
        elif mode == "http500-long":  # a server that answers with its whole traceback
            self._json(500, {"error": "Traceback (most recent call last):\n" + "  frame\n" * 2000})
        elif mode == "flaky500":  # fails twice, then works: retries recover
            if n <= 2:
                self._json(503, {"error": "warming up"})
            else:
                self._stream_ok()
        elif mode == "rate429":  # limited once, with Retry-After, then works
            if n == 1:
                self._json(429, {"error": "slow down"}, {"Retry-After": "1"})
            else:
                self._stream_ok()
        elif mode == "always429":
            self._json(429, {"error": "slow down"}, {"Retry-After": "0"})
        elif mode == "context":
            self._json(400, {"error": {"message": "This model's maximum context length is 2048 tokens"}})
        elif mode == "stall":
            self._stream_start()
            self.wfile.write(chunk("The"))
            self.wfile.flush()
            time.sleep(self.server.stall_s)
        elif mode == "truncated":
            self._stream_start()
            self.wfile.write(chunk("The") + chunk(" claim"))
            self.wfile.flush()
            # close without finish_reason or [DONE]
        elif mode == "reset":
            self._stream_start()
            self.wfile.write(chunk("The"))
            self.wfile.flush()
            sock = self.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST mid-stream
        elif mode == "refused-body":
            self._stream_start()
            self.wfile.write(b"data: {not json at all\n\n")
        elif mode == "empty":
            self._stream_start()
            self.wfile.write(chunk(None, "stop") + b"data: [DONE]\n\n")
        else:
            self._json(404, {"error": f"unknown mode {mode}"})


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stall_s: float = 3.0):
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.hits: Counter[str] = Counter()
        self.auth_headers: list[str | None] = []
        self.stall_s = stall_s
        self.served: list[str] | None = None  # what GET /models lists; None: 404
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
