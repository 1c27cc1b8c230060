"""1,000 RPC calls in flight at once, every method, most of them with
hostile arguments, while the daemon publishes a firehose of Salesforce
events: every call gets a well-formed Nameko reply, the event stream keeps
flowing through the burst (every event arrives), and the daemon serves on
afterwards."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from rpc_util import RpcDaemon  # noqa
from sfc_harness import NamekoConsumer, wait_subscribed  # noqa

CALLS = 1000
EVENTS = 4000
RPC = """
  max_workers = 16;
  allow_sobjects = [ "Contact" ];
  methods = (
    { name = "create_contact"; operation = "create"; sobject = "Contact";
      args = [ "LastName", "Email" ]; },
    { name = "find"; operation = "query"; args = [ "soql" ]; } );"""
HOSTILE = ["..", "/", "%2F", "?", "#", "\u0000", "x" * 5000, "Ünïcødé",
           "../Account", "User", "", None, 7, [], {"a": 1}]


def calls(contact):
    """CALLS (method, args) pairs: every method, hostile values mixed in."""
    base = [
        ("create", ["Contact", {"LastName": "Load"}]),
        ("get", ["Contact", contact, ["LastName"]]),
        ("update", ["Contact", contact, {"LastName": "Load2"}]),
        ("upsert", ["Contact", "Id", contact, {"LastName": "Load3"}]),
        ("delete", ["Contact", "0035g00000ZZZZZAAA"]),
        ("query", ["SELECT Id FROM Contact LIMIT 5"]),
        ("query_all", ["SELECT Id FROM Contact WHERE LastName = 'Load'"]),
        ("describe", ["Contact"]),
        ("limits", []),
        ("create_many", ["Contact", [{"LastName": "Many"}]]),
        ("create_contact", ["Load", "load@example.com"]),
        ("find", ["SELECT Id, Owner.Username FROM Contact"]),
    ]
    out = []
    for i in range(CALLS):
        method, args = base[i % len(base)]
        args = list(args)
        if args and i % 3:  # two calls in three carry a hostile value
            args[(i // len(base)) % len(args)] = HOSTILE[i % len(HOSTILE)]
        out.append((method, args))
    return out


class Load(unittest.TestCase):
    def test_thousand_hostile_calls_while_events_flow(self):
        eps = ('{ kind = "subscribe"; channel = "/topic/Firehose"; '
               'event_type = "firehose_event"; replay = "stored"; }')
        d = RpcDaemon(RPC, entrypoints=eps)
        sim, rpc = d.sim, d.rpc
        consumer = NamekoConsumer(d.service, ["firehose_event"])
        sim.control("/_sim/firehose", {"channel": "/topic/Firehose",
                                       "count": 0})
        try:
            d.start()
            wait_subscribed(sim, d.daemon)
            contact = sim.rest("POST", "sobjects/Contact",
                               {"LastName": "Load"})["id"]
            sim.control("/_sim/firehose", {"channel": "/topic/Firehose",
                                           "count": EVENTS, "rate": 400,
                                           "payload_bytes": 256})
            # Some events first: the stream is flowing when the burst comes.
            while len(consumer.messages) < 50:
                consumer.conn.drain_events(timeout=5)
            sent = {rpc.send(m, body=json.dumps({"args": a, "kwargs": {}})):
                    (m, a) for m, a in calls(contact)}
            before = len(consumer.messages)
            deadline = time.time() + 150
            replies = {}
            while len(replies) < CALLS and time.time() < deadline:
                for conn in (rpc.conn, consumer.conn):
                    try:
                        conn.drain_events(timeout=0.02)
                    except Exception:
                        pass
                for cid in list(rpc.replies):
                    if cid in sent:
                        replies[cid] = rpc.replies.pop(cid)[0]
            during = len(consumer.messages) - before
            self.assertEqual(len(replies), CALLS,
                             f"{CALLS - len(replies)} calls unanswered")
            for cid, body in replies.items():
                self.assertEqual(set(body), {"result", "error"}, sent[cid])
                if body["error"] is not None:
                    self.assertIsInstance(body["error"]["exc_type"], str)
                    self.assertIsInstance(body["error"]["value"], str)
            # The stream was not held up by the burst.
            self.assertGreater(during, 0, "no event while the calls ran")
            sim.wait_counter("stream_firehose_done", 1, 60)

            def complete(msgs):
                return len({m["headers"]["nameko.replay_id"]
                            for m in msgs}) >= EVENTS
            consumer.drain(complete, 60)
            self.assertTrue(complete(consumer.messages),
                            f"{len(consumer.messages)} of {EVENTS} events")
            self.assertIn("DailyApiRequests", rpc.call("limits"))
            self.assertTrue(d.alive())
            errors = sum(1 for b in replies.values() if b["error"])
            print(f"{CALLS} calls ({errors} refused or failed), "
                  f"{during} events during the burst")
        finally:
            consumer.close()
            d.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
