"""DIMSE client (pynetdicom): C-ECHO, C-FIND, C-GET, C-MOVE into our own storage SCP, C-STORE.

Every association has its connection, ACSE, DIMSE and network timeouts, so a peer that is
down or stops answering gives one message, never a hang. C-GET asks for the storage SOP
classes an ultrasound archive holds with the SCP role (the server sends the files back on
the same association); C-MOVE starts a storage SCP on the port the server knows us at for
the time of the transfer. Retrieval is one request per instance, so a pull shows progress,
resumes and can be cancelled between files (and within one, by aborting the association).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import AE, build_role, evt
from pynetdicom import sop_class as sc
from pynetdicom.association import Association

from usannotate.pacs._values import ds_int, ds_list, ds_text
from usannotate.pacs.dicomweb import StoreOutcome
from usannotate.pacs.errors import (
    PacsAuthError,
    PacsCancelled,
    PacsError,
    PacsNotFound,
    PacsUnreachable,
)
from usannotate.pacs.models import InstanceRef, SeriesInfo, StudyInfo, StudyQuery
from usannotate.pacs.servers import DimseServer

#: What C-GET / C-MOVE accept: the ultrasound, secondary capture, SR and PDF classes.
STORAGE_CLASSES = (
    sc.UltrasoundMultiFrameImageStorage,
    sc.UltrasoundImageStorage,
    sc.EnhancedUSVolumeStorage,
    sc.SecondaryCaptureImageStorage,
    sc.MultiFrameTrueColorSecondaryCaptureImageStorage,
    sc.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    sc.ComprehensiveSRStorage,
    sc.EnhancedSRStorage,
    sc.BasicTextSRStorage,
)
#: The transfer syntaxes we take, original encodings first (no transcoding).
TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
    "1.2.840.10008.1.2.4.51",  # JPEG extended
    "1.2.840.10008.1.2.4.70",  # JPEG lossless SV1
    "1.2.840.10008.1.2.4.57",  # JPEG lossless
    "1.2.840.10008.1.2.4.80",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE
    "1.2.840.10008.1.2.4.102",  # MPEG-4 AVC
    "1.2.840.10008.1.2.1.99",  # deflated
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2",  # implicit VR little endian
)
_FIND_MODEL = sc.StudyRootQueryRetrieveInformationModelFind
_GET_MODEL = sc.StudyRootQueryRetrieveInformationModelGet
_MOVE_MODEL = sc.StudyRootQueryRetrieveInformationModelMove
#: Stored is a file written in full and renamed: what a handler gets for each one.
StoreHandler = Callable[[str, bytes], None]


class DimseConnection:
    """A DIMSE peer; each call opens its own association (with timeouts) and closes it."""

    def __init__(self, server: DimseServer) -> None:
        self.server = server
        self._cancel_seen = False  # an association we aborted on cancel is no lost server

    def _ae(self) -> AE:
        ae = AE(ae_title=self.server.calling_aet)
        ae.connection_timeout = self.server.connect_timeout_s
        ae.acse_timeout = self.server.connect_timeout_s + 5
        ae.dimse_timeout = self.server.read_timeout_s
        ae.network_timeout = self.server.read_timeout_s
        # No limit on the PDUs the server sends us (pynetdicom's default, 16 KiB, makes a
        # long loop thousands of small PDUs, each parsed in Python).
        ae.maximum_pdu_size = 0
        return ae

    @contextmanager
    def _association(self, ae: AE, **kwargs: object):
        where = self.server.display
        # A plain TCP connection first: "not listening" and "refused us" are different
        # problems for the user, and pynetdicom reports both as an aborted association.
        try:
            with socket.create_connection(
                (self.server.host, self.server.port), timeout=self.server.connect_timeout_s
            ):
                pass
        except OSError:
            raise PacsUnreachable(f"{where}: cannot reach the server (is it running?)") from None
        try:
            assoc = ae.associate(
                self.server.host, self.server.port, ae_title=self.server.called_aet, **kwargs
            )
        except (OSError, ValueError, RuntimeError) as exc:
            raise PacsUnreachable(
                f"{where}: cannot reach the server ({exc.__class__.__name__})"
            ) from None
        if not assoc.is_established:
            ae.shutdown()
            raise PacsAuthError(
                f"{where}: the server refused the association (is our AE title "
                f"{self.server.calling_aet} known to it, and its own {self.server.called_aet}?)"
            )
        try:
            yield assoc
        except RuntimeError:  # pynetdicom refuses to send on an association that ended
            if self._cancel_seen:
                raise PacsCancelled("cancelled") from None
            raise PacsUnreachable(
                f"{where}: the connection was lost (is the server running?)"
            ) from None
        finally:
            if assoc.is_established:
                assoc.release()
            ae.shutdown()

    def _check_alive(self, assoc: Association, what: str) -> None:
        if assoc.is_aborted or not assoc.is_established:
            if self._cancel_seen:
                raise PacsCancelled("cancelled")
            raise PacsUnreachable(f"{self.server.display}: the connection was lost during {what}")

    # ------------------------------------------------------------------ echo, find
    def echo(self) -> str:
        """C-ECHO; a line saying the server answered."""
        ae = self._ae()
        ae.add_requested_context(sc.Verification)
        with self._association(ae) as assoc:
            status = assoc.send_c_echo()
            self._check_alive(assoc, "C-ECHO")
            if not status or status.Status != 0:
                raise PacsError(f"{self.server.display}: C-ECHO failed")
        return f"{self.server.display}: C-ECHO answered"

    def _find(self, identifier: Dataset, what: str) -> list[Dataset]:
        ae = self._ae()
        ae.add_requested_context(_FIND_MODEL)
        answers = []
        with self._association(ae) as assoc:
            for status, found in assoc.send_c_find(identifier, _FIND_MODEL):
                if not status:
                    self._check_alive(assoc, what)
                    raise PacsUnreachable(f"{self.server.display}: no answer to {what}")
                code = status.Status
                if code in (0xFF00, 0xFF01) and found is not None:
                    answers.append(found)
                elif code != 0:
                    raise PacsError(f"{self.server.display}: {what} failed (status 0x{code:04X})")
        return answers

    def find_studies(self, query: StudyQuery) -> list[StudyInfo]:
        """C-FIND at STUDY level."""
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.StudyInstanceUID = ""
        ds.StudyDate = query.study_date or ""
        ds.StudyDescription = query.description or ""
        ds.ModalitiesInStudy = query.modality or ""
        ds.PatientID = query.patient_id or ""
        ds.NumberOfStudyRelatedSeries = ""
        ds.NumberOfStudyRelatedInstances = ""
        studies = []
        for found in self._find(ds, "C-FIND")[: query.limit]:
            uid = ds_text(found, "StudyInstanceUID")
            if uid:
                studies.append(
                    StudyInfo(
                        study_uid=uid,
                        date=ds_text(found, "StudyDate"),
                        description=ds_text(found, "StudyDescription"),
                        modalities=ds_list(found, "ModalitiesInStudy"),
                        n_series=ds_int(found, "NumberOfStudyRelatedSeries"),
                        n_instances=ds_int(found, "NumberOfStudyRelatedInstances"),
                    )
                )
        return studies

    def find_series(self, study_uid: str) -> list[SeriesInfo]:
        """C-FIND at SERIES level, frames counted from an IMAGE level C-FIND."""
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = ""
        ds.Modality = ""
        ds.SeriesDescription = ""
        ds.SeriesNumber = ""
        ds.NumberOfSeriesRelatedInstances = ""
        frames: dict[str, int] = {}
        for ref in self.instances(study_uid):
            frames[ref.series_uid] = frames.get(ref.series_uid, 0) + (ref.n_frames or 1)
        return [
            SeriesInfo(
                study_uid=study_uid,
                series_uid=ds_text(found, "SeriesInstanceUID"),
                modality=ds_text(found, "Modality"),
                description=ds_text(found, "SeriesDescription"),
                number=ds_int(found, "SeriesNumber"),
                n_instances=ds_int(found, "NumberOfSeriesRelatedInstances"),
                n_frames=frames.get(ds_text(found, "SeriesInstanceUID")),
            )
            for found in self._find(ds, "C-FIND")
        ]

    def instances(self, study_uid: str, series_uid: str | None = None) -> list[InstanceRef]:
        """C-FIND at IMAGE level (every series of the study when ``series_uid`` is None)."""
        ds = Dataset()
        ds.QueryRetrieveLevel = "IMAGE"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid or ""
        ds.SOPInstanceUID = ""
        ds.SOPClassUID = ""
        ds.NumberOfFrames = ""
        refs = [
            InstanceRef(
                study_uid=study_uid,
                series_uid=ds_text(found, "SeriesInstanceUID") or (series_uid or ""),
                sop_uid=ds_text(found, "SOPInstanceUID"),
                sop_class_uid=ds_text(found, "SOPClassUID"),
                n_frames=ds_int(found, "NumberOfFrames"),
            )
            for found in self._find(ds, "C-FIND")
            if ds_text(found, "SOPInstanceUID")
        ]
        if not refs:
            what = f"series {series_uid}" if series_uid else f"study {study_uid}"
            raise PacsNotFound(f"{self.server.display}: no {what} on this server")
        return refs

    # ------------------------------------------------------------------ retrieval
    def retrieve(
        self,
        refs: Sequence[InstanceRef],
        on_stored: StoreHandler,
        on_done: Callable[[InstanceRef], None],
        cancelled: Callable[[], bool],
    ) -> None:
        """C-GET (or C-MOVE) each instance; ``on_stored(sop_uid, part10_bytes)`` gets each
        file received, ``on_done(ref)`` is called once its request completed."""
        if self.server.retrieve == "move":
            self._move(refs, on_stored, on_done, cancelled)
        else:
            self._get(refs, on_stored, on_done, cancelled)

    def _store_handler(self, on_stored: StoreHandler, failures: list[str]):
        def handle(event: evt.Event) -> int:
            try:
                uid = str(event.request.AffectedSOPInstanceUID)
                on_stored(uid, bytes(event.encoded_dataset(include_meta=True)))
            except Exception as exc:  # the disk is full, the folder vanished...
                failures.append(f"{type(exc).__name__}: {exc}")
                return 0xA700  # out of resources: the server reports the failure
            return 0x0000

        return handle

    def _identifier(self, ref: InstanceRef) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = "IMAGE"
        ds.StudyInstanceUID = ref.study_uid
        ds.SeriesInstanceUID = ref.series_uid
        ds.SOPInstanceUID = ref.sop_uid
        return ds

    @contextmanager
    def _abort_on_cancel(self, assoc: Association, cancelled: Callable[[], bool]):
        """Abort the association as soon as ``cancelled()`` (checked 10 times a second)."""
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.1):
                if cancelled():
                    self._cancel_seen = True
                    assoc.abort()
                    return

        watcher = threading.Thread(target=watch, name="pacs-cancel", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()

    def _results(self, assoc, responses, ref: InstanceRef, what: str, cancelled) -> None:
        final = None
        for status, _identifier in responses:
            if status:
                final = status.Status
        if cancelled():
            raise PacsCancelled("cancelled")
        if final is None:
            self._check_alive(assoc, what)
            raise PacsUnreachable(f"{self.server.display}: no answer to {what}")
        if final == 0xA701 or final == 0xA801:
            raise PacsAuthError(
                f"{self.server.display}: the server does not know our AE title "
                f"{self.server.calling_aet} as a destination ({what})"
            )
        if final not in (0x0000, 0xB000):
            raise PacsError(
                f"{self.server.display}: {what} of {ref.sop_uid} failed (status 0x{final:04X})"
            )

    def _get(self, refs, on_stored, on_done, cancelled) -> None:
        ae = self._ae()
        ae.add_requested_context(_GET_MODEL)
        roles = []
        # One context per class and transfer syntax (9 x 13 + 1 <= 128): offered all
        # syntaxes in one context, the server picks one for every file of that class
        # and transcodes the others (a JPEG loop would come back uncompressed).
        for storage in STORAGE_CLASSES:
            for syntax in TRANSFER_SYNTAXES:
                ae.add_requested_context(storage, [syntax])
            roles.append(build_role(storage, scp_role=True))
        failures: list[str] = []
        handlers = [(evt.EVT_C_STORE, self._store_handler(on_stored, failures))]
        with (
            self._association(ae, ext_neg=roles, evt_handlers=handlers) as assoc,
            self._abort_on_cancel(assoc, cancelled),
        ):
            for ref in refs:
                if cancelled():
                    raise PacsCancelled("cancelled")
                self._check_alive(assoc, "C-GET")
                try:
                    responses = assoc.send_c_get(self._identifier(ref), _GET_MODEL)
                    self._results(assoc, responses, ref, "C-GET", cancelled)
                except RuntimeError:  # pynetdicom: the association ended under us
                    self._check_alive(assoc, "C-GET")
                    raise
                if failures:
                    raise PacsError(f"could not write a received file ({failures[0]})")
                on_done(ref)

    def _move(self, refs, on_stored, on_done, cancelled) -> None:
        failures: list[str] = []
        scp = self._ae()
        for storage in STORAGE_CLASSES:
            scp.add_supported_context(storage, list(TRANSFER_SYNTAXES))
        try:
            server = scp.start_server(
                (
                    "127.0.0.1" if self.server.host in ("127.0.0.1", "localhost") else "",
                    self.server.move_port,
                ),
                block=False,
                evt_handlers=[(evt.EVT_C_STORE, self._store_handler(on_stored, failures))],
            )
        except OSError as exc:
            raise PacsError(
                f"cannot receive on port {self.server.move_port} for C-MOVE ({exc.strerror})"
            ) from None
        try:
            ae = self._ae()
            ae.add_requested_context(_MOVE_MODEL)
            with self._association(ae) as assoc, self._abort_on_cancel(assoc, cancelled):
                for ref in refs:
                    if cancelled():
                        raise PacsCancelled("cancelled")
                    self._check_alive(assoc, "C-MOVE")
                    try:
                        responses = assoc.send_c_move(
                            self._identifier(ref), self.server.calling_aet, _MOVE_MODEL
                        )
                        self._results(assoc, responses, ref, "C-MOVE", cancelled)
                    except RuntimeError:  # pynetdicom: the association ended under us
                        self._check_alive(assoc, "C-MOVE")
                        raise
                    if failures:
                        raise PacsError(f"could not write a received file ({failures[0]})")
                    on_done(ref)
        finally:
            server.shutdown()

    # ------------------------------------------------------------------ storage
    def store(self, paths: Sequence[Path]) -> list[StoreOutcome]:
        """C-STORE each file on one association (contexts from the files' own classes)."""
        pending: list[tuple[str, Dataset | None, str]] = []  # name, dataset, why not sent
        contexts: set[tuple[str, str]] = set()
        for path in paths:
            name = Path(path).name
            try:
                ds = pydicom.dcmread(path)
                key = (str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID))
            except Exception:
                pending.append((name, None, "not a DICOM file"))
                continue
            if not UID(key[1]).is_transfer_syntax:
                pending.append((name, None, "unknown transfer syntax"))
                continue
            pending.append((name, ds, ""))
            contexts.add(key)
        if not contexts:
            return [StoreOutcome(name, False, why) for name, _, why in pending]
        ae = self._ae()
        for sop_class, syntax in sorted(contexts)[:128]:
            ae.add_requested_context(sop_class, [syntax])
        outcomes: list[StoreOutcome] = []
        with self._association(ae) as assoc:
            for name, ds, why in pending:
                if ds is None:
                    outcomes.append(StoreOutcome(name, False, why))
                    continue
                try:
                    status = assoc.send_c_store(ds)
                except AttributeError:  # pynetdicom checks the UIDs it must send
                    outcomes.append(StoreOutcome(name, False, "the file has no SOP Instance UID"))
                    continue
                except ValueError:
                    outcomes.append(
                        StoreOutcome(
                            name, False, "the server accepts no such SOP class or encoding"
                        )
                    )
                    continue
                if not status:
                    self._check_alive(assoc, "C-STORE")
                    raise PacsUnreachable(f"{self.server.display}: no answer to C-STORE")
                code = status.Status
                if code in (0x0000, 0xB000, 0xB007, 0xB006):
                    outcomes.append(StoreOutcome(name, True))
                else:
                    outcomes.append(
                        StoreOutcome(name, False, f"refused by the server (status 0x{code:04X})")
                    )
        return outcomes

    def thumbnail(self, ref: InstanceRef, size_px: int = 160) -> bytes | None:
        """DIMSE has no rendered frames: None."""
        return None

    def close(self) -> None:
        """Nothing held between calls."""
