"""resources/SIDECAR.md and the schema agree with the code: its example is a valid sidecar
exactly as usannotate writes it, its reading snippet runs, the schema is valid JSON Schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.sidecar.docs import REPO, sample_document
from usannotate.sidecar import (
    SCHEMA_PATH,
    ManualCalibration,
    document_to_json,
    load_schema,
    load_sidecar,
)
from usannotate.sidecar._jsonfmt import dumps

DOC = REPO / "resources" / "SIDECAR.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_schema_file_is_valid_draft_2020_12():
    assert SCHEMA_PATH == REPO / "resources" / "sidecar.schema.json"
    Draft202012Validator.check_schema(load_schema())


def test_the_example_is_valid_and_written_exactly_as_usannotate_writes(tmp_path: Path):
    example = max(_blocks("json"), key=len)
    path = tmp_path / "loop_0001.usannotate.json"
    path.write_text(example, encoding="utf-8")
    doc = load_sidecar(path)
    assert len(doc.annotations.objects) == 4
    assert dumps(document_to_json(doc)) == example
    assert Draft202012Validator(load_schema()).is_valid(document_to_json(doc))


def test_the_reading_snippet_runs_on_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    (tmp_path / "loop_0001.usannotate.json").write_text(
        max(_blocks("json"), key=len), encoding="utf-8"
    )
    [snippet] = _blocks("python")
    assert len(snippet.strip().splitlines()) <= 16
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "SIDECAR.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == "12 Superficial fascia polyline keyframe "
        "[[120.5, 210.2], [260.0, 204.8], [410.1, 212.0]]"
    )
    assert lines[1].startswith("13 Superficial fascia polyline interpolated [[120.5, 211.0]")
    assert len(lines) == 8  # the target's gap frame is skipped


def test_every_key_the_writer_uses_is_documented():
    text = DOC.read_text(encoding="utf-8")
    doc = sample_document(n_frames=1)
    doc.annotations.manual_calibration = ManualCalibration.from_line([[1, 1], [1, 11]], 2.0)
    keys: set[str] = set()

    def collect(value: object) -> None:
        if isinstance(value, dict):
            keys.update(value)
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(document_to_json(doc))
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert missing == []
