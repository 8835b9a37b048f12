import io
import re

import pytest
import zxingcpp
from PIL import Image

from vaxbook.credentials.qr import qr_png, qr_svg
from vaxbook.credentials.tokens import issue_token

pytestmark = pytest.mark.django_db


def decoded(png: bytes) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


def test_png_decodes_back_to_exactly_the_token(appointment) -> None:
    token = issue_token(appointment)

    [barcode] = decoded(qr_png(token))

    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == token
    assert barcode.ec_level == "M"


def test_a_long_name_still_fits_and_decodes(appointment) -> None:
    appointment.person.full_name = "Ñ" * 200  # the longest name, two bytes a letter
    token = issue_token(appointment)

    # A code this dense may also yield a spurious partial read; the token must be there.
    assert token in [barcode.text for barcode in decoded(qr_png(token))]


def test_svg_is_inline_markup_with_a_title_and_a_size_that_scales(appointment) -> None:
    svg = qr_svg(issue_token(appointment))

    assert svg.startswith('<svg role="img" width="')
    assert "<?xml" not in svg
    assert "<title>QR code of your vaccination confirmation</title>" in svg
    size = re.search(r'width="(\d+)" height="(\d+)" viewBox="0 0 (\d+) (\d+)"', svg)
    assert size
    width = int(size[1])
    assert {int(value) for value in size.groups()} == {width}
    assert 200 <= width <= 400


def test_svg_title_is_escaped() -> None:
    svg = qr_svg("a.b.c", title='<script>alert("x")</script>')

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
