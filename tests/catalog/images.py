"""Images for the cover tests, made with Pillow in memory."""
import io

from PIL import Image


def image_bytes(size=(1600, 1200), fmt="PNG", colour=(200, 30, 30), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt, **save)
    return buffer.getvalue()


def bomb_png(size=(20000, 20000)) -> bytes:
    """A PNG that is a few kilobytes on disk and declares `size` pixels (its header is real)."""
    buffer = io.BytesIO()
    Image.new("1", size, 0).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
