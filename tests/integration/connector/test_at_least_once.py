"""At least once: kill -9 of the daemon in the middle of a firehose, then a
restart, re-delivers what was not confirmed and loses nothing; every replay
id arrives, first deliveries in order."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import NamekoConsumer, Sim, firehose_daemon, service_name  # noqa

COUNT = 3000


class AtLeastOnce(unittest.TestCase):
    def test_kill_9_mid_firehose(self):
        work = tempfile.mkdtemp(prefix="sfc-alo-")
        sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"})
        service = service_name()
        consumer = NamekoConsumer(service, ["firehose_event"])
        try:
            d = firehose_daemon(sim, service, work, "/topic/Firehose",
                                "firehose_event")
            sim.control("/_sim/firehose", {"channel": "/topic/Firehose",
                                           "count": COUNT, "rate": 2000,
                                           "payload_bytes": 256})
            consumer.drain(lambda m: len(m) >= COUNT // 3, 30)
            d.kill()  # SIGKILL: no chance to clean up
            d.wait(10)
            got_before = len(consumer.messages)
            self.assertLess(got_before, COUNT)
            d.start()
            sim.wait_counter("stream_firehose_done", 2, 30)
            published = sim.control("/_sim/stats")["stream"]["channels"][
                "/topic/Firehose"]["published"]

            def complete(msgs):
                return len({m["headers"]["nameko.replay_id"]
                            for m in msgs}) >= published
            consumer.drain(complete, 60)
            d.kill(15)
            self.assertEqual(d.wait(10), 0)
        finally:
            consumer.close()
            sim.stop()
        replays = [m["headers"]["nameko.replay_id"] for m in consumer.messages]
        self.assertEqual(published, COUNT)
        self.assertEqual(len(set(replays)), COUNT,
                         "every event arrives at least once")
        first = []
        seen = set()
        for r in replays:
            if r not in seen:
                seen.add(r)
                first.append(r)
        self.assertEqual(first, sorted(first), "first deliveries in order")
        print(f"{len(replays)} deliveries for {COUNT} events "
              f"({len(replays) - COUNT} re-deliveries after kill -9 at "
              f"{got_before})")


if __name__ == "__main__":
    unittest.main(verbosity=2)
