"""A serving instance behind PgBouncer (transaction pooling): no LISTEN, it polls and converges."""

from __future__ import annotations

import pytest

from tests.asgi.test_serving import HANDLER, make, wait_for
from tests.dbutil import TestDB
from tests.reliability.test_t08_pgbouncer import _through, pgbouncer  # noqa: F401 - the fixture
from timescape.web.serving import ServingInstance

pytestmark = [pytest.mark.dialects("postgresql"), pytest.mark.timeout(120)]


def test_serving__through_transaction_pooler__polls_instead_of_listening(
    db: TestDB,
    pgbouncer: int,  # noqa: F811 - the imported fixture
    caplog: pytest.LogCaptureFixture,
) -> None:
    control = make(db.url)
    control.instances()  # state tables in place before the pooled instance starts
    pooled = make(_through(db, pgbouncer))
    serving = ServingInstance(pooled, poll_interval=0.05, heartbeat_interval=0.5)
    try:
        serving.open()
        wait_for(lambda: "no LISTEN" in caplog.text, "LISTEN given up")
        assert serving.propagation_mode == "poll"
        assert serving.listener_connection_id is None
        control.activate("v1", handler=HANDLER)
        wait_for(lambda: serving.decide(HANDLER, "v1").is_served, "converged by polling")
        (info,) = control.instances()  # registered and heartbeating through the pooler
        assert info.id == serving.instance_id
    finally:
        serving.close()
        pooled.close()
        control.close()
