"""The metrics endpoint cannot be starved: 1,100 idle connections from one
address leave /healthz answering to everyone else at once, and connections
that never send a request are closed after a timeout, so even a prober
behind the flooding address gets its answer back."""
import os
import resource
import socket
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (Daemon, Sim, base_config, free_port,  # noqa
                         service_name)

FLOOD = 1100
IDLE_TIMEOUT_S = 10  # the daemon's idle connection timeout


def healthz(listen, timeout=2):
    """The status /healthz answers, or None when no answer came."""
    try:
        with urllib.request.urlopen(f"http://{listen}/healthz",
                                    timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def flood(port, source, n):
    """@n idle connections from @source (127.0.0.x) to the endpoint."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def open_count(socks):
    """How many of @socks the server has not closed."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            n += s.recv(1) != b""
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


class MetricsFlood(unittest.TestCase):
    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 4 * FLOOD)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        self.work = tempfile.mkdtemp(prefix="sfc-flood-")
        self.sim = Sim(env={"SFSIM_CDC": "0"})
        self.sim.control("/_sim/firehose", {"channel": "/topic/Flood",
                                            "count": 0})
        self.port = free_port()
        self.listen = f"127.0.0.1:{self.port}"
        eps = ('{ kind = "subscribe"; channel = "/topic/Flood"; '
               'event_type = "flood_event"; }')
        cfg = base_config(self.sim, service_name(), self.work, eps,
                          extra=f'metrics = {{ listen = "{self.listen}"; }};')
        self.d = Daemon(cfg, self.work)
        self.d.start()
        deadline = time.time() + 30
        while healthz(self.listen) != 200:
            self.assertLess(time.time(), deadline, self.d.output())
            time.sleep(0.1)
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        self.d.kill(15)
        self.d.wait(10)
        self.sim.stop()

    def test_flood_from_one_address_does_not_starve_others(self):
        self.socks = flood(self.port, "127.0.0.2", FLOOD)
        self.assertGreater(len(self.socks), FLOOD // 2)
        # Every probe answers while the flood holds its connections.
        for _ in range(5):
            t0 = time.time()
            self.assertEqual(healthz(self.listen), 200, self.d.output())
            self.assertLess(time.time() - t0, 2.0)
            time.sleep(0.3)

    def test_idle_connections_time_out(self):
        """The prober shares the flooding address: its answer waits at most
        for the idle connections' timeout."""
        self.socks = flood(self.port, "127.0.0.1", FLOOD)
        t0 = time.time()
        while healthz(self.listen, timeout=1) != 200:
            self.assertLess(time.time() - t0, IDLE_TIMEOUT_S + 10,
                            self.d.output())
            time.sleep(0.2)
        print(f"answered after {time.time() - t0:.1f} s", file=sys.stderr)
        # The connections that never sent a request are closed.
        deadline = time.time() + IDLE_TIMEOUT_S + 10
        while open_count(self.socks) > 0:
            self.assertLess(time.time(), deadline)
            time.sleep(0.5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
