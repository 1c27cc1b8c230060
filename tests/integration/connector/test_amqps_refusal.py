"""An amqps broker whose certificate is refused: doctor and run say that
the certificate was the reason (not trusted, or not naming the host), and
what to set, rather than "cannot connect". The broker is an openssl
s_server on a free port with a certificate made for the test."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import BIN, Daemon, Sim, free_port, wait_for  # noqa
from child import dies_with_parent  # noqa


def make_cert(workdir, name):
    """A self-signed certificate for DNS name @name; returns (cert, key)."""
    cert = os.path.join(workdir, "cert.pem")
    key = os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", f"/CN={name}", "-addext",
                    f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class TlsServer:
    """openssl s_server with @cert on a free port."""

    def __init__(self, cert, key, workdir):
        self.port = free_port()
        self.log = open(os.path.join(workdir, "s_server.log"), "w")
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}",
             "-cert", cert, "-key", key, "-quiet"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            preexec_fn=dies_with_parent)
        wait_for(lambda: listening(self.port), 20, "s_server did not listen")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self.log.close()


def config(sim, port, ca_file=None):
    ca = f'ca_file = "{ca_file}";' if ca_file else ""
    return f"""
service = {{ name = "tlstest"; }};
salesforce = {{ login_url = "{sim.url}"; username = "demo@sfsim.local";
  password = "demo-password"; security_token = "DEMOTOKEN";
  client_id = "sfsim-client-id"; client_secret = "sfsim-client-secret"; }};
amqp = {{ {ca} uri = "amqps://guest:tls-guest-pw@127.0.0.1:{port}/"; }};
streaming = {{ replay_store = "memory";
  entrypoints = ( {{ kind = "subscribe"; channel = "/u/Tls"; }} ); }};
log = {{ level = "info"; }};
"""


class AmqpsRefusal(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="sfc-tls-")
        cls.cert, key = make_cert(cls.work, "broker.other.example")
        cls.server = TlsServer(cls.cert, key, cls.work)
        cls.sim = Sim()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.sim.stop()

    def check(self, ca_file, reason):
        """doctor and run both name the certificate and @reason."""
        work = tempfile.mkdtemp(prefix="sfc-tls-", dir=self.work)
        text = config(self.sim, self.server.port, ca_file)
        daemon = Daemon(text, work)
        doctor = subprocess.run(
            [os.path.join(BIN, "sfconnector"), "doctor", "-c", daemon.path],
            capture_output=True, text=True, timeout=60)
        line = [ln for ln in doctor.stdout.splitlines()
                if ln.startswith("amqp:")]
        self.assertEqual(len(line), 1, doctor.stdout + doctor.stderr)
        self.assertIn("certificate", line[0])
        self.assertIn(reason, line[0])
        self.assertNotIn("tls-guest-pw", doctor.stdout + doctor.stderr)

        daemon.start()
        try:
            wait_for(lambda: "broker:" in daemon.output(), 30,
                     "run logged no broker failure")
        finally:
            rc, _ = daemon.stop_timed()
        out = daemon.output()
        first = [ln for ln in out.splitlines() if "broker:" in ln][0]
        self.assertIn("certificate", first)
        self.assertIn(reason, first)
        self.assertNotIn("tls-guest-pw", out)
        self.assertEqual(rc, 0, out)

    def test_untrusted_certificate(self):
        # No CA given: the system's bundle does not trust a self-signed one.
        self.check(None, "self-signed")

    def test_certificate_for_another_host(self):
        # Trusted (its own CA), but made for another name than 127.0.0.1.
        self.check(self.cert, "127.0.0.1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
