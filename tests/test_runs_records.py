"""generator.runs.records: the file format holds its version and its id rule."""

from __future__ import annotations

from generator.runs.records import (
    MANIFEST_SCHEMA_VERSION,
    RESULT_SCHEMA_VERSION,
    RUN_ID_RE,
    Manifest,
    ResultRecord,
)
from tests.synth import plain_manifest, plain_result

RUN = "20260101-000000-s-aaaaaa"


def test_records_carry_their_schema_version() -> None:
    assert plain_manifest(RUN).schema_version == MANIFEST_SCHEMA_VERSION
    assert plain_result(RUN, 1).schema_version == RESULT_SCHEMA_VERSION


def test_a_result_round_trips_through_json_unchanged() -> None:
    rec = plain_result(RUN, 3)
    assert ResultRecord.model_validate_json(rec.model_dump_json()) == rec


def test_unknown_fields_from_newer_writers_are_ignored() -> None:
    text = plain_manifest(RUN).model_dump_json()[:-1] + ', "added_later": 1}'
    assert Manifest.model_validate_json(text).run_id == RUN


def test_the_key_names_model_case_repeat_and_load_level() -> None:
    assert ResultRecord.make_key("m", "c", 2, 4) == "m|c|2|4"


def test_run_ids_are_safe_folder_names() -> None:
    assert RUN_ID_RE.fullmatch(RUN)
    assert not RUN_ID_RE.fullmatch("20260101-000000-../etc")
    assert not RUN_ID_RE.fullmatch("renamed-run")
