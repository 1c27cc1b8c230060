"""Credentials never go over plain http to another machine: check-config
and run read the login URL's real host the same way (libcurl's URL parser),
refuse the same URLs with the same reason; run refuses at start, before any
connection (192.0.2.2 is a documentation address: a run that tried it
would hang in its connect timeout instead of exiting 1)."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import AMQP, BIN  # noqa

REFUSED = [
    # user info in front of a remote listener
    "http://127.0.0.1@192.0.2.2:47123",
    # names that only start like loopback
    "http://127.x.evil.example",
    "http://localhost.evil.example",
    # a private address is still another machine
    "http://10.11.12.13",
]


def config(login_url, workdir):
    path = os.path.join(workdir, "guard.conf")
    with open(path, "w") as f:
        f.write(f"""
service = {{ name = "guardtest"; }};
salesforce = {{ login_url = "{login_url}"; username = "u@example.com";
  password = "guard-password"; security_token = "GUARDTOKEN";
  client_id = "guard-client"; client_secret = "guard-secret"; }};
amqp = {{ uri = "{AMQP.rstrip('/') + '/'}"; }};
streaming = {{ replay_store = "memory";
  entrypoints = ( {{ kind = "subscribe"; channel = "/u/Guard"; }} ); }};
""")
    return path


def sfconnector(*args, timeout=20):
    return subprocess.run([os.path.join(BIN, "sfconnector"), *args],
                          capture_output=True, text=True, timeout=timeout)


class UrlGuard(unittest.TestCase):
    def test_check_config_and_run_agree(self):
        work = tempfile.mkdtemp(prefix="sfc-guard-")
        for url in REFUSED:
            with self.subTest(url=url):
                path = config(url, work)
                check = sfconnector("check-config", path)
                run = sfconnector("run", "-c", path)
                self.assertEqual(check.returncode, 1, check.stdout +
                                 check.stderr)
                self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
                for out in (check.stdout + check.stderr,
                            run.stdout + run.stderr):
                    self.assertIn("plain http", out)
                    self.assertNotIn("guard-password", out)
                    self.assertNotIn("guard-secret", out)

    def test_loopback_is_accepted_by_both(self):
        work = tempfile.mkdtemp(prefix="sfc-guard-")
        for url in ("http://127.0.0.2:1", "http://[::1]:1",
                    "http://localhost:1"):
            with self.subTest(url=url):
                check = sfconnector("check-config", config(url, work))
                self.assertEqual(check.returncode, 0, check.stdout +
                                 check.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
