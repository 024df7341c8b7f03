"""Stacks of photon-count frames (frames, height, width) on disk, read and written a batch at a time.

What ``sparsesort denoise`` reads and writes. A ``.npy`` is memory-mapped; a
TIFF's pages are read from the file as they are sliced (tifffile): one series
of frames, either a 3-D series or 2-D pages of one shape. Any other image file
(PNG, ...) is read whole with Pillow. A 2-D array or page is an image, a stack
of one frame; a colour image (a last axis of 3 or 4) is averaged over its
colours. Written stacks hold float32 counts: a ``.npy``, or an uncompressed
TIFF of one page a frame (BigTIFF above 4 GB), each written beside its target
and renamed over it once complete.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np

from engine.io.atomic import atomic_path, check_writable

TIFF = (".tif", ".tiff")
STACK_FORMATS = (".npy", *TIFF)
MIN_SIDE = 8  # the smallest frame side the denoiser takes
PEAK_PERCENTILE = 99.9
PEAK_WINDOW = 5  # pixels: the local mean that averages the Poisson noise out of the peak estimate
BIGTIFF_BYTES = 2 ** 32 - 2 ** 25


class TiffFrames:
    """A multi-page TIFF's frames (frames, height, width), read from the file as they are sliced."""

    def __init__(self, handle, series: int | None, shape: tuple[int, int, int], dtype):
        self._handle, self._series, self.shape, self.dtype = handle, series, shape, np.dtype(dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: slice) -> np.ndarray:
        pages = range(*key.indices(len(self)))
        if not pages:
            return np.empty((0, *self.shape[1:]), self.dtype)
        return self._handle.asarray(key=list(pages), series=self._series).reshape(len(pages), *self.shape[1:])


def _frames_of(path, data_shape, axes: str = "") -> tuple[int, int, int] | None:
    """(frames, height, width) of an array's shape, None for a colour image; ValueError for any other shape."""
    if len(data_shape) == 2:
        return (1, *data_shape)
    colour = len(data_shape) == 3 and (axes.endswith("S") or (not axes and data_shape[-1] in (3, 4)))
    if colour:
        return None
    if len(data_shape) != 3:
        described = f" (axes {axes})" if axes else ""
        raise ValueError(f"{path}: expected an image (height x width) or a stack of frames (frames x height x "
                         f"width), got shape {tuple(data_shape)}{described}")
    return tuple(data_shape)


@contextmanager
def open_stack(path):
    """Yield (frames, image): the file's frames as a stack (frames, height, width) that slices into arrays, and
    whether the file held a single 2-D image. Any problem is a ValueError naming the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in TIFF:
        with _open_tiff(path) as (frames, image):
            yield _checked(path, frames), image
        return
    if suffix == ".npy":
        try:
            data = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError):
            raise ValueError(f"{path}: not a .npy array file") from None
        if not isinstance(data, np.ndarray):  # an .npz archive
            data.close()
            raise ValueError(f"{path}: not a .npy array file")
    else:
        data = _read_picture(path)
    if data.dtype.kind not in "biuf":
        raise ValueError(f"{path}: holds {data.dtype}, not numbers")
    shape = _frames_of(path, data.shape)
    if shape is None:
        yield _checked(path, data[..., :3].mean(-1)[None]), True
    else:
        yield _checked(path, data.reshape(shape)), len(data.shape) == 2


@contextmanager
def _open_tiff(path):
    import tifffile
    try:
        handle = tifffile.TiffFile(path)
    except (tifffile.TiffFileError, OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a TIFF file ({exc})") from None
    with handle:
        series = handle.series
        if not series:
            raise ValueError(f"{path}: holds no image")
        first = series[0]
        if len(series) > 1 and not all(s.ndim == 2 and s.shape == first.shape for s in series):
            raise ValueError(f"{path}: holds {len(series)} series of different shapes, not one stack of frames")
        if first.dtype is None or np.dtype(first.dtype).kind not in "biuf":
            raise ValueError(f"{path}: holds {first.dtype}, not numbers")
        if len(series) > 1:  # 2-D pages written one by one
            yield TiffFrames(handle, None, (len(series), *first.shape), first.dtype), False
            return
        shape = _frames_of(path, first.shape, first.axes)
        if shape is None:
            yield handle.asarray()[..., :3].mean(-1)[None], True
        elif len(first.shape) == 2:
            yield handle.asarray()[None], True
        else:
            yield TiffFrames(handle, 0, shape, first.dtype), False


def _read_picture(path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: reading image files needs Pillow (pip install pillow), or give a .npy") from None
    try:
        return np.asarray(Image.open(path))
    except OSError as exc:
        raise ValueError(f"{path}: not an image ({exc})") from None


def _checked(path, frames):
    if frames.shape[0] == 0:
        raise ValueError(f"{path}: holds no frames (shape {tuple(frames.shape)})")
    if min(frames.shape[1:]) < MIN_SIDE:
        raise ValueError(f"{path}: frames must be at least {MIN_SIDE} x {MIN_SIDE} pixels, got "
                         f"{frames.shape[1]} x {frames.shape[2]}")
    return frames


def check_counts(path, frames, batch_size: int = 8) -> float:
    """Read every frame once: a ValueError names the first frame that holds NaN, infinite or negative values; the
    return value is the estimated peak (the expected count of the brightest pixels).

    The estimate is the median over frames of each frame's 99.9th percentile of
    its 5 x 5 local mean (the mean averages most of the Poisson noise out of
    the percentile). Values need not be integers: they are taken as counts as
    they are (for instance counts already divided by a detector's gain).
    """
    from scipy.ndimage import uniform_filter
    peaks = np.empty(len(frames))
    for start in range(0, len(frames), batch_size):
        batch = np.asarray(frames[start:start + batch_size], np.float64)
        for offset, frame in enumerate(batch):
            where = f"{path}: frame {start + offset}" if len(frames) > 1 else f"{path}:"
            if not np.isfinite(frame).all():
                raise ValueError(f"{where} holds NaN or infinite values")
            if frame.min() < 0:
                raise ValueError(f"{where} holds negative values (smallest {frame.min():g}); photon counts cannot "
                                 "be negative")
            peaks[start + offset] = np.percentile(uniform_filter(frame, PEAK_WINDOW, mode="reflect"),
                                                  PEAK_PERCENTILE)
    return float(np.median(peaks))


def check_stack_output(path) -> None:
    """Refuse, before any work, an output a stack cannot be written to."""
    if os.path.splitext(os.fspath(path))[1].lower() not in STACK_FORMATS:
        raise ValueError(f"{path}: a stack of frames is written as .npy or .tif, not "
                         f"{os.path.splitext(os.fspath(path))[1] or 'a file without an extension'}")
    check_writable(path)


@contextmanager
def stack_writer(path, shape: tuple[int, int, int], image: bool = False):
    """Yield a float32 array (frames, height, width) mapped onto a new .npy or TIFF at ``path``; once the block
    ends without an error the file takes the place of ``path``. ``image``: write one 2-D image, not a stack."""
    import tifffile
    check_stack_output(path)
    file_shape = tuple(shape[1:]) if image else tuple(shape)
    with atomic_path(path, keep_extension=True) as tmp:
        if os.fspath(path).lower().endswith(".npy"):
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=file_shape)
        else:
            out = tifffile.memmap(tmp, shape=file_shape, dtype=np.float32, photometric="minisblack",
                                  bigtiff=int(np.prod(file_shape)) * 4 > BIGTIFF_BYTES)
        yield out.reshape(shape)
        out.flush()
        del out
