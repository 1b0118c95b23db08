"""The providers' notification shapes, read into :class:`NotificationIn`, and the signature
check of the generic shape. Pure functions: no database.

**Generic signed JSON**: the body is ``{"provider", "transaction_id", "phone", "amount",
"currency", "reference", "paid_at"}``; the request carries ``X-Alianza-Timestamp`` (Unix
seconds) and ``X-Alianza-Signature``, the hex HMAC-SHA256, keyed with the provider's secret, of
``timestamp + "." + raw body``. A timestamp outside the provider's window (default ±300 s) is
refused, so a captured request cannot be replayed later (and a replay inside the window is a
duplicate, which changes nothing).

**M-Pesa Daraja C2B confirmation**: Safaricom's payload (``TransID``, ``TransTime`` as
``YYYYMMDDHHMMSS`` in East Africa Time, ``TransAmount``, ``BillRefNumber``, ``MSISDN``, ...).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alianza.platform.errors import Invalid, Refused
from alianza.problems import Message, Problem


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_signature(
    secret: str, timestamp: str | None, given: str | None, body: bytes, now: float, window: int
) -> None:
    """Refuse a notification whose signature is wrong or whose timestamp is out of the window."""
    if not timestamp or not given:
        raise Refused(Message("the notification is not signed"), rule="signed notifications")
    try:
        sent = int(timestamp)
    except ValueError:
        raise Refused(
            Message("the timestamp is not Unix seconds"), rule="signed notifications"
        ) from None
    if not hmac.compare_digest(signature(secret, timestamp, body), given.strip().lower()):
        raise Refused(Message("the signature does not match"), rule="signed notifications")
    if abs(now - sent) > window:
        raise Refused(
            Message(
                "the notification was signed %(seconds)s s ago, outside the %(window)s s window",
                seconds=int(now - sent),
                window=window,
            ),
            rule="notification window",
        )


def from_daraja(provider: str, currency: str, payload: Any, timezone: str) -> dict[str, Any]:
    """A Daraja C2B confirmation as the intake's notification fields."""
    if not isinstance(payload, dict):
        raise Invalid("Daraja confirmation", [Problem("", Message("expected a JSON object"))])
    problems = [
        Problem(name, Message("missing"))
        for name in ("TransID", "TransTime", "TransAmount")
        if payload.get(name) in (None, "")
    ]
    paid_at = None
    if "TransTime" not in {p.field for p in problems}:
        try:
            paid_at = datetime.strptime(str(payload["TransTime"]), "%Y%m%d%H%M%S").replace(
                tzinfo=ZoneInfo(timezone)
            )
        except ValueError:
            problems.append(Problem("TransTime", Message("not YYYYMMDDHHMMSS")))
    if problems:
        raise Invalid("Daraja confirmation", problems)
    return {
        "provider": provider,
        "transaction_id": str(payload["TransID"]),
        # Daraja sends the amount as a string or a number; read its text, never a float
        "amount": str(payload["TransAmount"]),
        "currency": currency,
        "reference": (str(payload.get("BillRefNumber") or "").strip() or None),
        "phone": (str(payload.get("MSISDN") or "").strip() or None),
        "paid_at": paid_at,
    }


DARAJA_ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
