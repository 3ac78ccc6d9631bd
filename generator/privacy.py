"""Privacy posture: where a model's prompts and outputs go, and what a run keeps of them.

The locality of an endpoint is read from its address alone (``ipaddress`` for literals,
the name's form for host names), never by a DNS lookup: the answer must not depend on the
network the analysis happens to run on, and the same rule serves the run manifest, the
workload gate and the site. What each runtime kind is known to log, which routes promise
that text stays private, and whether outputs are redacted live in ``policy.yaml``
(``privacy``), never here.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from generator.registry.schema import Gate, ModelEntry, PrivacyPolicy, Workload
from generator.runs.records import EndpointPrivacy, Locality, PrivacyRecord

PRIVATE_LOCALITIES: frozenset[str] = frozenset({"in-process", "loopback", "private"})
REDACTED_DETAIL = "detail withheld: outputs redacted"


@dataclass(frozen=True)
class Where:
    locality: Locality
    reason: str


def locality_of(url: str | None, private_suffixes: list[str]) -> Where:
    """Loopback, private network or internet, from the URL's host; no URL is in-process."""
    if not url:
        return Where("in-process", "no endpoint: the model runs inside this process")
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").rstrip(".").lower()
    if not host:
        return Where("internet", f"no host in {url!r}: counted as the internet")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_loopback or ip.is_unspecified:
            return Where("loopback", f"{host} is this machine")
        if ip.is_private or ip.is_link_local:
            return Where("private", f"{host} is a private-network address")
        return Where("internet", f"{host} is a public address")
    if host == "localhost" or host.endswith(".localhost"):
        return Where("loopback", f"{host} names this machine (RFC 6761)")
    for suffix in private_suffixes:
        if host.endswith(suffix.lower()):
            return Where("private", f"{host} ends in {suffix}, a private-network name")
    if "." not in host:
        return Where("private", f"{host} is a single-label name, never a public DNS name")
    return Where("internet", f"{host} is a public DNS name")


def endpoint_privacy(model: ModelEntry, policy: PrivacyPolicy, endpoint: str | None = None) -> EndpointPrivacy:
    """One model's posture; ``endpoint`` is what the run used (default: the registry's)."""
    url = endpoint if endpoint is not None else (None if model.provider == "embedded" else model.base_url)
    where = locality_of(url, policy.private_name_suffixes)
    logging = policy.prompt_logging.get(model.provider)
    return EndpointPrivacy(
        model_id=model.id,
        provider=model.provider,
        endpoint=url,
        locality=where.locality,
        reason=where.reason,
        logs_prompts=logging.logs_prompts if logging else None,
        logging_note=logging.note if logging else "policy.yaml privacy.prompt_logging does not name this provider",
    )


def stored_description(redacted: bool, max_output_chars: int, judged: bool) -> list[str]:
    """What ``opsbench run`` writes about each request, in words (the run page quotes it)."""
    out = [
        "check outcomes, scores and timings of every request",
        "no prompt text (prompts are the registry's task files, named by case id)",
    ]
    if redacted:
        out.append("a sha256 of each output instead of its text; check details that would quote it are withheld")
    else:
        out.append(f"each output's text, cut at {max_output_chars:,} characters")
    if judged:
        out.append("judge scores (the judges saw the outputs)")
    return out


def privacy_record(
    models: list[ModelEntry],
    policy: PrivacyPolicy,
    redacted: bool,
    max_output_chars: int,
    judged: bool = False,
    endpoints: dict[str, str | None] | None = None,
) -> PrivacyRecord:
    endpoints = endpoints or {}
    return PrivacyRecord(
        endpoints=[endpoint_privacy(m, policy, endpoints.get(m.id)) for m in models],
        outputs="sha256" if redacted else "text",
        stored=stored_description(redacted, max_output_chars, judged),
    )


def output_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the workload gate ------------------------------------------------------------------------


def private_endpoint_gate(workload: Workload, policy: PrivacyPolicy) -> Gate | None:
    """The gate a workload gets when its kept route promises private text, unless it declares one."""
    if workload.route_if_kept not in policy.private_routes:
        return None
    if any(g.metric == "private_endpoint" for g in workload.gates):
        return None
    return Gate(
        metric="private_endpoint",
        op=">=",
        value=1,
        kind=policy.gate_kind,
        note=f"route {workload.route_if_kept!r} keeps text on this machine or its network (policy.yaml privacy)",
    )


def localities(models: dict[str, ModelEntry], policy: PrivacyPolicy) -> dict[str, EndpointPrivacy]:
    """Every registry model's posture by id, from its registry endpoint."""
    return {mid: endpoint_privacy(m, policy) for mid, m in models.items()}
