"""PACS: DICOMweb and DIMSE clients, the local cache (no Qt)."""
