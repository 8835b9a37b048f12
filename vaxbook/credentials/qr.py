"""The confirmation's QR code: the token and nothing else, so any scanner that reads a
QR code hands a verifier exactly the JWS.

Error correction M (15 % of the symbol can be lost: a scratched screen, glare, a crease
in a printout) without the larger symbol of Q or H. segno would otherwise raise the
level whenever it fits in the same version; it is fixed so every code reads the same.
A light background is drawn (not transparent) so the code stays readable on a page in
dark mode.
"""

import io

import segno
from django.utils.translation import gettext

ERROR_CORRECTION = "m"
DARK = "#000"
LIGHT = "#fff"

# A typical token (about 600 characters) makes a version 19 symbol, about 100 modules
# with the quiet zone: 3 CSS px a module gives about 300 px, which fits a phone's width
# with room to spare. The SVG scales (it has a viewBox) if a stylesheet resizes it.
SVG_SCALE = 3
# Email clients show images at their pixel size or scaled down: 5 px a module is sharp
# on high-density screens and still under 600 px wide.
PNG_SCALE = 5


def _qr_code(token: str) -> segno.QRCode:
    return segno.make(token, error=ERROR_CORRECTION, boost_error=False, micro=False)


def qr_svg(token: str, *, title: str | None = None) -> str:
    """Inline SVG markup (no XML declaration) for an HTML page, with a <title> that
    screen readers announce."""
    code = _qr_code(token)
    size = code.symbol_size(scale=SVG_SCALE)[0]
    markup: str = code.svg_inline(
        scale=SVG_SCALE,
        dark=DARK,
        light=LIGHT,
        title=title or gettext("QR code of your vaccination confirmation"),
        svgclass="confirmation-qr",
        omitsize=True,
    )
    # segno writes either a fixed size or a viewBox; both are wanted (a sensible default
    # size, and scaling when CSS resizes it), and role="img" makes assistive technology
    # treat the drawing as one image named by its <title>.
    return markup.replace("<svg ", f'<svg role="img" width="{size}" height="{size}" ', 1)


def qr_png(token: str) -> bytes:
    """A PNG image of the QR code, for email."""
    buffer = io.BytesIO()
    _qr_code(token).save(buffer, kind="png", scale=PNG_SCALE, dark=DARK, light=LIGHT)
    return buffer.getvalue()


# --- the vaccination certificate ---------------------------------------------------------

# A SMART Health Card's QR code holds its `shc:/` string in two segments: the prefix in
# byte mode and the digits in numeric mode (3.3 bits a digit instead of 8), at error
# correction L, as the specification requires; health_card.MAX_JWS_LENGTH keeps it at
# version 22 or below. Up to 105 modules with the quiet zone: 3 px a module is a phone's
# width.
CERTIFICATE_ERROR_CORRECTION = "l"


def certificate_qr_code(shc_text: str) -> segno.QRCode:
    prefix, digits = shc_text[:5], shc_text[5:]
    # segno accepts a list of segments (its stubs say otherwise).
    return segno.make(
        [prefix, digits],  # type: ignore[arg-type]
        error=CERTIFICATE_ERROR_CORRECTION,
        boost_error=False,
        micro=False,
    )


def certificate_qr_svg(shc_text: str) -> str:
    """Inline SVG of the certificate's QR code, for the person's pages."""
    code = certificate_qr_code(shc_text)
    size = code.symbol_size(scale=SVG_SCALE)[0]
    markup: str = code.svg_inline(
        scale=SVG_SCALE,
        dark=DARK,
        light=LIGHT,
        title=gettext("QR code of your vaccination certificate"),
        svgclass="certificate-qr",
        omitsize=True,
    )
    return markup.replace("<svg ", f'<svg role="img" width="{size}" height="{size}" ', 1)


def certificate_qr_png(shc_text: str) -> bytes:
    buffer = io.BytesIO()
    certificate_qr_code(shc_text).save(buffer, kind="png", scale=PNG_SCALE, dark=DARK, light=LIGHT)
    return buffer.getvalue()
