"""Edits to registry files that keep their comments and layout (ruamel round-trip).

`opsbench promote --apply` changes one `incumbent:` line and drops the promoted
model from `challengers:`; everything else in roles.yaml stays byte-identical,
so the change reads as a clean diff in a pull request.
"""

from __future__ import annotations

import io
from pathlib import Path

from ruamel.yaml import YAML

from generator.errors import OpsBenchError


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def apply_promotions(roles_path: Path, promotions: dict[str, str]) -> str:
    """Write the new incumbents into roles.yaml; return the new text."""
    yaml = _yaml()
    data = yaml.load(roles_path.read_text(encoding="utf-8"))
    by_id = {r["id"]: r for r in data["roles"]}
    for role_id, challenger in promotions.items():
        role = by_id.get(role_id)
        if role is None:
            raise OpsBenchError(f"no role {role_id!r} in {roles_path}")
        challengers = role.get("challengers") or []
        if challenger not in challengers:
            raise OpsBenchError(f"{challenger!r} is not a challenger of {role_id!r}")
        role["incumbent"] = challenger
        challengers.remove(challenger)
    buf = io.StringIO()
    yaml.dump(data, buf)
    text = buf.getvalue()
    roles_path.write_text(text, encoding="utf-8")
    return text
