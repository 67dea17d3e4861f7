"""DICOMweb client: QIDO-RS searches, WADO-RS retrieval, STOW-RS storage (dicomweb-client).

Every request has a connect and a read timeout and no retry (a PACS that is down gives
one message at once, never minutes of back-off). Instances are retrieved with an explicit
``transfer-syntax=*`` (the default would make the server decompress a JPEG loop to
Explicit VR Little Endian, gigabytes for a long loop), and frames for thumbnails with an
explicit media type (``image/jpeg`` and its transfer syntax, a known pitfall: servers
refuse a frame request without one).
"""

from __future__ import annotations

import contextlib
import io
import os
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient

from usannotate.pacs._values import json_int, json_text, json_value, json_values
from usannotate.pacs.errors import (
    PacsAuthError,
    PacsCancelled,
    PacsError,
    PacsNotFound,
    PacsUnreachable,
)
from usannotate.pacs.models import InstanceRef, SeriesInfo, StudyInfo, StudyQuery
from usannotate.pacs.servers import DicomWebServer, redact

_STUDY_FIELDS = ("00080020", "00081030", "00080061", "00201206", "00201208")
_SERIES_FIELDS = ("00080060", "0008103E", "00200011", "00201209")
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class StoreOutcome:
    """What the server said about one file sent: ok, or its reason."""

    name: str
    ok: bool
    message: str = ""


