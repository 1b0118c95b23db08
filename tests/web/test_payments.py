"""The mobile-money endpoints: the generic signed JSON (HMAC-SHA256, timestamp window) and
Daraja's C2B confirmation (secret token in the URL), over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alianza.platform.db import Database
from alianza.platform.kits.models import KitSale
from alianza.platform.payments import service as payments
from alianza.platform.payments.models import MobilePayment
from alianza.platform.payments.shapes import signature
from alianza.platform.programmes.service import create_programme, create_user
from alianza.settings import PaymentProvider, Settings
from alianza.web.app import create_app
from tests.platform.mi_fixtures import build_mi_world, sale

SECRET = "airtel-secret-0123456789"
TOKEN = "daraja-token-0123456789abcdef"


@pytest.fixture
def world(settings: Settings) -> tuple[TestClient, str, str]:
    """The app with two providers, and a pending mobile-money sale (its reference, amount)."""
    settings = settings.model_copy(
        update={
            "payment_providers": {
                "airtel": PaymentProvider(
                    programme="PA-HN", currency="MWK", country="MW", secret=SECRET
                ),
                "mpesa": PaymentProvider(
                    programme="PA-HN", currency="MWK", country="MW", url_token=TOKEN
                ),
            }
        }
    )
    database = Database(settings.database_url)
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "Ana", "password": "s3cret-pass"}
        )
        admin = create_programme(
            session, {"code": "PA-HN", "name": "MI", "reporting_currency": "USD"}, user
        )
        session.commit()
        mi = build_mi_world(session, admin)
        pending = sale(mi, mi.farmers[0], method="mobile_money")
        reference, amount = pending.reference, str(pending.amount)
    database.dispose()
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    return client, reference, amount


def _signed(
    client: TestClient, body: dict[str, object], secret: str = SECRET, skew: int = 0
) -> object:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()) - skew)
    return client.post(
        "/api/v1/payments/notifications/airtel",
        content=raw,
        headers={"X-Alianza-Timestamp": stamp, "X-Alianza-Signature": signature(secret, stamp, raw), "Content-Type": "application/json"},
    )  # fmt: skip


def _count(client: TestClient, model: type, *where: object) -> int:
    database = client.app.state.open_database()  # type: ignore[attr-defined]
    with database.session() as session:
        return int(session.scalar(select(func.count(model.id)).where(*where)) or 0)


def _posted(client: TestClient) -> None:
    """Wait until the app's poster has matched or parked every received payment."""
    deadline = time.monotonic() + 10
    while _count(client, MobilePayment, MobilePayment.status == "received"):
        assert time.monotonic() < deadline, "the poster left payments received"
        time.sleep(0.02)


def _payment(client: TestClient, payment_id: int) -> MobilePayment:
    database = client.app.state.open_database()  # type: ignore[attr-defined]
    with database.session() as session:
        payment = session.get(MobilePayment, payment_id)
        assert payment is not None
        session.expunge(payment)
        return payment


def test_a_signed_notification_pays_the_sale_once(world: tuple[TestClient, str, str]) -> None:
    client, reference, amount = world
    body = {"provider": "airtel", "transaction_id": "AX1", "phone": "0999123123", "amount": amount,
            "currency": "MWK", "reference": reference, "paid_at": "2025-03-02T10:00:00+02:00"}  # fmt: skip
    with client:
        first = _signed(client, body)
        assert first.status_code == 200, first.text
        assert first.json()["payment"]["status"] == "received" and not first.json()["duplicate"]
        _posted(client)
        again = _signed(client, body)
        assert (
            again.json()["duplicate"]
            and again.json()["payment"]["id"] == first.json()["payment"]["id"]
            and again.json()["payment"]["status"] == "matched"
        )
        assert _count(client, MobilePayment) == 1
        assert _count(client, KitSale, KitSale.status == "paid") == 1


