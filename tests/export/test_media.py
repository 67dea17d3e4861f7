"""`usannotate export video|frames|teaching`: real files out, read back, searched for
patient data, and drawn where the marks are."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pydicom
import pytest

from tests.cine.dicom_factory import make_planted_loop
from tests.export.media_cases import ANNOTATOR, annotated_planted, annotated_sample
from tests.test_cli import run_cli
from usannotate.annotations import default_label_set


def _colour(label_id: str) -> np.ndarray:
    value = default_label_set()[label_id].colour.lstrip("#")
    return np.array([int(value[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.int32)


def _video_frames(path: Path) -> tuple[list[np.ndarray], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate)
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)], rate


def _nearest_distance(image: np.ndarray, xy, colour: np.ndarray, radius: int = 4) -> float:
    """Smallest colour distance to ``colour`` in the square of ``radius`` around ``xy``."""
    x, y = round(xy[0]), round(xy[1])
    patch = image[y - radius : y + radius + 1, x - radius : x + radius + 1].astype(np.int32)
    return float(np.sqrt(((patch - colour) ** 2).sum(axis=2)).min())


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    return annotated_sample(tmp_path_factory.mktemp("sample"))


def test_video_has_every_frame_at_the_loop_rate_and_the_marks_in_their_colours(sample, tmp_path):
    dicom, truth = sample
    out = tmp_path / "loop.mp4"
    result = run_cli("export", "video", str(dicom), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "frames 60/60" in result.stderr  # progress
    frames, rate = _video_frames(out)
    assert len(frames) == truth["n_frames"] == 60
    assert rate == pytest.approx(1000.0 / truth["frame_time_ms"])
    assert frames[0].shape == (truth["rows"], truth["columns"], 3)
    # Frame 20 is a keyframe of the planes: each one's colour lies on its points.
    for plane in truth["frames"][20]["fascial_planes"]:
        label = {"superficial_fascia": "fascia.superficial", "deep_fascia": "fascia.deep"}.get(
            plane["name"], "fascia.interfascial"
        )
        middle = plane["points"][len(plane["points"]) // 2]
        assert _nearest_distance(frames[20], middle, _colour(label)) < 100, plane["name"]
    fluid = truth["frames"][40]["fluid"]["outline"]
    assert _nearest_distance(frames[40], fluid[0], _colour("fluid.injectate")) < 100
    # The same loop without marks has none of the planes' colour there.
    bare = tmp_path / "bare.mp4"
    assert run_cli("export", "video", str(dicom), "-o", str(bare), "--no-marks").returncode == 0
    plain, _ = _video_frames(bare)
    plane = truth["frames"][20]["fascial_planes"][0]
    middle = plane["points"][len(plane["points"]) // 2]
    assert _nearest_distance(plain[20], middle, _colour("fascia.superficial")) > 140


def test_speed_changes_the_rate_not_the_frames(sample, tmp_path):
    dicom, truth = sample
    out = tmp_path / "fast.mp4"
    assert run_cli("export", "video", str(dicom), "-o", str(out), "--speed", "2").returncode == 0
    frames, rate = _video_frames(out)
    assert len(frames) == 60
    assert rate == pytest.approx(2000.0 / truth["frame_time_ms"])


def test_frames_export_draws_the_exact_label_colour_on_the_keyframe(sample, tmp_path):
    dicom, truth = sample
    result = run_cli("export", "frames", str(dicom), "-o", str(tmp_path), "--frames", "20,40")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["frame_0020.png", "frame_0040.png"]
    image = cv2.imread(str(tmp_path / "frame_0020.png"))[..., ::-1]
    plane = next(p for p in truth["frames"][20]["fascial_planes"] if p["name"] == "deep_fascia")
    middle = plane["points"][len(plane["points"]) // 2]
    assert _nearest_distance(image, middle, _colour("fascia.deep"), radius=2) <= 2
    keyframes = tmp_path / "keys"
    assert run_cli("export", "frames", str(dicom), "-o", str(keyframes)).returncode == 0
    assert [p.name for p in sorted(keyframes.glob("*.png"))][:3] == [
        "frame_0000.png",
        "frame_0003.png",
        "frame_0004.png",
    ]


def _banner_black(image: np.ndarray, text_mask: np.ndarray, scale: int) -> bool:
    big = cv2.resize(
        text_mask.astype(np.uint8), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST
    ).astype(bool)
    return int(image[: big.shape[0], : big.shape[1]][big].max()) < 40


def test_video_of_a_loop_with_a_banner_is_anonymised_and_carries_no_patient_data(tmp_path):
    case = annotated_planted(tmp_path)
    out = tmp_path / "video.mp4"
    result = run_cli("export", "video", str(case.path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    frames, _ = _video_frames(out)
    assert len(frames) == 6
    scale = frames[0].shape[1] // case.expected.shape[2]
    assert scale == 5  # a 128-px loop is scaled up to 640 px
    # The banner's text is bright in the source and black in every frame of the video.
    assert case.expected[0][case.text_mask].max() > 150
    assert all(_banner_black(f, case.text_mask, scale) for f in frames)
    data = out.read_bytes()
    for planted in (*case.strings, *case.dates, ANNOTATOR, case.path.stem):
        assert planted.encode() not in data
        assert planted not in result.stdout + result.stderr


def test_teaching_case_has_everything_and_no_patient_data_in_any_byte(tmp_path):
    case = annotated_planted(tmp_path)
    out = tmp_path / "teaching"
    result = run_cli("export", "teaching", str(case.path), "--output", str(out))
    assert result.returncode == 0, result.stderr
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {
        "case.dcm",
        "case.usannotate.json",
        "case.mp4",
        "curves.png",
        "index.html",
        "measurements.csv",
        "keyframes/frame_0001.png",
        "keyframes/frame_0002.png",
        "keyframes/frame_0003.png",
    } <= names
    planted = [*case.strings, *case.dates, ANNOTATOR, case.path.stem]
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for piece in planted:
                assert piece.encode() not in data, (path.name, piece)
    assert not any(piece in result.stdout + result.stderr for piece in planted)
    checked = run_cli(
        "validate", str(out / "case.usannotate.json"), "--dicom", str(out / "case.dcm")
    )
    assert checked.returncode == 0, checked.stderr
    assert pydicom.dcmread(out / "case.dcm").PatientIdentityRemoved == "YES"
    frames, _ = _video_frames(out / "case.mp4")
    assert len(frames) == 6
    assert all(_banner_black(f, case.text_mask, 5) for f in frames)
    key = cv2.imread(str(out / "keyframes/frame_0002.png"))[..., ::-1]
    assert _banner_black(key, case.text_mask, 5)
    page = (out / "index.html").read_text()
    sources = re.findall(r'(?:src|href|poster)="([^"]+)"', page)
    assert sources, "the page shows the video and pictures"
    for source in sources:
        assert "//" not in source, source
        assert not source.startswith("/"), source
        assert (out / source).is_file(), source
    assert "<script" not in page
    assert "Needle" in page  # the legend
    assert "Injected fluid" in page
    assert re.search(r"Tip depth</td><td class=\"num\">[0-9.]+ mm", page)


def test_teaching_page_renders_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is installed by .ci/setup"
    case = annotated_planted(tmp_path)
    out = tmp_path / "teaching"
    assert run_cli("export", "teaching", str(case.path), "-o", str(out)).returncode == 0
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,2400",
            "--virtual-time-budget=4000",
            (out / "index.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    image = cv2.imread(str(shot))
    assert image is not None, "chromium wrote no screenshot"
    rgb = image[..., ::-1].astype(np.int32)
    # The curves picture loaded from its relative path: the fluid's colour on its
    # dark plot, which nothing else on the page has.
    fluid = _colour("fluid.injectate")
    close = np.sqrt(((rgb - fluid) ** 2).sum(axis=2)) < 30
    assert close.sum() > 50
    # Before play the video's box shows its poster, the first key frame, at full size
    # (the key frames further down are drawn smaller, so only the poster matches).
    poster = re.search(r'<video [^>]*poster="([^"]+)"', (out / "index.html").read_text())
    assert poster, "the video has a poster"
    assert poster.group(1) == "keyframes/frame_0001.png"
    picture = cv2.imread(str(out / poster.group(1)))
    top = image[: image.shape[0] // 2]
    match = cv2.matchTemplate(top, picture, cv2.TM_SQDIFF_NORMED)
    assert match.min() < 0.1, match.min()  # elsewhere ~0.8; the controls cover a strip


def test_teaching_case_without_marks_has_the_first_frame_for_poster(tmp_path):
    case = make_planted_loop(tmp_path, n_frames=4)
    out = tmp_path / "teaching"
    result = run_cli("export", "teaching", str(case.path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    page = (out / "index.html").read_text()
    assert re.search(r'<video [^>]*poster="poster.png"', page)
    from usannotate.export.annotated import AnnotatedLoop, MediaOptions

    with AnnotatedLoop(out / "case.dcm", options=MediaOptions(anonymise=False)) as media:
        first = media.frame(0)  # the video's first frame, before H.264
    poster = cv2.imread(str(out / "poster.png"))[..., ::-1]
    np.testing.assert_array_equal(poster, first)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["export", "video", "{missing}", "-o", "{out}/v.mp4"], "nothing.dcm: no such file"),
        (["export", "video", "{text}", "-o", "{out}/v.mp4"], "notes.dcm: "),
        (["export", "frames", "{dicom}", "-o", "{out}/f", "--frames", "2,x"], "--frames must be"),
        (["export", "frames", "{dicom}", "-o", "{out}/f", "--frames", "60"], "frame 60 is not"),
        (["export", "video", "{dicom}", "-o", "{out}/v.mp4", "--sidecar", "{other}"], ""),
        (["export", "video", "{dicom}", "-o", "{out}/v.mp4", "--speed", "0"], "speed 0"),
        (["export", "teaching", "{dicom}", "-o", "{full}"], "full: already exists"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_patient_data(tmp_path, args, expected):
    folder = tmp_path / "ZZPATIENT_SMITH"  # a folder named after the patient
    folder.mkdir()
    case = annotated_planted(folder)
    other = make_planted_loop(tmp_path, "other")
    other_sidecar = tmp_path / "other.usannotate.json"
    shutil.copy(case.path.with_name("planted.usannotate.json"), other_sidecar)
    data = json.loads(other_sidecar.read_text())
    data["dicom"]["sop_instance_uid"] = "1.2.3.4"
    other_sidecar.write_text(json.dumps(data))
    (folder / "notes.dcm").write_text("not a DICOM file")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    values = {
        "missing": str(folder / "nothing.dcm"),
        "text": str(folder / "notes.dcm"),
        "dicom": str(case.path),
        "other": str(other_sidecar),
        "out": str(tmp_path / "out"),
        "full": str(full),
    }
    result = run_cli(*[a.format(**values) for a in args])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len([line for line in lines if "export" not in line.split(":")[1]]) == 1, lines
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
    for piece in (*case.strings, "ZZPATIENT_SMITH"):
        assert piece not in result.stderr
    assert not (tmp_path / "out" / "v.mp4").exists()
    assert (full / "keep.txt").read_text() == "mine"
    del other


def test_without_an_h264_encoder_the_video_is_vp9_webm_and_says_so(sample, tmp_path, monkeypatch):
    from usannotate.export import video as video_module
    from usannotate.export import write_video
    from usannotate.export.annotated import AnnotatedLoop

    monkeypatch.setattr(video_module, "h264_encoder", lambda: None)
    dicom, truth = sample
    with AnnotatedLoop(dicom) as media:
        result = write_video(media, tmp_path / "loop.mp4")
    assert result.codec == "vp9"
    assert result.output == tmp_path / "loop.webm"
    assert not (tmp_path / "loop.mp4").exists()
    assert any("no H.264 encoder" in note for note in result.notes)
    frames, rate = _video_frames(result.output)
    assert len(frames) == truth["n_frames"]
    assert rate == pytest.approx(1000.0 / truth["frame_time_ms"], rel=0.01)


def test_a_cancelled_video_leaves_nothing(sample, tmp_path):
    from usannotate.export import ExportCancelled, write_video
    from usannotate.export.annotated import AnnotatedLoop

    dicom, _ = sample
    seen = []
    with AnnotatedLoop(dicom) as media, pytest.raises(ExportCancelled):
        write_video(
            media,
            tmp_path / "loop.mp4",
            progress=lambda done, total: seen.append(done),
            cancelled=lambda: len(seen) >= 5,
        )
    assert list(tmp_path.iterdir()) == []


def test_a_teaching_case_cancelled_while_deidentifying_stops_there(tmp_path):
    from usannotate.export.errors import ExportCancelled
    from usannotate.export.teaching import export_teaching

    case = annotated_planted(tmp_path)
    seen: list[tuple[str, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        seen.append((stage, done))

    with pytest.raises(ExportCancelled):
        export_teaching(
            case.path,
            tmp_path / "case",
            progress=progress,
            cancelled=lambda: any(stage == "deidentify" and d >= 2 for stage, d in seen),
        )
    assert max(d for stage, d in seen if stage == "deidentify") == 2  # not all 6 frames
    assert not (tmp_path / "case").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".usannotate-teaching")]


def test_a_one_region_mask_is_applied_as_a_rectangle_with_the_same_pixels(tmp_path):
    from usannotate.export.annotated import AnnotatedLoop, MediaOptions

    case = annotated_planted(tmp_path)
    with AnnotatedLoop(case.path, options=MediaOptions(scale=1.0)) as media:
        assert media._keep_box is not None  # one region: the fast path
        fast = [media.frame(i) for i in range(media.n_frames)]
        media._keep_box = None  # the masked AND over the whole frame
        for index, frame in enumerate(fast):
            np.testing.assert_array_equal(frame, media.frame(index))
    bare = MediaOptions(marks=False, scale_bar=False, scale=1.0)
    with AnnotatedLoop(case.path, options=bare) as media:
        for index in range(media.n_frames):
            frame = media.frame(index)
            assert not frame[~media.mask.keep].any()  # the banner is black
            np.testing.assert_array_equal(
                frame[media.mask.keep], media.loop.frame(index)[media.mask.keep]
            )


def test_frames_drawn_on_several_threads_come_in_order_and_the_same(sample):
    from usannotate.export.annotated import AnnotatedLoop

    dicom, _ = sample
    with AnnotatedLoop(dicom) as media:
        one = _drawn_copies(media, 1)
        three = _drawn_copies(media, 3)
        assert len(one) == len(three) == media.n_frames
        for index, (a, b) in enumerate(zip(one, three, strict=True)):
            np.testing.assert_array_equal(a, b)
            if index % 20 == 0:
                np.testing.assert_array_equal(a, media.frame(index))


def test_every_video_frame_is_its_own_drawn_frame_with_its_own_time(sample, tmp_path):
    """One picture is refilled for every frame: each frame read back is the frame drawn
    for it (nearer to it than to its neighbours), at its own time."""
    from usannotate.export.annotated import AnnotatedLoop
    from usannotate.export.video import write_video

    dicom, truth = sample
    out = tmp_path / "loop.mp4"
    with AnnotatedLoop(dicom) as media:
        write_video(media, out)
        drawn = [media.frame(index).astype(np.int32) for index in range(media.n_frames)]
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(stream))
        times = [float(frame.pts * stream.time_base) for frame in decoded]
        frames = [frame.to_ndarray(format="rgb24").astype(np.int32) for frame in decoded]
    assert len(frames) == len(drawn) == truth["n_frames"]
    step = truth["frame_time_ms"] / 1000.0
    np.testing.assert_allclose(np.diff(times), step, rtol=1e-3)
    for index, frame in enumerate(frames):
        error = np.abs(frame - drawn[index]).mean()
        assert error < 6, index  # H.264 at a quantizer of 22: close, not exact
        for other in (index - 1, index + 1):
            if 0 <= other < len(drawn) and np.abs(drawn[other] - drawn[index]).mean() > 2:
                assert error < np.abs(frame - drawn[other]).mean(), (index, other)


def _drawn_copies(media, workers: int) -> list[np.ndarray]:
    """Every frame as the video's drawing threads hand it out, copied: a frame's buffer
    is drawn into again once the next one is asked for."""
    from usannotate.export.video import _drawn_ahead

    width, height = media.size
    frames = _drawn_ahead(
        media, lambda rgb, out: np.copyto(out, rgb) or out, (height, width, 3), workers
    )
    return [frame.copy() for frame in frames]


def test_a_frame_handed_out_is_the_callers_until_it_asks_for_the_next(sample):
    """The buffers are kept and drawn into again: one frame handed out is not written
    while the caller holds it, and comes back for a later frame once it is given back."""
    from usannotate.export.annotated import AnnotatedLoop
    from usannotate.export.video import _drawn_ahead

    dicom, _ = sample
    with AnnotatedLoop(dicom) as media:
        width, height = media.size
        frames = _drawn_ahead(
            media, lambda rgb, out: np.copyto(out, rgb) or out, (height, width, 3), 1
        )
        first = next(frames)
        held = first.copy()
        time.sleep(0.2)  # the drawing thread fills its queue meanwhile
        np.testing.assert_array_equal(first, held)
        handed = [first]  # every frame held, so no id is reused by a new array
        for index, frame in enumerate(frames, start=1):
            handed.append(frame)
            if index % 20 == 0:
                np.testing.assert_array_equal(frame, media.frame(index))
        assert len({id(frame) for frame in handed}) < media.n_frames  # buffers came back


@pytest.mark.parametrize("size", [(64, 48), (1024, 768), (1000, 770), (42, 30)])
def test_an_i420_frame_is_the_picture_the_encoder_is_given(size):
    """The picture handed to the encoder holds the drawing thread's I420 frame: a view
    of it where PyAV takes one (a height a multiple of 4), else a copy into a kept
    picture whose planes may be padded, whatever the chroma planes' widths."""
    from usannotate.export.video import _pictures

    width, height = size
    picture_of = _pictures(width, height)
    for seed in (1, 2):  # the kept picture is refilled
        rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
        yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
        picture = picture_of(yuv)
        assert (picture.width, picture.height) == size
        np.testing.assert_array_equal(picture.to_ndarray(), yuv)
    yuv[0, 0] ^= 0xFF  # seen through a view, not in a copy
    assert (bytes(picture.planes[0])[0] == int(yuv[0, 0])) == (height % 4 == 0)


