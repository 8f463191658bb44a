"""The replay guard of service signatures: each nonce is accepted once.

A nonce is kept in Postgres (offchain.ServiceNonce, the nonce is the primary key) until its
signature's timestamp has left the tolerance window; by then the window check alone refuses
it. Each claim first drops the expired rows, so the table holds at most one window's worth
of service calls.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection

from offchain.models import ServiceNonce


def nonce_claim(nonce: str, *, expires_at_unix: int) -> bool:
    """True the first time this nonce is seen (and records it), False on a replay."""
    table = connection.ops.quote_name(ServiceNonce._meta.db_table)
    expires_at = datetime.fromtimestamp(expires_at_unix, tz=UTC)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE expires_at < now()")  # noqa: S608 (table name from the model)
        cursor.execute(
            f"INSERT INTO {table} (nonce, expires_at) VALUES (%s, %s) "  # noqa: S608
            "ON CONFLICT (nonce) DO NOTHING RETURNING nonce",
            [nonce, expires_at],
        )
        return cursor.fetchone() is not None