def test_a_bad_signature_or_an_old_timestamp_changes_nothing(
    world: tuple[TestClient, str, str],
) -> None:
    client, reference, amount = world
    body = {"provider": "airtel", "transaction_id": "AX2", "amount": amount, "currency": "MWK",
            "reference": reference, "paid_at": "2025-03-02T10:00:00+00:00"}  # fmt: skip
    with client:
        forged = _signed(client, body, secret="not-the-secret-at-all")
        assert (
            forged.status_code in (400, 403, 409, 422)
            and forged.json()["error"]["code"] == "signed_notifications"
        )
        late = _signed(client, body, skew=3600)
        assert late.json()["error"]["code"] == "notification_window"
        unsigned = client.post("/api/v1/payments/notifications/airtel", json=body)
        assert unsigned.json()["error"]["code"] == "signed_notifications"
        assert _count(client, MobilePayment) == 0


def test_daraja_confirmations_are_accepted_as_daraja_expects(
    world: tuple[TestClient, str, str],
) -> None:
    client, reference, amount = world
    payload = {"TransactionType": "Pay Bill", "TransID": "RKTQDM7W6S", "TransTime": "20250302101500",
               "TransAmount": amount, "BusinessShortCode": "600638", "BillRefNumber": reference,
               "MSISDN": "265999123123", "FirstName": "Grace"}  # fmt: skip
    with client:
        answer = client.post(f"/api/v1/payments/daraja/mpesa/{TOKEN}/confirmation", json=payload)
        assert answer.status_code == 200 and answer.json() == {
            "ResultCode": 0,
            "ResultDesc": "Accepted",
        }
        assert (
            client.post(f"/api/v1/payments/daraja/mpesa/{TOKEN}/confirmation", json=payload).json()[
                "ResultCode"
            ]
            == 0
        )
        _posted(client)
        assert _count(client, MobilePayment) == 1
        assert _count(client, KitSale, KitSale.status == "paid") == 1
        wrong = client.post(
            "/api/v1/payments/daraja/mpesa/guessed-token-000000000/confirmation", json=payload
        )
        assert wrong.status_code == 404
        database = client.app.state.open_database()  # type: ignore[attr-defined]
        with database.session() as session:
            stored = session.scalar(select(MobilePayment))
            assert stored.phone == "+265999123123" and stored.raw["FirstName"] == "Grace"
            assert stored.paid_at.hour in (7, 10)  # 10:15 EAT is 07:15 UTC (SQLite keeps it naive)


def test_a_parked_payment_is_matched_through_the_api(
    world: tuple[TestClient, str, str], tmp_path: Path
) -> None:
    client, reference, amount = world
    body = {"provider": "airtel", "transaction_id": "AX3", "phone": "0999000111", "amount": amount,
            "currency": "MWK", "paid_at": "2025-03-02T10:00:00+00:00"}  # fmt: skip
    with client:
        stored = _signed(client, body).json()["payment"]
        _posted(client)
        assert _payment(client, stored["id"]).park_reason == "unknown_payer"
        token = client.post(
            "/api/v1/auth/token", data={"username": "ana", "password": "s3cret-pass"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        queue = client.get("/api/v1/payments/parked", headers=headers).json()
        assert queue["total"] == 1
        sale_id = int(reference[1:-1])
        matched = client.post(
            f"/api/v1/payments/{queue['items'][0]['id']}/match",
            json={"sale_id": sale_id, "note": "checked"},
            headers=headers,
        )
        assert matched.status_code == 200, matched.text
        assert matched.json()["status"] == "resolved"


def test_payments_stored_before_a_restart_are_posted_when_the_app_starts(
    world: tuple[TestClient, str, str],
) -> None:
    """Stored, then the process died before posting: the next start posts them."""
    client, reference, amount = world
    database = client.app.state.open_database()  # type: ignore[attr-defined]
    with database.session() as session:
        intake = payments.intake_actor(session, "PA-HN")
        for transaction_id, fields in (
            ("R1", {"reference": reference}),
            ("R2", {"phone": "0999555444"}),
        ):
            payments.accept(
                intake,
                {"provider": "airtel", "transaction_id": transaction_id, "amount": amount,
                 "currency": "MWK", "paid_at": "2025-03-02T10:00:00+00:00", **fields},
                region="MW",
            )  # fmt: skip
    assert _count(client, MobilePayment, MobilePayment.status == "received") == 2
    with client:  # the app starts: its poster finds them
        _posted(client)
    assert _count(client, MobilePayment, MobilePayment.status == "matched") == 1
    assert _count(client, MobilePayment, MobilePayment.status == "parked") == 1
    assert _count(client, KitSale, KitSale.status == "paid") == 1
