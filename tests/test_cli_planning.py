# ruff: noqa: E501  (the expected tables are as wide as the commands print them)
"""``opsbench capacity``, ``cost`` and ``roi`` (generator/cli/planning.py): exact output on the
shipped registry, as sqlite-utils and llm pin theirs.

The expected text was derived once and checked by hand against the registry's inputs
(for example gpt-oss-120b: 116.8B × 4.25 bits ÷ 8 = 62.05 GB of weights, 546 GB/s ÷ 5.61 GB
per token = 97.4 tok/s, × 86,400 s × 30 d = 252.5M tokens/month, 10 users at 10 tok/s do not
fit, 55 ÷ 97.4 = 56 %; claim-summarization: 9,000 × 1 × 4.5 min × 0.5 ÷ 60 = 337.5 h, × 48 =
16,200 USD; two users leaving max-5x: 40,000 ÷ (1,680 − 100) = 25.3, so month 26). The seed
claims each command ends with are pinned line by line in test_capacity/test_cost/test_roi;
here only their count line. Tables pad their last column, so lines are compared without
trailing blanks.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import REPO


def shown(*args: str, until: str = "Seed claims:") -> str:
    """Stdout of ``opsbench ARGS`` up to and including the first line starting with ``until``."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.output.splitlines()]
    end = next(i for i, line in enumerate(lines) if line.startswith(until))
    return "\n".join(lines[: end + 1]) + "\n"


def on_registry(tmp_path: Path) -> list[str]:
    """The shipped registry and an empty run store: every figure is the stated arithmetic."""
    return ["--registry", str(REPO / "registry"), "--runs", str(tmp_path / "runs")]


def test_capacity_exact_output(tmp_path: Path) -> None:
    args = ["--machine", "mac-studio-m4-max-128", "--model", "gpt-oss-120b", "--measured-tps", "55"]
    assert shown("capacity", *on_registry(tmp_path), *args) == CAPACITY


def test_cost_exact_output(tmp_path: Path) -> None:
    assert shown("cost", *on_registry(tmp_path)) == COST


def test_roi_exact_output(tmp_path: Path) -> None:
    assert shown("roi", *on_registry(tmp_path)) == ROI


CAPACITY = """\
context 8,192 tokens × concurrency 1; runtime overhead 1 GB; 30-day month; users at 10 tok/s each
machine                model         weights_GB  kv_GB  overhead_GB  total_GB  memory_GB  fits  GB/token  ceiling_tok/s  calibrated_tok/s  tokens/month  users@10  measured  efficiency
---------------------  ------------  ----------  -----  -----------  --------  ---------  ----  --------  -------------  ----------------  ------------  --------  --------  ----------
mac-studio-m4-max-128  gpt-oss-120b  62.0        0.6    21           83.7      128        yes   5.61      97.4           -                 252.5M        9         55        56%
note: ceiling = bandwidth ÷ (weights read per token + KV read at the stated context): an upper bound; compute limits and runtime efficiency lower it (the calibrated figure applies the measured efficiency)
bandwidth: mac-studio-m4-max-128: Apple Mac Studio (2025) technical specifications, M4 Max with 16-core CPU (546 GB/s)
users@10: counted on the calibrated figure where there is one, else the ceiling; (fit: N) when that many sequences' KV cache does not fit, N being the most that do

Seed claims: 10 checked, 5 inconsistent (tolerance: the claim's own rounding or 2%)
"""

COST = """\
Hardware mac-studio-m5-max-128 (estimated specs): 40,000 SEK ÷ 36 months = 1,111.11 + electricity 100 (flat, stated for this machine; computed would be 57.6) = 1,211.11 SEK/month

Scenario A: pay-per-token API (30% input tokens), SEK
scenario  tokens/mo  api                 SEK/M  api/mo  output/mo  capacity/mo  saving/mo  break-even                                     over 36 mo
--------  ---------  ------------------  -----  ------  ---------  -----------  ---------  ---------------------------------------------  ----------
light     10M        gpt-oss-120b-cloud  10     100     7M         283.9M       100        never (the saving does not cover electricity)  -40,000
moderate  100M       gpt-oss-120b-cloud  10     1,000   70M        283.9M       1,000      never within the 36-month window (month 45)    -7,600
heavy     1B         gpt-oss-120b-cloud  10     10,000  700M       283.9M       -          capacity exceeded                              -
capacity light: output tokens against the theoretical ceiling: no measurement calibrates this runtime × quantization × backend
capacity moderate: output tokens against the theoretical ceiling: no measurement calibrates this runtime × quantization × backend
capacity heavy: output tokens against the theoretical ceiling: no measurement calibrates this runtime × quantization × backend

Scenario B: subscription downgrade, SEK
scenario          users  tiers           saving/mo  hw/mo  hw/user/mo  break-even                                   over 36 mo
----------------  -----  --------------  ---------  -----  ----------  -------------------------------------------  ----------
one-user-max5x    1      max-5x -> pro   840        1,211  1,211       never within the 36-month window (month 55)  -13,360
two-users-max5x   2      max-5x -> pro   1,680      1,211  606         month 26                                     16,880
two-users-max20x  2      max-20x -> pro  3,780      1,211  606         month 11                                     92,480
four-users-max5x  4      max-5x -> pro   3,360      1,211  303         month 13                                     77,360

API volume at which the hardware pays for itself each month
api                 machine                SEK/M  hw/mo  break-even tokens/mo
------------------  ---------------------  -----  -----  --------------------
claude-sonnet       mac-studio-m5-max-128  119.7  1,211  10.1M
claude-opus         mac-studio-m5-max-128  199.5  1,211  6.1M
gpt-oss-120b-cloud  mac-studio-m5-max-128  10     1,211  121.1M
gemma4-26b-cloud    mac-studio-m5-max-128  3.4    1,211  356.2M

Seed claims: 22 checked, 9 inconsistent (tolerance: the claim's own rounding or 2%)
"""

ROI = """\
Measured return per month, SEK (ranges from the acceptance 95 % interval)
no candidate measured on these workloads yet (opsbench run)

Stated arithmetic (workloads.yaml roi inputs, in each deliverable's own currency)
workload                   min saved/item  hours/mo  value/mo  hosted/mo  currency
-------------------------  --------------  --------  --------  ---------  --------
claim-summarization        4.5             337.5     16,200    306        USD
escalation-classification  0.583           213.9     10,267    440        USD
field-extraction           1.25            262.5     11,025    324        USD
timeline-summarization     2.1             84        3,528     0          USD
hours = volume × share automated × minutes saved × survival ÷ 60; hosted = volume × local share × hosted cost per item

Seed claims: 9 checked, 2 inconsistent (tolerance: the claim's own rounding or 2%)
"""
