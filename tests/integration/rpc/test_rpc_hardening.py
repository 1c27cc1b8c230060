"""The RPC responder against careless and hostile callers, through a real
broker and sfsim: calls that once crashed the daemon, bodies that are not
what their length says, a reply the broker refuses (a full reply queue
with x-overflow reject-publish), and RPC's own REST client pool."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from kombu import Exchange, Producer  # noqa
from nameko_rpc import RpcCaller  # noqa
from rpc_util import RpcDaemon, creates, wait_for  # noqa
from sfc_harness import AMQP  # noqa


class Hardening(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = RpcDaemon("max_workers = 2;").start()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def reply(self, method, body):
        got, _ = self.d.rpc.wait(self.d.rpc.send(method, body=body), 20)
        return got

    def test_limits_again_and_again(self):
        # A method without parameters, called more often than there are
        # workers: every call is answered and the daemon lives on.
        for i in range(12):
            self.assertIn("DailyApiRequests", self.d.rpc.call("limits"), i)
        self.assertTrue(self.d.alive(), self.d.daemon.output())

    def test_body_is_all_its_bytes(self):
        before = creates(self.d.sim)
        for body in (b'{"args": [], "kwargs": {}}\x00{"args": [1]}',
                     b'{"args": ["Contact\x00", {"LastName": "N"}], '
                     b'"kwargs": {}}',
                     b'{"args": ["Contact", {"LastName": "Nul\\u0000"}], '
                     b'"kwargs": {}}',
                     b'{"args": ["Contact", {"LastName": "Ba\xff\xfelboa"}], '
                     b'"kwargs": {}}',
                     b'{"args": ["Contact", {"LastName": "\xed\xa0\x80"}], '
                     b'"kwargs": {}}'):
            got = self.reply("create" if b"Contact" in body else "limits",
                             body)
            self.assertIsNotNone(got["error"], f"{body!r} was answered")
            self.assertEqual(got["error"]["exc_type"], "MalformedRequest",
                             body)
        # Nothing reached Salesforce, so no change event went unheard.
        self.assertEqual(creates(self.d.sim), before)
        self.assertTrue(self.d.alive(), self.d.daemon.output())


class NackedReply(unittest.TestCase):
    """A reply the broker refuses (nack) leaves its request to come back,
    and the reply cache answers it then."""

    def test_nacked_reply_comes_back_from_the_cache(self):
        # One worker: replies leave in the order their calls were made.
        d = RpcDaemon("max_workers = 1;")
        # The caller's reply queue holds one message and refuses more: the
        # broker nacks a reply while the queue is full.
        caller = RpcCaller(AMQP, d.service, consume=False,
                           queue_arguments={"x-max-length": 1,
                                            "x-overflow": "reject-publish"})
        try:
            d.start()
            Producer(caller.conn.default_channel).publish(
                json.dumps({"result": None, "error": None}),
                exchange=Exchange("nameko-rpc", type="topic", durable=True),
                routing_key=caller.reply_key, correlation_id="filler",
                content_type="application/json", serializer=None)
            before = creates(d.sim)
            cid = caller.send("create", "Contact", {"LastName": "Nacked"})
            wait_for("the create", lambda: creates(d.sim) > before)
            # A later call's reply leaves the same channel after the
            # create's: once it is here, the broker has refused that one.
            self.assertIn("DailyApiRequests", d.rpc.call("limits"))
            caller.start_consuming()
            got, _ = caller.wait(cid, 30)
            self.assertIsNone(got["error"])
            self.assertTrue(got["result"]["success"])
            # Answered from the cache: Salesforce saw one create.
            self.assertEqual(creates(d.sim), before + 1)
            wait_for("the nack to be counted",
                     lambda: d.metric("rpc_replies_nacked_total") >= 1)
            self.assertTrue(d.alive())
        finally:
            caller.close()
            d.close()


class OwnPool(unittest.TestCase):
    """rpc.pool_size bounds the REST requests RPC workers make at once."""

    def test_pool_size_bounds_concurrency(self):
        d = RpcDaemon("max_workers = 8; pool_size = 2;")
        try:
            d.start()
            seen = d.sim.control("/_sim/requests")
            seq = seen[-1]["seq"] + 1 if seen else 0
            d.sim.control("/_sim/fault", {"kind": "delay", "ms": 300,
                                          "path": "/query$", "count": -1})
            cids = [d.rpc.send("query", "SELECT Id FROM Contact")
                    for _ in range(8)]
            for cid in cids:
                body, _ = d.rpc.wait(cid, 30)
                self.assertIsNone(body["error"])
            queries = [r for r in
                       d.sim.control(f"/_sim/requests?from_seq={seq}")
                       if r["path"].endswith("/query")]
            self.assertEqual(len(queries), 8)
            # Counted by sfsim from each request's arrival until its
            # response is ready: never more than the client had open (the
            # request log's wall-clock spans are not exact enough for
            # that on a busy machine). The 300 ms delay fills the pool.
            self.assertEqual(d.sim.counter("data_max_inflight"), 2)
        finally:
            d.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
