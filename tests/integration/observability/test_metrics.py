"""Every metric a running daemon serves on /metrics (RPC on, so every part
reports) is in docs/operations.md's table with the same type and labels,
and every metric the table names is served."""
import os
import re
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

SRC = os.environ["SFC_SOURCE_DIR"]
sys.path.insert(0, os.path.join(SRC, "tests", "pylib"))
sys.path.insert(0, os.path.join(SRC, "tests", "unit", "observability"))
from sfc_harness import (Daemon, Sim, base_config, free_port,  # noqa: E402
                         service_name, wait_subscribed)
from test_observability import documented_metrics  # noqa: E402


def served(text):
    """{name: (type, labels)} from Prometheus text."""
    types, labels = {}, {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            types[m.group(1)] = m.group(2)
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(\{(.*)\})? \S+$", line)
        if m:
            names = re.findall(r"(\w+)=\"", m.group(3) or "")
            labels.setdefault(m.group(1), set()).update(names)
        elif line and not line.startswith("#"):
            raise AssertionError("not Prometheus text: " + line)
    return {n: (types.get(n), sorted(labels.get(n, ()))) for n in labels}


class MetricsDocumented(unittest.TestCase):
    def test_served_metrics_are_the_documented_ones(self):
        work = tempfile.mkdtemp(prefix="sfc-metrics-")
        sim = Sim("--connect-timeout", "2000")
        listen = "127.0.0.1:%d" % free_port()
        daemon = Daemon(base_config(
            sim, service_name(), work,
            '{ kind = "handle_sobject_notification"; sobject_type = "Contact"; }',
            extra='rpc = { enabled = true; }; metrics = { listen = "%s"; };'
            % listen), work)
        daemon.start()
        try:
            wait_subscribed(sim, daemon)
            deadline = time.time() + 20
            while True:
                try:
                    with urllib.request.urlopen("http://%s/metrics" % listen,
                                                timeout=5) as r:
                        text = r.read().decode()
                    if "sfconnector_build_info" in text:
                        break
                except (urllib.error.URLError, ConnectionError):
                    pass
                self.assertLess(time.time(), deadline, daemon.output())
                time.sleep(0.2)
            got = served(text)
            doc = documented_metrics()
            self.assertEqual(sorted(set(got) - set(doc)), [],
                             "served but not in docs/operations.md")
            self.assertEqual(sorted(set(doc) - set(got)), [],
                             "documented but not served")
            for name in doc:
                self.assertEqual(got[name], doc[name], name)
        finally:
            daemon.kill(15)
            daemon.wait(10)
            sim.stop()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
