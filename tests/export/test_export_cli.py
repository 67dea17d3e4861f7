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
