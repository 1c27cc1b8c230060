"""Events larger than an AMQP frame (frame_max, 128 KB) go out as several
body frames and arrive whole, in order, between ordinary ones; the broker
takes every frame (it closes a connection on a malformed one)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import NamekoConsumer, Sim, firehose_daemon, service_name  # noqa

# (count, pad bytes): 128 KB frames hold one event of 100 KB, split one of
# 300 KB in three and one of exactly a frame's payload in two.
BATCHES = [(3, 100), (2, 300000), (4, 131064), (3, 100_000), (2, 1_000_000)]


class LargeEvents(unittest.TestCase):
    def test_events_of_many_frames_arrive_whole(self):
        work = tempfile.mkdtemp(prefix="sfc-big-")
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["big_event"])
        d = None
        want = []
        try:
            d = firehose_daemon(sim, service, work, "/topic/Big", "big_event")
            for count, pad in BATCHES:
                done = sim.counter("stream_firehose_done")
                sim.control("/_sim/firehose", {"channel": "/topic/Big",
                                               "count": count,
                                               "payload_bytes": pad})
                sim.wait_counter("stream_firehose_done", done + 1, 30)
                want += [pad] * count
            consumer.drain(lambda m: len(m) >= len(want), 60)
            self.assertEqual(d.output().count("publishing to "), 1,
                             "one connection throughout: " + d.output())
        finally:
            if d:
                d.kill(15)
                d.wait(15)
            consumer.close()
            sim.stop()
        got = consumer.messages
        self.assertEqual(len(got), len(want))
        pads = [len(m["body"]["Payload__c"]) for m in got]
        self.assertEqual(pads, want)
        for m, pad in zip(got, want):
            self.assertEqual(m["body"]["Payload__c"], "x" * pad)
        replays = [m["headers"]["nameko.replay_id"] for m in got]
        self.assertEqual(replays, sorted(replays))
        self.assertEqual(len(set(replays)), len(replays))


if __name__ == "__main__":
    unittest.main(verbosity=2)
