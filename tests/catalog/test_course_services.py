"""Unit tests of the catalog's services: details parsing, the catalog query, covers."""
import io

import pytest
from PIL import Image

from services.courses import catalog, covers, details
from tests import factories
from tests.catalog.images import bomb_png, image_bytes

LIMITS = {"max_bytes": 5 * 1024 * 1024, "max_pixels": 40_000_000}


def test_bullets_one_a_line_without_markers_or_blanks():
    bullets, error = details.parse_bullets("- Write code\n\n* Test it  \n• Ship it\n", "points")
    assert bullets == ["Write code", "Test it", "Ship it"] and error is None
    assert details.bullets_text(bullets) == "Write code\nTest it\nShip it"


def test_bullets_limits():
    assert details.parse_bullets("\n".join(f"p{i}" for i in range(13)), "points")[1].startswith("At most 12")
    assert "200 characters" in details.parse_bullets("x" * 201, "points")[1]


def test_faq_blocks_round_trip_and_errors():
    text = "How long?\nForever.\n\nCertificate?\nYes,\nprintable.\n"
    entries, error = details.parse_faq(text)
    assert error is None
    assert entries == [{"question": "How long?", "answer": "Forever."},
                       {"question": "Certificate?", "answer": "Yes, printable."}]
    assert details.parse_faq(details.faq_text(entries)) == (entries, None)
    assert "needs an answer" in details.parse_faq("A question alone")[1]
    assert details.parse_faq("\n\n".join(f"Q{i}\nA" for i in range(11)))[1] == "At most 10 questions."


@pytest.mark.parametrize("minutes,text", [(0, "0 min"), (45, "45 min"), (60, "1 h"), (75, "1 h 15 min"),
                                          (None, "0 min")])
def test_format_length(minutes, text):
    assert details.format_length(minutes) == text


def test_catalog_query_cleans_what_it_is_given():
    query = catalog.catalog_query("  python   web \n", "paid", "nonsense")
    assert (query.text, query.price, query.topic, query.terms) == ("python web", "paid", "", ["python", "web"])
    assert not catalog.catalog_query(None, "gratis", None).is_filtered
    assert len(catalog.catalog_query("x" * 500).text) == catalog.MAX_QUERY_LENGTH


def test_search_matches_every_word_in_title_or_descriptions(app):
    factories.course(title="Python for data", description="pandas and charts")
    factories.course(title="Web apps", short_description="Flask, in Python")
    factories.course(title="100% off? No: a course about 5_percent", description="")
    titles = lambda text: sorted(row.title for row in catalog.published_courses(catalog.catalog_query(text)))  # noqa: E731
    assert titles("python") == ["Python for data", "Web apps"]
    assert titles("PYTHON charts") == ["Python for data"]
    assert titles("%") == ["100% off? No: a course about 5_percent"]  # a character, not a wildcard
    assert titles("5_p") == ["100% off? No: a course about 5_percent"]
    assert titles("a_c") == []


def test_price_and_topic_filters(app):
    factories.course(title="Free", price=0, enrollment_type="FREE", topic="data")
    factories.course(title="Zero priced", price=0, enrollment_type="PAID")
    factories.course(title="Paid", price=1000, topic="data")
    factories.course(title="Invite", price=1000, enrollment_type="INVITATION_ONLY")
    factories.course(title="Member", price=1000, enrollment_type="SUBSCRIPTION", topic="web")
    factories.course(title="Draft", price=0, enrollment_type="FREE", published=False)
    titles = lambda **kw: sorted(row.title for row in catalog.published_courses(catalog.catalog_query(**kw)))  # noqa: E731
    assert titles(price="free") == ["Free", "Zero priced"]
    assert titles(price="paid") == ["Invite", "Paid"]
    assert titles(price="membership") == ["Member"]
    assert titles(topic="data") == ["Free", "Paid"]
    assert titles(topic="data", price="paid") == ["Paid"]


def test_listing_rows_carry_length_and_lecture_count(app):
    factories.course(title="Three", lectures=3)  # 5 minutes each
    factories.course(title="None", lectures=0)
    rows = {row.title: row for row in catalog.published_courses()}
    assert (rows["Three"].lecture_count, rows["Three"].total_minutes) == (3, 15)
    assert (rows["None"].lecture_count, rows["None"].total_minutes) == (0, 0)


def test_cover_is_cropped_to_16_9_resized_and_re_encoded():
    prepared = covers.prepare(image_bytes((3000, 3000), "PNG"), **LIMITS)
    large = Image.open(io.BytesIO(prepared.files["large"]))
    small = Image.open(io.BytesIO(prepared.files["small"]))
    assert (large.format, large.size, small.size) == ("JPEG", (1280, 720), (640, 360))
    assert len(prepared.key) == 20


def test_a_small_cover_is_not_enlarged_and_keeps_no_metadata():
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    prepared = covers.prepare(image_bytes((800, 450), "JPEG", exif=exif.tobytes()), **LIMITS)
    large = Image.open(io.BytesIO(prepared.files["large"]))
    assert large.size == (800, 450)
    assert not large.getexif()


def test_transparency_is_laid_on_white():
    prepared = covers.prepare(image_bytes((640, 360), "PNG", colour=(0, 0, 0, 0), mode="RGBA"), **LIMITS)
    assert Image.open(io.BytesIO(prepared.files["small"])).getpixel((10, 10)) >= (250, 250, 250)


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"%PDF-1.7 not an image", "not an image"),
    (image_bytes((100, 100)), "at least 320×180"),
    (image_bytes((1000, 1000), "BMP"), "not an image"),  # a format we do not take
    (image_bytes((2000, 2000), "PNG")[:400], "damaged"),
    (bomb_png(), "too large to process"),
])
def test_refused_uploads_say_why(data, message):
    with pytest.raises(covers.CoverRefused) as refused:
        covers.prepare(data, **LIMITS)
    assert message in refused.value.message and refused.value.field == "cover"


def test_too_many_bytes_is_refused_before_decoding():
    with pytest.raises(covers.CoverRefused, match="at most 0.0 MB|at most"):
        covers.prepare(image_bytes((1600, 900)), max_bytes=1000, max_pixels=40_000_000)


def test_pixel_limit_is_configurable():
    with pytest.raises(covers.CoverRefused, match="at most 1 megapixels"):
        covers.prepare(image_bytes((1600, 900)), max_bytes=LIMITS["max_bytes"], max_pixels=1_000_000)


def test_store_writes_both_sizes_and_discard_removes_them(app):
    prepared = covers.prepare(image_bytes((1280, 720)), **LIMITS)
    key = covers.store(prepared)
    names = sorted(path.name for path in covers.directory().glob(f"{key}-*"))
    assert names == [f"{key}-large.jpg", f"{key}-small.jpg"]
    assert all(covers.is_cover_filename(name) for name in names)
    assert not covers.is_cover_filename("../secret.jpg") and not covers.is_cover_filename(f"{key}-huge.jpg")
    covers.discard(key)
    assert not list(covers.directory().glob(f"{key}-*"))
