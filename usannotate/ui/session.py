"""One loop's annotation session: its sidecar, edit history, saving and autosave."""

from __future__ import annotations

from pathlib import Path

from usannotate._atomic import remove_stale_temporaries
from usannotate.annotations import LabelSet, default_label_set, load_label_set
from usannotate.annotations.edits import EditHistory
from usannotate.cine import CineLoop
from usannotate.sidecar import (
    SidecarDocument,
    check_loop,
    discard_recovery,
    load_recovery,
    load_sidecar,
    new_document,
    recovery_is_newer,
    recovery_path_for,
    save_sidecar,
    sidecar_path_for,
    write_recovery,
)

#: A project's label set: this file in the loop's folder or one of its two parents.
PROJECT_LABELS_NAME = "labels.usannotate.json"


def project_label_set(folder: Path, fallback: LabelSet | None = None) -> LabelSet:
    """The label set new sidecars in ``folder`` start with.

    A ``labels.usannotate.json`` (label-set format, see resources/labels/) in the folder
    or up to two levels above chooses it for a project; otherwise ``fallback`` (the
    user's preferred set), else the default hydrodissection set. Existing sidecars keep
    the set they were made with.
    """
    for candidate in (folder, *list(folder.parents)[:2]):
        path = candidate / PROJECT_LABELS_NAME
        if path.is_file():
            return load_label_set(path)
    return fallback if fallback is not None else default_label_set()


class AnnotationSession:
    """The sidecar document of one loop and the single history that edits it.

    Construction never raises for a missing sidecar (a new document is made); a damaged
    or foreign sidecar raises :class:`usannotate.sidecar.SidecarError` so the window can
    say why and keep the file untouched.
    """

    def __init__(
        self,
        loop: CineLoop,
        *,
        use_recovery: bool = False,
        annotator: str = "",
        label_set: LabelSet | None = None,
    ) -> None:
        self.loop = loop
        self.path: Path = sidecar_path_for(loop.path)
        # Left-overs of saves killed earlier go now, not at the next save (issue 10).
        remove_stale_temporaries(self.path)
        remove_stale_temporaries(recovery_path_for(self.path))
        uid = loop.identity.sop_instance_uid
        recovered = load_recovery(self.path, dicom_uid=uid) if use_recovery else None
        if recovered is not None:
            self.document: SidecarDocument = recovered
        elif self.path.exists():
            self.document = load_sidecar(self.path, dicom_uid=uid, dicom_name=Path(loop.path).name)
        else:
            self.document = new_document(
                loop, project_label_set(Path(loop.path).parent, label_set), annotator
            )
        check_loop(self.document, loop, path=self.path)
        self.history = EditHistory(self.document.annotations)
        self.history.mark_saved()
        if recovered is not None:
            self.history.mark_unsaved()  # recovered work is not on disk yet
        self._autosaved_at: int | None = None

    @staticmethod
    def has_recovery(loop: CineLoop) -> bool:
        """Whether an autosave holds work the sidecar does not (offer it to the user)."""
        return recovery_is_newer(sidecar_path_for(loop.path))

    @property
    def read_only(self) -> bool:
        return self.document.read_only

    @property
    def is_modified(self) -> bool:
        return self.history.is_modified

    def save_as(self, path: Path) -> Path:
        """Write the sidecar to ``path`` instead, and make it this session's file: later
        saves go there. The old path's recovery file goes (the work is saved)."""
        save_sidecar(self.document, path)
        old, self.path = self.path, Path(path)
        self.history.mark_saved()
        discard_recovery(old)
        discard_recovery(self.path)
        return self.path

    def save(self) -> Path:
        """Write the sidecar atomically; raises SidecarWriteError and stays unsaved."""
        save_sidecar(self.document, self.path)
        self.history.mark_saved()
        discard_recovery(self.path)
        return self.path

    def autosave(self) -> bool:
        """Write the recovery file when there is unsaved work not yet autosaved."""
        if self.read_only or not self.history.is_modified:
            return False
        if self.history.revision == self._autosaved_at:
            return False
        write_recovery(self.document, self.path)
        self._autosaved_at = self.history.revision
        return True

    def discard_recovery(self) -> None:
        discard_recovery(self.path)
