"""A request the responder never gets to answer (it stops while handling
it, every time) is handed out a bounded number of times, then goes to the
dead-letter queue with a log line, a metric and an error reply, instead of
coming back after every restart for ever."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from kombu import Connection, Queue  # noqa
from rpc_util import RpcDaemon, creates, wait_for  # noqa
from sfc_harness import AMQP  # noqa

MAX_DELIVERIES = 5  # rpc.max_deliveries, by default


class Poison(unittest.TestCase):
    def setUp(self):
        self.d = RpcDaemon("max_workers = 2;")

    def tearDown(self):
        if self.d.daemon and self.d.alive():
            self.d.daemon.kill()
            self.d.daemon.wait(10)
        with Connection(AMQP) as conn:
            for q in (f"rpc-{self.d.service}",
                      f"rpc-{self.d.service}.retry",
                      f"rpc-{self.d.service}.dead-letter"):
                try:
                    Queue(q).bind(conn.default_channel).delete()
                except Exception:
                    pass
        self.d.close(kill_sim=True)

    def test_poison_request_is_dead_lettered(self):
        d = self.d
        # Creates hang in Salesforce: the daemon is always handling the
        # request when it stops.
        d.sim.control("/_sim/fault", {"kind": "delay", "ms": 600000,
                                      "method": "POST",
                                      "path": "/sobjects/Contact$",
                                      "count": -1})
        # Ready once it consumes (its log says so), without a readiness
        # call: a call still unacked at the first kill would come back
        # with the poison request and could be dead-lettered first.
        d.start(ready=False)
        wait_for("the responder consuming",
                 lambda: "serving RPC on" in d.daemon.output())
        cid = d.rpc.send("create", "Contact", {"LastName": "Poison"})
        for n in range(1, MAX_DELIVERIES + 1):
            wait_for(f"delivery {n}", lambda: creates(d.sim) >= n)
            d.daemon.kill()  # SIGKILL: the request was never acked
            d.daemon.wait(10)
            d.start(ready=False)
        # Delivery MAX_DELIVERIES + 1 is not handled: the request goes to
        # the dead-letter queue, and its caller hears of it.
        with Connection(AMQP) as conn:
            dlq = Queue(f"rpc-{d.service}.dead-letter", durable=True,
                        auto_delete=False).bind(conn.default_channel)
            dlq.declare()
            msg = wait_for("the dead-lettered request", dlq.get)
            self.assertEqual(msg.properties["correlation_id"], cid)
            body = msg.body if isinstance(msg.body, str) else \
                msg.body.decode()
            self.assertIn("Poison", body)
            self.assertEqual(msg.headers["x-sfc-deliveries"],
                             MAX_DELIVERIES + 1)
            self.assertEqual(msg.headers["x-sfc-routing-key"],
                             f"{d.service}.create")
            msg.ack()
        body, _ = d.rpc.wait(cid, 30)
        self.assertEqual(body["error"]["exc_type"], "DeadLettered")
        self.assertEqual(creates(d.sim), MAX_DELIVERIES)
        self.assertIn("dead-letter", d.daemon.output())
        wait_for("the metric",
                 lambda: d.metric("rpc_dead_lettered_total") >= 1)
        # The responder serves on.
        self.assertIn("DailyApiRequests", d.rpc.call("limits"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
