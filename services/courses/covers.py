"""Course cover images (issue 17): checked, cropped to 16:9, resized and re-encoded by Pillow,
stored as files in COURSE_COVER_DIR (default `instance/covers`).

An upload is refused, with a message for the staff form, when it is larger than
COURSE_COVER_MAX_BYTES, is not a JPEG, PNG, WebP or GIF Pillow can read, is damaged, is
smaller than MIN_SIZE, or declares more than COURSE_COVER_MAX_PIXELS pixels (a decompression
bomb: a few kilobytes that would decode into gigabytes; refused from the header, before any
pixel is decoded). What is kept is never the upload itself: every size is a fresh JPEG
without the upload's metadata (a phone photo's EXIF carries where it was taken).

A cover's key is a digest of the uploaded bytes, and its files are named after it, so a
cover's URL always serves the same image and is cached for a year; a new cover is a new key.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from services.errors import DomainError

# Name → bounding box. "large" is the course page's, "small" the catalog card's.
SIZES: dict[str, tuple[int, int]] = {"large": (1280, 720), "small": (640, 360)}
MIN_SIZE = (320, 180)
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
JPEG_QUALITY = 85
FILENAME = re.compile(r"(?P<key>[0-9a-f]{20})-(?P<size>large|small)\.jpg")


class CoverRefused(DomainError):
    code = "COVER_INVALID"
    status = 422

    def __init__(self, message: str):
        super().__init__(message, field="cover")


@dataclass(frozen=True)
class PreparedCover:
    """A checked upload, resized: the files to store, by size name, and the key naming them."""

    key: str
    files: dict[str, bytes]
    width: int
    height: int


def limits() -> tuple[int, int]:
    """(max bytes, max pixels) of an upload, from the configuration."""
    config = current_app.config
    return int(config["COURSE_COVER_MAX_BYTES"]), int(config["COURSE_COVER_MAX_PIXELS"])


def prepare(data: bytes, *, max_bytes: int, max_pixels: int) -> PreparedCover:
    """Check an upload and produce its sizes; CoverRefused says what is wrong with it."""
    if not data:
        raise CoverRefused("The file is empty: choose an image.")
    if len(data) > max_bytes:
        raise CoverRefused(f"The image is {size_in_words(len(data))}; a cover can be at most {size_in_words(max_bytes)}.")
    image = _open(data, max_pixels)
    image = _flatten(ImageOps.exif_transpose(image))
    cropped = ImageOps.fit(image, _largest_16_9(image.size), method=Image.Resampling.LANCZOS)
    files = {}
    for name, box in SIZES.items():
        resized = cropped.copy()
        resized.thumbnail(box, Image.Resampling.LANCZOS)  # shrinks, never enlarges
        buffer = io.BytesIO()
        resized.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        files[name] = buffer.getvalue()
    key = hashlib.sha256(data).hexdigest()[:20]
    return PreparedCover(key=key, files=files, width=cropped.width, height=cropped.height)


def prepare_upload(data: bytes | None, errors: dict[str, str]) -> PreparedCover | None:
    """A staff form's uploaded cover checked within the configured limits (`limits`): the prepared
    image, or None with the refusal put under "cover" in `errors` (None too when nothing was sent)."""
    if data is None:
        return None
    max_bytes, max_pixels = limits()
    try:
        return prepare(data, max_bytes=max_bytes, max_pixels=max_pixels)
    except CoverRefused as error:
        errors["cover"] = error.message
        return None


def _open(data: bytes, max_pixels: int) -> Image.Image:
    not_an_image = CoverRefused("This file is not an image we can read: upload a JPEG, PNG, WebP or GIF.")
    with warnings.catch_warnings():
        # Pillow's own bomb check only warns below twice its limit: make that an error too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except UnidentifiedImageError:
            raise not_an_image from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _bomb(max_pixels) from None
        width, height = image.size
        if width * height > max_pixels:
            raise _bomb(max_pixels, width, height)
        if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
            raise CoverRefused(f"The image is {width}×{height} pixels; a cover needs at least "
                               f"{MIN_SIZE[0]}×{MIN_SIZE[1]}.")
        # A JPEG can be decoded at a fraction of its size: enough for the largest cover.
        image.draft("RGB", (SIZES["large"][0] * 2, SIZES["large"][1] * 2))
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _bomb(max_pixels) from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise CoverRefused("The image is damaged or incomplete: export it again and upload the new file.") from None
    return image


def _bomb(max_pixels: int, width: int | None = None, height: int | None = None) -> CoverRefused:
    size = f" ({width}×{height} pixels)" if width else ""
    return CoverRefused(f"The image is too large to process{size}: a cover can have at most "
                        f"{max_pixels / 1_000_000:g} megapixels. Resize it and upload it again.")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency is laid on white (a logo on a transparent PNG stays legible)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _largest_16_9(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    if width * 9 > height * 16:  # wider than 16:9: keep the height
        return height * 16 // 9, height
    return width, width * 9 // 16


def size_in_words(count: int) -> str:
    """A byte count as people read it: MB from one mebibyte up, kB below (a small configured
    limit must not read "0.0 MB")."""
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    return f"{max(1, round(count / 1024))} kB"


# -- Storage --------------------------------------------------------------------------------

def directory() -> Path:
    return Path(current_app.config["COURSE_COVER_DIR"])


def filename(key: str, size: str) -> str:
    return f"{key}-{size}.jpg"


def is_cover_filename(name: str) -> bool:
    """Only names this module writes are served (no path, no other file of the folder)."""
    # fullmatch: with match, "$" would also accept the name followed by a newline.
    return FILENAME.fullmatch(name) is not None


def store(prepared: PreparedCover) -> str:
    """Write the cover's files (atomically: a reader never sees half a file); returns its key."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    for size, data in prepared.files.items():
        target = folder / filename(prepared.key, size)
        if target.exists():  # the same upload again: same bytes, same files
            continue
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return prepared.key


def discard(key: str | None) -> None:
    """Remove a cover's files: called after the commit that stopped using them."""
    if not key:
        return
    for size in SIZES:
        (directory() / filename(key, size)).unlink(missing_ok=True)
