"""The benchmark's floor server must do the work its figure claims: check the JWS, claim, call, record.

If it skipped any of them, the floor ratio docs/benchmarks.md reads the app's figure against would
be too high, and the comparison would mislead.
"""

from __future__ import annotations

import json
from pathlib import Path

import requests

from benchmarks.servers import TIS_PATH, floor_app, stub_app
from paycombat_gateway.background_server import serve_in_thread
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import PaymentSession
from tests.storage.test_checkpointer import checkpointer_threads
from tests.support.saleor_double import initialize_payload, run_saleor


def test_the_floor_verifies_claims_calls_and_records(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/floor.sqlite3"
    checkpointers = checkpointer_threads()
    with run_saleor() as saleor, serve_in_thread(stub_app()) as paycombat_url:
        floor = floor_app(paycombat_url, database_url, json.dumps(saleor.jwks()))
        with serve_in_thread(floor) as floor_url:
            body = saleor.serialise(initialize_payload(saleor))
            headers = saleor.webhook_headers("transaction_initialize_session", body)
            answer = requests.post(floor_url + TIS_PATH, data=body, headers=headers, timeout=10)
            assert answer.status_code == 200
            psp_reference = answer.json()["pspReference"]

            tampered = body.replace(b"49.99", b"0.01")
            refused = requests.post(floor_url + TIS_PATH, data=tampered, headers=headers, timeout=10)
            assert refused.status_code == 500  # SignatureVerificationError, unhandled: a bench server

    # the floor's checkpointer stopped with it
    assert checkpointer_threads() == checkpointers
    database = Database.from_url(database_url)
    with database.session(readonly=True) as session:
        (row,) = session.query(PaymentSession).all()  # the tampered request wrote nothing
        assert row.checkout_id == psp_reference and row.state == "action_required"
    database.dispose()
