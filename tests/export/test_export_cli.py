"""`usannotate export` of several loops on several processes (--jobs)."""


def test_several_loops_export_on_two_processes_as_on_one(tmp_path, capsys):
    from tests.export.conftest import mark_sample
    from usannotate.cli import main
    from usannotate.sidecar import sidecar_path_for

    folder = tmp_path / "archive"
    mark_sample(folder, "a", "loop_a.dcm")
    mark_sample(folder, "b", "loop_b.dcm")
    broken = mark_sample(folder, "b", "loop_c.dcm")
    sidecar_path_for(broken).write_text("{ damaged", encoding="utf-8")
    results = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"cvat{jobs}"
        code = main(["export", "cvat", str(folder), "--output", str(out), "--jobs", jobs])
        results[jobs] = (code, sorted(p.name for p in out.iterdir()), capsys.readouterr().err)
    code, names, err = results["2"]
    assert names == ["loop_a.cvat.xml", "loop_b.cvat.xml"]  # the others are written

    def content(jobs: str) -> list[str]:  # but the export's own time stamps
        text = (tmp_path / f"cvat{jobs}" / "loop_a.cvat.xml").read_text(encoding="utf-8")
        return [
            line
            for line in text.splitlines()
            if not any(f"<{stamp}>" in line for stamp in ("created", "updated", "dumped"))
        ]

    assert content("2") == content("1")
    if results["1"][0] == 2:  # one process, in order: the same failure named
        assert "loop_c" in results["1"][2]
    assert code == 2
    assert "loop_c" in err
    assert "1 of 3 loops not exported" in err


def _files(folder):
    """Every file under ``folder`` by its relative path, with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_image_sets_are_the_same_on_one_or_two_processes(tmp_path, capsys):
    """COCO, YOLO and masks of two loops on 1 and on 2 processes: the same files, byte for
    byte (PNGs, label files, index files), but for COCO's time stamp and YOLO's path of
    its own folder."""
    import json

    from tests.export.conftest import mark_sample
    from usannotate.cli import main

    folder = tmp_path / "archive"
    mark_sample(folder, "a", "loop_a.dcm")
    mark_sample(folder, "b", "loop_b.dcm")
    for kind, extra in (
        ("coco", ["--val-fraction", "0.5"]),
        ("yolo", ["--val-fraction", "0.5"]),
        ("masks", []),
    ):
        files = {}
        for jobs in ("1", "2"):
            out = tmp_path / f"{kind}{jobs}"
            command = ["export", kind, str(folder), "--output", str(out), "--jobs", jobs]
            assert main([*command, "--frames", "keyframes", *extra]) == 0
            assert "[2/2]" in capsys.readouterr().err  # one progress line per loop
            files[jobs] = _files(out)
            if kind == "coco":
                for name in ("annotations/train.json", "annotations/val.json"):
                    document = json.loads(files[jobs][name])
                    assert document["info"].pop("date_created")
                    files[jobs][name] = document
            if kind == "yolo":
                files[jobs]["data.yaml"] = files[jobs]["data.yaml"].replace(
                    str(out).encode(), b"OUT"
                )
        assert len(files["1"]) > 10
        assert any(name.endswith(".png") for name in files["1"])
        assert files["2"] == files["1"], kind


def test_an_image_set_lists_the_loops_that_failed_and_writes_the_others(tmp_path, capsys):
    import json

    from tests.export.conftest import mark_sample
    from usannotate.cli import main
    from usannotate.sidecar import sidecar_path_for

    folder = tmp_path / "archive"
    mark_sample(folder, "a", "loop_a.dcm")
    broken = mark_sample(folder, "b", "loop_c.dcm")
    mark_sample(folder, "b", "loop_d.dcm")
    sidecar_path_for(broken).write_text("{ damaged", encoding="utf-8")
    out = tmp_path / "coco"
    command = ["export", "coco", str(folder), "--output", str(out), "--jobs", "2"]
    code = main([*command, "--frames", "keyframes"])
    err = capsys.readouterr().err
    assert code == 2
    assert "loop_c" in err
    assert "1 of 3 loops not exported" in err
    document = json.loads((out / "annotations" / "train.json").read_text(encoding="utf-8"))
    assert {image["loop"] for image in document["images"]} == {"loop_a.dcm", "loop_d.dcm"}
    ids = [entry["id"] for entry in document["annotations"]]
    assert ids == list(range(1, len(ids) + 1))
    image_ids = {image["id"] for image in document["images"]}
    assert image_ids == set(range(1, len(image_ids) + 1))
    assert {entry["image_id"] for entry in document["annotations"]} <= image_ids
