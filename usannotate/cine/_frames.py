"""One frame decoded to display-ready RGB, by the fastest reader that suits its coding.

OpenCV's libjpeg-turbo on JPEG baseline fragments, native frames by byte offset, pydicom's
decoders for everything else.
"""

from __future__ import annotations

import warnings

import numpy as np
from pydicom import uid as dicom_uid
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels.processing import convert_color_space

from usannotate.cine import _jpeg
from usannotate.cine._display import DisplayMapper
from usannotate.cine._fileio import FileClosedError
from usannotate.cine._header_values import checked_code, decoder_reason
from usannotate.cine._layout import PixelLayout
from usannotate.cine.errors import CorruptDicomError

__all__ = ["FrameDecoder"]

_JPEG_8BIT_SYNTAXES = {dicom_uid.JPEGBaseline8Bit, dicom_uid.JPEGExtended12Bit}
_INTERLEAVED_CODECS = (
    set(dicom_uid.JPEGTransferSyntaxes)
    | set(dicom_uid.JPEGLSTransferSyntaxes)
    | set(dicom_uid.JPEG2000TransferSyntaxes)
)


class FrameDecoder:
    """Decodes the frames of one :class:`PixelLayout` (``header``: its DICOM header, for
    the colour and grey-scale tables). Thread-safe: the prefetch workers share it."""

    def __init__(self, path: str, layout: PixelLayout, header: Dataset) -> None:
        self.path = path
        self._layout = layout
        self._header = header
        self._mappers: dict[str, DisplayMapper] = {}

    def decode(
        self, index: int, out: np.ndarray | None = None, *, fast_chroma: bool = False
    ) -> np.ndarray:
        """Frame ``index`` (checked to be in range) as ``(rows, columns, 3)`` uint8 RGB.

        ``out``: where a JPEG frame may be decoded into (see :func:`._jpeg.fast_decode`);
        whether it was is for the caller to check (``np.shares_memory``).
        ``fast_chroma``: see :func:`._jpeg.fast_decode`.

        Raises
        ------
        FileClosedError
            The layout's file was closed.
        CorruptDicomError
            The frame's data is damaged or missing; a decoder may raise anything else on
            hostile data (the loop turns it into a CorruptDicomError).
        """
        layout = self._layout
        file = layout.file
        if file is None:
            raise FileClosedError
        if layout.encapsulated:
            data = layout.fragments.frame_bytes(index)
            if not data:
                raise CorruptDicomError(self.path, f"frame {index} is empty")
            # Parsed once: the size check and the fast path both need it.
            jpeg_header = _jpeg.parse_header(data) if data[:2] == b"\xff\xd8" else None
            self._check_codestream_size(index, data, jpeg_header)
            samples, photometric = None, layout.photometric_interpretation
            if self._jpeg_fast_path:
                samples = _jpeg.fast_decode(
                    data, photometric, layout.samples_per_pixel, jpeg_header, out, fast_chroma
                )
                if samples is not None:
                    photometric = "RGB" if samples.ndim == 3 else photometric
            if samples is None:
                samples, photometric = self._decode_with_pydicom(index, data)
        else:
            samples, photometric = self._read_native(index)
        if samples.shape[:2] != (layout.rows, layout.columns):
            raise CorruptDicomError(
                self.path,
                f"frame {index} decodes to {samples.shape[1]} x {samples.shape[0]} pixels, "
                f"the header says {layout.columns} x {layout.rows}",
            )
        return self._mapper(photometric).to_rgb(samples)

    @property
    def _jpeg_fast_path(self) -> bool:
        """OpenCV reproduces pydicom only for unsigned samples using all 8 bits."""
        layout = self._layout
        return (
            layout.ts in _JPEG_8BIT_SYNTAXES
            and layout.bits_allocated == 8
            and layout.bits_stored == 8
            and layout.pixel_representation == 0
        )

    def _check_codestream_size(
        self, index: int, data: bytes, jpeg_header: _jpeg.JpegHeader | None
    ) -> None:
        """Refuse a frame whose codestream claims another size than the header, before
        any decoder allocates what the codestream claims."""
        size = _jpeg.codestream_size(data, jpeg_header)
        layout = self._layout
        if size is not None and size != (layout.columns, layout.rows):
            raise CorruptDicomError(
                self.path,
                f"frame {index}: the compressed image says {size[0]} x {size[1]} pixels, "
                f"the header says {layout.columns} x {layout.rows}",
            )

    def _mapper(self, photometric: str) -> DisplayMapper:
        mapper = self._mappers.get(photometric)
        if mapper is None:
            try:
                mapper = DisplayMapper(self._header, photometric)
            except Exception:
                which = checked_code(photometric) or "colour"
                raise CorruptDicomError(
                    self.path, f"the {which} colour or grey-scale tables are damaged"
                ) from None
            self._mappers[photometric] = mapper
        return mapper

    def _read_native(self, index: int) -> tuple[np.ndarray, str]:
        layout = self._layout
        assert layout.file is not None
        bit_start = index * layout.frame_bits
        swapped_words = (
            not layout.ts.is_little_endian
            and layout.bits_allocated == 8
            and layout.pixel_vr == "OW"
        )
        if bit_start % 8 or layout.frame_bits % 8 or swapped_words:
            # 1-bit frames need not start on a byte, and big endian OW swaps byte pairs
            # across frame boundaries: let pydicom unpack the whole (small) value.
            return self._decode_with_pydicom(index, None)
        start = layout.value_offset + bit_start // 8
        data = layout.file.read_at(start, layout.frame_bits // 8)
        if data is None:
            raise CorruptDicomError(self.path, f"frame {index} is cut short")
        if (
            layout.bits_allocated not in (8, 16)
            or layout.photometric_interpretation == "YBR_FULL_422"
        ):
            return self._decode_with_pydicom(index, data)
        kind = "i" if layout.pixel_representation else "u"
        order = "<" if layout.ts.is_little_endian else ">"
        dtype = np.dtype(f"{order}{kind}{layout.bits_allocated // 8}")
        samples = np.frombuffer(data, dtype)
        rows, columns, samples_per_pixel = layout.rows, layout.columns, layout.samples_per_pixel
        if samples_per_pixel == 1:
            samples = samples.reshape(rows, columns)
        elif layout.planar_configuration == 0:
            samples = samples.reshape(rows, columns, samples_per_pixel)
        else:
            samples = samples.reshape(samples_per_pixel, rows, columns)
            samples = samples.transpose(1, 2, 0)
        samples = _keep_stored_bits(samples, layout.bits_stored, layout.bits_allocated)
        if layout.photometric_interpretation == "YBR_FULL" and samples_per_pixel == 3:
            return convert_color_space(samples, "YBR_FULL", "RGB"), "RGB"
        return samples, layout.photometric_interpretation

    def _decode_with_pydicom(self, index: int, data: bytes | None) -> tuple[np.ndarray, str]:
        """One frame through pydicom's decoders (RLE, JPEG-LS, JPEG 2000, lossless JPEG...)."""
        layout = self._layout
        options = dict(
            rows=layout.rows,
            columns=layout.columns,
            samples_per_pixel=layout.samples_per_pixel,
            bits_allocated=layout.bits_allocated,
            bits_stored=layout.bits_stored,
            pixel_representation=layout.pixel_representation,
            photometric_interpretation=layout.photometric_interpretation,
            # JPEG-family codestreams are always interleaved, whatever the header says.
            planar_configuration=0
            if layout.ts in _INTERLEAVED_CODECS
            else layout.planar_configuration,
            transfer_syntax_uid=layout.ts,
            pixel_keyword="PixelData",
            pixel_vr=layout.pixel_vr,
        )
        if data is None:  # bit-packed native data: hand over the whole value
            assert layout.file is not None
            whole = (layout.n_frames * layout.frame_bits + 7) // 8
            data = layout.file.read_at(layout.value_offset, whole + whole % 2)
            data = data or layout.file.read_at(layout.value_offset, whole)
            if data is None:
                raise CorruptDicomError(self.path, "the pixel data is cut short")
            options.update(number_of_frames=layout.n_frames, index=index)
        else:
            options.update(number_of_frames=1)
            if layout.encapsulated:
                data = encapsulate([data])
        plugins = [""]
        if layout.ts in _JPEG_8BIT_SYNTAXES and "pillow" in layout.decoder.available_plugins:
            # The same libjpeg-turbo as the fast path. For 8-bit data it is the only
            # one asked: the other JPEG plugins return a cut-short stream with its missing
            # part grey, where Pillow says the frame is damaged.
            plugins = ["pillow"] if layout.bits_stored <= 8 else ["pillow", ""]
        if layout.ts == dicom_uid.RLELossless:
            # pydicom's own RLE decoder: pylibjpeg-rle panics on some damaged runs and
            # prints the panic to stderr itself, which no exception handler can stop.
            plugins = ["pydicom"]
        problem = "could not be decoded"
        for plugin in plugins:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    samples, meta = layout.decoder.as_array(data, decoding_plugin=plugin, **options)
                return samples, str(
                    meta.get("photometric_interpretation", layout.photometric_interpretation)
                )
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                problem = f"could not be decoded ({decoder_reason(exc)})"
        raise CorruptDicomError(self.path, f"frame {index} {problem}")


def _keep_stored_bits(samples: np.ndarray, bits_stored: int, bits_allocated: int) -> np.ndarray:
    """Clear unused high bits (or sign-extend), as pydicom does when BitsStored < BitsAllocated."""
    if bits_stored >= bits_allocated or bits_stored <= 0:
        return samples
    if samples.dtype.kind == "u":
        return samples & np.array((1 << bits_stored) - 1, dtype=samples.dtype)
    shift = bits_allocated - bits_stored
    return (samples.astype(samples.dtype.newbyteorder("=")) << shift) >> shift
