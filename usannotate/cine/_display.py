"""Decoded samples -> display RGB: palette, VOI window, MONOCHROME1 inversion, 8-bit."""

from __future__ import annotations

import contextlib

import cv2
import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut

# Above this many possible stored values a look-up table would cost more than it saves.
_MAX_LUT_ENTRIES = 1 << 17


class DisplayMapper:
    """Turns one decoded frame into ``(rows, columns, 3)`` uint8 RGB display pixels.

    Every mapping is a look-up table computed once per loop, so a frame costs one
    ``take`` (or nothing at all for 8-bit RGB and MONOCHROME2).

    Parameters
    ----------
    ds
        The loop's header (Pixel Data not needed): photometric interpretation, bits,
        palette descriptors and data, rescale and VOI attributes.
    photometric
        The photometric interpretation of the decoded array (decoders convert YBR to
        RGB, so this may differ from the file's).
    """

    def __init__(self, ds: Dataset, photometric: str) -> None:
        self.photometric = photometric
        self.bits_stored = int(ds.get("BitsStored", 8) or 8)
        self.signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
        self._lut: np.ndarray | None = None
        self._lut_offset = 0
        self._direct: _DirectGrey | None = None
        if photometric == "PALETTE COLOR":
            self._lut, self._lut_offset = _palette_lut(ds, self.bits_stored, self.signed)
        elif photometric in ("MONOCHROME1", "MONOCHROME2") and (
            self.bits_stored > 8 or self.signed
        ):
            if self.bits_stored > 16:
                # Too many values for a table: map each frame directly (rare: RT dose, CT).
                self._direct = _DirectGrey(ds, self.bits_stored, self.signed)
            else:
                self._lut, self._lut_offset = _grey_lut(ds, self.bits_stored, self.signed)
                if photometric == "MONOCHROME1":
                    self._lut = 255 - self._lut

    def to_rgb(self, samples: np.ndarray) -> np.ndarray:
        """Map decoded samples (``(rows, cols)`` or ``(rows, cols, 3)``) to display RGB."""
        if samples.ndim == 3 and samples.shape[2] == 3:
            if samples.dtype != np.uint8:
                shift = max(0, min(self.bits_stored, 16) - 8)
                samples = (samples.astype(np.uint32) >> shift).clip(0, 255).astype(np.uint8)
            return np.ascontiguousarray(samples)
        if samples.ndim == 3:
            samples = samples[..., 0]
        if self._direct is not None:
            grey = self._direct.map(samples)
            if self.photometric == "MONOCHROME1":
                grey = 255 - grey
            return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
        if self._lut is not None:
            index = samples.astype(np.int64) - self._lut_offset
            np.clip(index, 0, len(self._lut) - 1, out=index)
            out = self._lut[index]
            return out if out.ndim == 3 else cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
        grey = samples if samples.dtype == np.uint8 else samples.clip(0, 255).astype(np.uint8)
        if self.bits_stored == 1:
            grey = grey * np.uint8(255)  # binary images: 0 and 1 become black and white
        if self.photometric == "MONOCHROME1":
            grey = 255 - grey
        return cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_GRAY2RGB)


def _stored_range(bits_stored: int, signed: bool) -> tuple[int, int]:
    bits = max(1, min(bits_stored, 32))
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _voi_pipeline(values: np.ndarray, ds: Dataset) -> np.ndarray:
    """Modality LUT / rescale, then the first VOI LUT or window when the file has one."""
    values = np.asarray(apply_modality_lut(values, ds))
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)  # a VOI LUT indexes by integer value
    if "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds):
        # A malformed window: show the full range rather than nothing.
        with contextlib.suppress(ValueError, TypeError, IndexError, AttributeError):
            values = np.asarray(apply_voi_lut(values, ds, index=0), dtype=np.float64)
    return values.astype(np.float64)


class _DirectGrey:
    """Grey mapping computed per frame, for samples too wide for a look-up table."""

    def __init__(self, ds: Dataset, bits_stored: int, signed: bool) -> None:
        self._ds = ds
        low, high = _stored_range(bits_stored, signed)
        ends = _voi_pipeline(np.array([low, high], dtype=np.int64), ds)
        self._low, self._high = float(ends.min()), float(ends.max())

    def map(self, samples: np.ndarray) -> np.ndarray:
        values = _voi_pipeline(samples, self._ds)
        scale = 255.0 / (self._high - self._low) if self._high > self._low else 0.0
        return np.floor((values - self._low) * scale + 0.5).clip(0, 255).astype(np.uint8)


def _domain(bits_stored: int, signed: bool) -> np.ndarray:
    low, high = _stored_range(bits_stored, signed)
    if high - low + 1 > _MAX_LUT_ENTRIES:
        raise ValueError(f"{bits_stored}-bit samples are beyond what can be displayed")
    return np.arange(low, high + 1, dtype=np.int32 if signed else np.uint32)


def _palette_lut(ds: Dataset, bits_stored: int, signed: bool) -> tuple[np.ndarray, int]:
    """RGB uint8 table indexed by stored value (16-bit palette entries keep their top byte)."""
    domain = _domain(min(bits_stored, 16), signed)
    if bits_stored <= 8:
        domain = domain.astype(np.int8 if signed else np.uint8)
    else:
        domain = domain.astype(np.int16 if signed else np.uint16)
    rgb = apply_color_lut(domain, ds)
    if rgb.dtype != np.uint8:
        rgb = (rgb.astype(np.uint32) >> 8).astype(np.uint8)
    return np.ascontiguousarray(rgb), int(domain[0])


def _grey_lut(ds: Dataset, bits_stored: int, signed: bool) -> tuple[np.ndarray, int]:
    """Grey uint8 table: modality LUT, then the first VOI LUT or window, else full range.

    The output of the VOI step spans the values the window can produce; it is mapped
    linearly onto 0..255, as a display with an 8-bit grey scale would.
    """
    domain = _domain(bits_stored, signed)
    values = _voi_pipeline(domain, ds)
    low, high = float(values.min()), float(values.max())
    scale = 255.0 / (high - low) if high > low else 0.0
    lut = np.floor((values - low) * scale + 0.5).clip(0, 255).astype(np.uint8)
    return lut, int(domain[0])