class DicomWebConnection:
    """A DICOMweb server, ready for calls (one ``requests`` session, reused)."""

    def __init__(self, server: DicomWebServer) -> None:
        self.server = server
        self._session = requests.Session()
        self._session.verify = server.verify_tls
        headers = {}
        if server.username:
            self._session.auth = (server.username, server.password or "")
        elif server.token:
            headers["Authorization"] = f"Bearer {server.token}"
        self._session.headers.update(headers)
        self._timeout = (server.connect_timeout_s, server.read_timeout_s)
        self.client = DICOMwebClient(
            url=server.base_url, session=self._session, timeout=self._timeout
        )
        self.client.set_http_retry_params(retry=False)

    # ------------------------------------------------------------------ errors
    def _secrets(self) -> tuple[str | None, ...]:
        return (self.server.password, self.server.token)

    def error(self, exc: BaseException, what: str) -> PacsError:
        """The one-line error for an exception of ``requests`` or ``dicomweb-client``."""
        where = self.server.display
        if isinstance(exc, PacsError):
            return exc
        if isinstance(exc, requests.exceptions.SSLError):
            return PacsUnreachable(
                f"{where}: the server's TLS certificate is not trusted (verification is on; "
                "give its CA bundle in the server's settings)"
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return PacsUnreachable(
                f"{where}: no answer within {self.server.read_timeout_s:g} s ({what})"
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return PacsUnreachable(f"{where}: cannot reach the server (is it running?)")
        if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
            status = exc.response.status_code
            if status in (401, 403):
                return PacsAuthError(f"{where}: the server refused the credentials ({status})")
            if status == 404:
                return PacsNotFound(f"{where}: not found ({what})")
            return PacsError(f"{where}: the server answered {status} ({what})")
        text = redact(str(exc), *self._secrets()).splitlines()[0] if str(exc) else ""
        return PacsError(
            f"{where}: {what} failed ({type(exc).__name__}{': ' if text else ''}{text})"
        )

    # ------------------------------------------------------------------ queries
    def echo(self) -> str:
        """Check that the server answers and accepts the credentials (a QIDO-RS study
        search with limit 1); a line saying so."""
        try:
            self.client.search_for_studies(limit=1)
        except Exception as exc:
            raise self.error(exc, "QIDO-RS") from None
        return f"{self.server.display}: DICOMweb answers (QIDO-RS)"

    def find_studies(self, query: StudyQuery) -> list[StudyInfo]:
        """The studies matching ``query``, without their series."""
        filters: dict[str, str] = {}
        if query.patient_id:
            filters["PatientID"] = query.patient_id
        if query.modality:
            filters["ModalitiesInStudy"] = query.modality
        if query.study_date:
            filters["StudyDate"] = query.study_date
        if query.description:
            filters["StudyDescription"] = query.description
        try:
            found = self.client.search_for_studies(
                search_filters=filters,
                fields=list(_STUDY_FIELDS),
                limit=query.limit,
                fuzzymatching=False,
            )
        except Exception as exc:
            raise self.error(exc, "study search") from None
        studies = []
        for item in found:
            uid = json_text(item, "0020000D")
            if not uid:
                continue
            studies.append(
                StudyInfo(
                    study_uid=uid,
                    date=json_text(item, "00080020"),
                    description=json_text(item, "00081030"),
                    modalities=[str(m) for m in json_values(item, "00080061")],
                    n_series=json_int(item, "00201206"),
                    n_instances=json_int(item, "00201208"),
                )
            )
        return studies

    def find_series(self, study_uid: str) -> list[SeriesInfo]:
        """The series of a study, with their instance and frame counts."""
        try:
            found = self.client.search_for_series(
                study_instance_uid=study_uid, fields=list(_SERIES_FIELDS)
            )
        except Exception as exc:
            raise self.error(exc, "series search") from None
        frames: dict[str, int] = {}
        known: set[str] = set()
        for ref in self.instances(study_uid):
            if ref.n_frames is not None or ref.series_uid not in known:
                frames[ref.series_uid] = frames.get(ref.series_uid, 0) + (ref.n_frames or 1)
                known.add(ref.series_uid)
        series = []
        for item in found:
            uid = json_text(item, "0020000E")
            series.append(
                SeriesInfo(
                    study_uid=study_uid,
                    series_uid=uid,
                    modality=json_text(item, "00080060"),
                    description=json_text(item, "0008103E"),
                    number=json_int(item, "00200011"),
                    n_instances=json_int(item, "00201209"),
                    n_frames=frames.get(uid),
                )
            )
        return series

    def instances(self, study_uid: str, series_uid: str | None = None) -> list[InstanceRef]:
        """The instances of a study (or of one of its series)."""
        try:
            found = self.client.search_for_instances(
                study_instance_uid=study_uid,
                series_instance_uid=series_uid,
                fields=["00280008", "00080016", "0020000E"],
            )
        except Exception as exc:
            raise self.error(exc, "instance search") from None
        refs = []
        for item in found:
            sop = json_text(item, "00080018")
            series = json_text(item, "0020000E") or (series_uid or "")
            if sop and series:
                refs.append(
                    InstanceRef(
                        study_uid=study_uid,
                        series_uid=series,
                        sop_uid=sop,
                        sop_class_uid=json_text(item, "00080016"),
                        n_frames=json_int(item, "00280008"),
                    )
                )
        if not refs:
            what = f"series {series_uid}" if series_uid else f"study {study_uid}"
            raise PacsNotFound(f"{self.server.display}: no {what} on this server")
        return refs

    # ------------------------------------------------------------------ retrieval
    def _instance_url(self, ref: InstanceRef) -> str:
        quote = urllib.parse.quote
        return (
            f"{self.server.base_url}/studies/{quote(ref.study_uid)}/series/"
            f"{quote(ref.series_uid)}/instances/{quote(ref.sop_uid)}"
        )

    def instance_chunks(
        self,
        ref: InstanceRef,
        on_bytes: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[bytes]:
        """The Part 10 bytes of one instance as the server sends them, in chunks.

        Streams the WADO-RS multipart answer straight through: dicomweb-client's
        ``retrieve_instance`` holds the whole part and parses it into a Dataset, which for
        a long loop doubles the memory and gives no progress or cancel inside the file.
        """
        headers = {
            "Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*',
            # No gzip: requests asks for it by default and Orthanc then compresses the
            # whole (already JPEG-compressed) file before sending a byte: 5x slower.
            "Accept-Encoding": "identity",
        }
        try:
            response = self._session.get(
                self._instance_url(ref), headers=headers, stream=True, timeout=self._timeout
            )
            response.raise_for_status()
        except Exception as exc:
            raise self.error(exc, f"WADO-RS instance {ref.sop_uid}") from None
        with response:
            chunks = response.iter_content(chunk_size=_CHUNK_BYTES)
            content_type = response.headers.get("Content-Type", "")
            try:
                if content_type.lower().startswith("multipart/"):
                    boundary = _boundary(content_type)
                    parts = _single_part(chunks, boundary)
                else:  # a non-conforming server sending the file alone
                    parts = chunks
                for chunk in parts:
                    if cancelled is not None and cancelled():
                        raise PacsCancelled("cancelled")
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                    yield chunk
            except (requests.exceptions.RequestException, OSError) as exc:
                raise self.error(exc, f"WADO-RS instance {ref.sop_uid}") from None

    def thumbnail(self, ref: InstanceRef, size_px: int = 160) -> bytes | None:
        """A JPEG or PNG of the first frame, or None when the server gives neither:
        rendered first (``/frames/1/rendered``), else the raw first frame when it is
        baseline JPEG (asked for with its explicit media type)."""
        with contextlib.suppress(Exception):
            data = self.client.retrieve_instance_frames_rendered(
                ref.study_uid,
                ref.series_uid,
                ref.sop_uid,
                frame_numbers=[1],
                media_types=("image/jpeg",),
                params={"viewport": f"{size_px},{size_px}"},
            )
            if data:
                return bytes(data)
        with contextlib.suppress(Exception):
            frames = self.client.retrieve_instance_frames(
                ref.study_uid,
                ref.series_uid,
                ref.sop_uid,
                frame_numbers=[1],
                media_types=(("image/jpeg", "1.2.840.10008.1.2.4.50"),),
            )
            if frames:
                return bytes(frames[0])
        return None

    # ------------------------------------------------------------------ storage
    def store(self, paths: Sequence[Path]) -> list[StoreOutcome]:
        """STOW-RS each file (one request per file, so each gets its own answer)."""
        outcomes = []
        for path in paths:
            name = Path(path).name
            try:
                ds = pydicom.dcmread(path)
            except Exception:
                outcomes.append(StoreOutcome(name, False, "not a DICOM file"))
                continue
            try:
                answer = self.client.store_instances([ds])
            except requests.exceptions.HTTPError as exc:
                error = self.error(exc, "STOW-RS")
                if isinstance(error, PacsAuthError | PacsUnreachable):
                    raise error from None
                outcomes.append(StoreOutcome(name, False, _stow_reason(exc) or str(error)))
                continue
            except Exception as exc:
                raise self.error(exc, "STOW-RS") from None
            failed = answer.get("FailedSOPSequence") if answer is not None else None
            if failed:
                reason = failed[0].get("FailureReason")
                outcomes.append(
                    StoreOutcome(name, False, f"refused by the server{_reason(reason)}")
                )
            else:
                outcomes.append(StoreOutcome(name, True))
        return outcomes

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()


def _stow_reason(exc: requests.exceptions.HTTPError) -> str:
    """The FailureReason of a STOW-RS error answer, as one line ('' when none)."""
    response = exc.response
    if response is None:
        return ""
    reason = ""
    with contextlib.suppress(Exception):
        data = response.json()
        failed = json_values(data, "00081198")
        if failed:
            code = json_value(failed[0], "00081197")
            reason = f"refused by the server{_reason(code)}"
    return reason or f"refused by the server (HTTP {response.status_code})"


def _reason(code: object) -> str:
    """`` (reason 0xC000)`` for a DICOM failure reason, '' when the server gave none."""
    try:
        return f" (reason 0x{int(code):04X})"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return ""


def _boundary(content_type: str) -> bytes:
    for item in content_type.split(";")[1:]:
        key, _, value = item.strip().partition("=")
        if key.lower() == "boundary":
            return value.strip('"').encode("latin-1")
    raise PacsError("the server's multipart answer has no boundary")


def _single_part(chunks: Iterator[bytes], boundary: bytes) -> Iterator[bytes]:
    """The body of the first part of a multipart stream, in chunks, as it arrives.

    Only the end of what has arrived is kept back (as long as the closing delimiter), so
    a part of any size streams through in constant memory.
    """
    opening = b"--" + boundary
    delimiter = b"\r\n--" + boundary
    buffer = bytearray()
    # Headers of the first part: up to the blank line after the opening boundary.
    for chunk in chunks:
        buffer += chunk
        start = buffer.find(opening)
        if start >= 0:
            end = buffer.find(b"\r\n\r\n", start)
            if end >= 0:
                del buffer[: end + 4]
                break
    else:
        raise PacsError("the server's answer ended before the file began")
    keep = len(delimiter)
    while True:
        found = buffer.find(delimiter)
        if found >= 0:
            if found:
                yield bytes(buffer[:found])
            return
        if len(buffer) > keep:
            out = bytes(buffer[:-keep])
            del buffer[:-keep]
            yield out
        chunk = next(chunks, None)
        if chunk is None:
            raise PacsError("the server's answer was cut short")
        buffer += chunk


def read_uid(data: bytes | os.PathLike[str] | str) -> str:
    """The SOP Instance UID in a Part 10 file (its header only)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return str(pydicom.dcmread(source, stop_before_pixels=True, force=True).SOPInstanceUID)
