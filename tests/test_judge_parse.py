"""Only a score is read out of a judge's (untrusted) reply."""

from generator.execute.judge import parse_score


def test_parse_score() -> None:
    assert parse_score('{"score": 2, "reason": "ok"}', 2) == 2
    assert parse_score('```json\n{"score": 1}\n```', 2) == 1
    assert parse_score("I would give this a 0 because it is empty.", 2) == 0
    assert parse_score('{"score": 7}', 2) is None
    assert parse_score("no idea", 2) is None
