"""What a PACS query returns: studies, series and instances, as plain records.

No patient name is kept: a study is described by its UID, date, description, modalities
and counts (the CLI prints these, the app's browser shows them). The Patient ID is kept
only as given back by a search on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SeriesInfo:
    """One series: UIDs, modality, description, number, instances and frames (None: the
    server did not say)."""

    study_uid: str
    series_uid: str
    modality: str = ""
    description: str = ""
    number: int | None = None
    n_instances: int | None = None
    n_frames: int | None = None

    def to_json(self) -> dict:
        """The ``find --json`` record."""
        return asdict(self)


@dataclass
class StudyInfo:
    """One study and, once asked, its series."""

    study_uid: str
    date: str = ""
    description: str = ""
    modalities: list[str] = field(default_factory=list)
    n_series: int | None = None
    n_instances: int | None = None
    series: list[SeriesInfo] = field(default_factory=list)

    def to_json(self) -> dict:
        """The ``find --json`` record, its series included."""
        data = asdict(self)
        data["series"] = [s.to_json() for s in self.series]
        return data


@dataclass(frozen=True)
class InstanceRef:
    """One instance to retrieve: its UIDs and, when the server said, its frame count."""

    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str = ""
    n_frames: int | None = None


@dataclass(frozen=True)
class StudyQuery:
    """A study search: Patient ID, modality, date range ``YYYYMMDD-YYYYMMDD`` (either end
    may be empty), free text matched against the study description (``*`` wildcards)."""

    patient_id: str | None = None
    modality: str | None = None
    study_date: str | None = None
    description: str | None = None
    limit: int = 200