def test_a_video_is_drawn_with_opencv_single_threaded_and_its_threads_restored(sample, tmp_path):
    """OpenCV's own pool is off while a video is made (the export's threads keep the
    cores busy) and back as it was afterwards, also when two exports overlap."""
    import threading

    from usannotate._pipeline import opencv_single_threaded
    from usannotate.export.annotated import AnnotatedLoop
    from usannotate.export.video import write_video

    dicom, _ = sample
    before = cv2.getNumThreads()
    seen = set()
    with AnnotatedLoop(dicom) as media:
        draw = media.draw

        def spying(*args):
            seen.add(cv2.getNumThreads())
            return draw(*args)

        media.draw = spying
        write_video(media, tmp_path / "loop.mp4")
    assert seen == {1}
    assert cv2.getNumThreads() == before

    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with opencv_single_threaded():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(10)
    with opencv_single_threaded():
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == 1  # the other block still runs
    leave.set()
    thread.join()
    assert cv2.getNumThreads() == before


@pytest.mark.parametrize("kind", ["jpeg", "native", "native, scaled"])
def test_a_video_draws_its_own_decoded_frames_in_place_and_others_into_buffers(
    sample, tmp_path, kind
):
    """JPEG frames are decoded for the video alone and drawn on in place; a native
    loop's frames (views of the file's bytes) are drawn into kept buffers; a scaled
    loop into new frames. Every one is the frame as exported, and the loop's own
    frames stay as decoded."""
    from usannotate.export.annotated import AnnotatedLoop, MediaOptions

    if kind == "jpeg":
        dicom, options = sample[0], MediaOptions()
    else:
        dicom = annotated_planted(tmp_path).path
        options = MediaOptions(scale=1.0 if kind == "native" else None)
    with AnnotatedLoop(dicom, options=options) as media:
        decoded = media.loop.decode_frame(0)
        assert decoded.flags.owndata == (kind == "jpeg")
        frames = _drawn_copies(media, 1)
        assert len(frames) == media.n_frames
        for index, frame in enumerate(frames):
            np.testing.assert_array_equal(frame, media.frame(index))
            np.testing.assert_array_equal(media.loop.frame(index), media.loop.decode_frame(index))
        # marks, mask or scale: not the bare frame
        assert frames[0].shape != decoded.shape or (frames[0] != decoded).any()
