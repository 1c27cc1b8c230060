"""The event trace (SFC_TRACE_EVENTS=<file>): one line per event the daemon
published and committed, with the times of its life inside the daemon in
order (bytes read, queued, handed to the dispatch thread, published,
confirmed, committed), after the time sfsim made it; without the variable
the daemon writes no trace."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, NamekoConsumer, Sim, base_config,  # noqa
                         service_name, wait_subscribed)

COUNT = 60
CHANNEL = "/topic/Traced"


def run_daemon(sim, work, service, trace):
    """A daemon on CHANNEL with SFC_TRACE_EVENTS = @trace (None: unset)."""
    eps = (f'{{ kind = "subscribe"; channel = "{CHANNEL}"; '
           'event_type = "traced_event"; }')
    d = Daemon(base_config(sim, service, work, eps), work)
    saved = os.environ.pop("SFC_TRACE_EVENTS", None)
    if trace:
        os.environ["SFC_TRACE_EVENTS"] = trace
    try:
        d.start()
    finally:
        os.environ.pop("SFC_TRACE_EVENTS", None)
        if saved is not None:
            os.environ["SFC_TRACE_EVENTS"] = saved
    return d


def trace_lines(path):
    """The complete lines written so far (a line being written may be seen
    in part)."""
    with open(path) as f:
        lines = f.read().split("\n")[:-1]
    return [line.split() for line in lines if not line.startswith("#")]


class EventTrace(unittest.TestCase):
    def test_each_event_has_its_times_in_order(self):
        work = tempfile.mkdtemp(prefix="sfc-tr-")
        trace = os.path.join(work, "trace.txt")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["traced_event"])
        sim.control("/_sim/firehose", {"channel": CHANNEL, "count": 0})
        d = run_daemon(sim, work, service, trace)
        try:
            wait_subscribed(sim, d)
            sim.control("/_sim/firehose", {"channel": CHANNEL, "count": COUNT,
                                           "rate": 500, "payload_bytes": 64})
            got = consumer.drain(lambda m: len(m) >= COUNT, 60)
            self.assertEqual(len(got), COUNT, d.output())
            made = {m["message_id"]: m["body"]["SentAt__c"] for m in got}
            # Lines reach the file within 100 ms of their commit.
            deadline = time.time() + 20
            while len(trace_lines(trace)) < COUNT and time.time() < deadline:
                time.sleep(0.05)
            lines = trace_lines(trace)
            self.assertEqual(len(lines), COUNT, d.output())
            for fields in lines:
                self.assertEqual(len(fields), 7, fields)
                self.assertIn(fields[0], made)
                times = [int(t) for t in fields[1:]]
                self.assertTrue(all(times), fields)
                self.assertEqual(times, sorted(times), fields)
                # Made before it was read, less than a minute before.
                self.assertLessEqual(made[fields[0]], times[0])
                self.assertLess(times[0] - made[fields[0]], 60_000_000)
            self.assertEqual(sorted(f[0] for f in lines), sorted(made))
        finally:
            d.kill(15)
            d.wait(15)
            consumer.close()
            sim.stop()

    def test_no_trace_without_the_variable(self):
        work = tempfile.mkdtemp(prefix="sfc-tr-")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["traced_event"])
        sim.control("/_sim/firehose", {"channel": CHANNEL, "count": 0})
        d = run_daemon(sim, work, service, None)
        try:
            wait_subscribed(sim, d)
            sim.control("/_sim/firehose", {"channel": CHANNEL, "count": 5,
                                           "payload_bytes": 64})
            got = consumer.drain(lambda m: len(m) >= 5, 60)
            self.assertEqual(len(got), 5, d.output())
            self.assertNotIn("tracing every event", d.output())
            # Nothing but the daemon's own files (the replay store's may be
            # in the middle of its atomic replace).
            self.assertEqual(
                [f for f in os.listdir(work)
                 if f not in ("daemon.log", "sfconnector.conf")
                 and not f.startswith("replay.json")], [])
        finally:
            d.kill(15)
            d.wait(15)
            consumer.close()
            sim.stop()


if __name__ == "__main__":
    unittest.main()
