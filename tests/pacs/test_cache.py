"""The local PACS cache: complete series only, bounded, least recently used removed first."""

from __future__ import annotations

import os
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.pacs.conftest import SAMPLE_FILES
from usannotate.pacs.cache import COMPLETE_MARKER, PacsCache
from usannotate.pacs.errors import PacsError
from usannotate.pacs.servers import parse_server


def _uids(path: Path) -> tuple[str, str]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


def test_pull_once_then_from_the_cache(pacs, tmp_path):
    server = parse_server(pacs.orthanc.dicomweb_url_with_password)
    cache = PacsCache(tmp_path / "cache")
    study, series = _uids(SAMPLE_FILES[0])
    [first] = cache.pull_series(server, study, series)
    assert cache.is_complete(series)
    stamp = first.stat().st_mtime_ns
    pacs.orthanc.stop()  # the second open needs no server
    try:
        assert cache.pull_series(server, study, series) == [first]
    finally:
        pacs.orthanc.start()
    assert first.stat().st_mtime_ns == stamp


def test_a_damaged_or_half_series_is_not_complete(pacs, tmp_path):
    server = parse_server(pacs.orthanc.dicomweb_url_with_password)
    cache = PacsCache(tmp_path / "cache")
    study, series = _uids(pacs.series_paths[0])
    files = cache.pull_series(server, study, series)
    assert len(files) == 3
    files[1].write_bytes(files[1].read_bytes()[:100])  # changed behind our back
    assert not cache.is_complete(series)
    with pytest.raises(PacsError, match="not completely in the cache"):
        cache.files(series)
    files[2].unlink()
    again = cache.pull_series(server, study, series)  # pulls what is missing or damaged
    assert cache.is_complete(series)
    assert sorted(again) == sorted(files)


def test_trim_removes_least_recently_used_series_first(pacs, tmp_path):
    server = parse_server(pacs.orthanc.dicomweb_url_with_password)
    cache = PacsCache(tmp_path / "cache")
    sources = [*SAMPLE_FILES, Path(get_testdata_file("examples_ybr_color.dcm"))]
    series = []
    for when, source in enumerate(sources[:2]):
        study, uid = _uids(source)
        cache.pull_series(server, study, uid)
        os.utime(cache.series_folder(uid) / COMPLETE_MARKER, (1000 + when, 1000 + when))
        series.append(uid)
    # The older of the two is used again: now the other is the least recently used.
    cache.pull_series(server, *_uids(sources[0]))
    study, newest = _uids(sources[2])
    first_two = cache.size_bytes()
    cache.max_bytes = first_two  # room for two of the three
    cache.pull_series(server, study, newest)
    assert cache.is_complete(newest)
    assert cache.is_complete(series[0])
    assert not cache.series_folder(series[1]).exists()
    assert cache.size_bytes() <= cache.max_bytes
