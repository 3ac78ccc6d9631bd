"""Cutting text that has no length limit of its own (model output quoted in a check's detail, an
error a server sent, a model name it lists) to a policy length before it is stored.

One rule for every such place, so a detail from the bench's own checks and one from an ingested
tool, or an error from an HTTP server and one from llama.cpp, read the same. The lengths are
policy numbers (``policy.yaml`` ``scoring.check_detail_chars``, ``execution.error_text_chars``):
callers pass them in.
"""

from __future__ import annotations

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` on one line (each run of whitespace one space), at most ``limit`` characters.

    A cut text ends in an ellipsis, inside the limit, so a reader sees that it goes on.
    """
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS
