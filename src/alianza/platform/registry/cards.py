"""Farmers' cards: the farmer ID as a QR code, as a PNG and as a printable PDF card.

The card's code is ``<programme code>-F<farmer id>-<check digit>`` (Luhn over the id), so that a
scanned or typed code names exactly one farmer of one programme and a misread digit is caught.
Agronomists scan it at a site inspection; ``alianza farmers card ID`` prints it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
from fpdf import FPDF

from alianza.platform.access import Actor, Permission, get
from alianza.platform.kits.service import luhn_digit
from alianza.platform.programmes.models import Programme
from alianza.platform.registry.models import Farmer, Place

# ISO/IEC 7810 ID-1 (a bank card), in millimetres.
CARD_WIDTH_MM = 85.6
CARD_HEIGHT_MM = 53.98


def farmer_code(programme_code: str, farmer_id: int) -> str:
    """The code a farmer's card carries."""
    return f"{programme_code}-F{farmer_id}-{luhn_digit(str(farmer_id))}"


def parse_farmer_code(programme_code: str, code: str) -> int | None:
    """The farmer id a card code names in this programme (None if it names none: another
    programme, a wrong check digit, not a card code)."""
    text = code.strip()
    prefix = f"{programme_code}-F"
    if not text.upper().startswith(prefix.upper()):
        return None
    body = text[len(prefix) :]
    digits, _, check = body.partition("-")
    if not digits.isdigit() or not check.isdigit() or len(check) != 1:
        return None
    if luhn_digit(digits) != int(check):
        return None
    return int(digits)


@dataclass(frozen=True)
class FarmerCard:
    farmer_id: int
    code: str
    name: str
    village: str
    programme: str

    def qr(self) -> segno.QRCode:
        return segno.make_qr(self.code, error="q")

    def png(self, scale: int = 8) -> bytes:
        """The QR code alone, as a PNG."""
        out = io.BytesIO()
        self.qr().save(out, kind="png", scale=scale, border=4)
        return out.getvalue()

    def pdf(self) -> bytes:
        """A card the size of a bank card: programme, name, village, code and its QR code."""
        pdf = FPDF(orientation="L", unit="mm", format=(CARD_HEIGHT_MM, CARD_WIDTH_MM))
        pdf.set_auto_page_break(False)
        pdf.set_margins(4, 4, 4)
        pdf.add_page()
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(0, 5, _latin(self.programme), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "B", 12)
        pdf.multi_cell(44, 6, _latin(self.name), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 9)
        pdf.multi_cell(44, 5, _latin(self.village), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("courier", "B", 9)
        pdf.set_xy(4, CARD_HEIGHT_MM - 9)
        pdf.cell(0, 5, self.code)
        pdf.image(io.BytesIO(self.png(scale=10)), x=CARD_WIDTH_MM - 38, y=8, w=34, h=34)
        return bytes(pdf.output())


def _latin(text: str) -> str:
    # The core PDF fonts are Latin-1; a name outside it keeps its letters, marks replaced.
    return text.encode("latin-1", "replace").decode("latin-1")


def farmer_card(actor: Actor, farmer_id: int) -> FarmerCard:
    """The card of a farmer the actor's scope reaches."""
    actor.require(Permission.REGISTRY_READ)
    farmer = get(actor, Farmer, farmer_id)
    programme = actor.session.get(Programme, actor.programme_id)
    assert programme is not None
    village = get(actor, Place, farmer.village_id)
    return FarmerCard(
        farmer_id=farmer.id,
        code=farmer_code(programme.code, farmer.id),
        name=farmer.name,
        village=village.name,
        programme=programme.name,
    )
