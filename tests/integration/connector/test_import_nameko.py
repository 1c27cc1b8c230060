"""A nameko-salesforce service's Nameko YAML config and source, converted by
`sfconnector import-nameko-config` and run unchanged, handle the same
events as nameko-salesforce's documented event proxy would: the same
routing keys, bodies and nameko.* headers, the same PushTopic (changes
made by the connector's own user left out), and replay positions under
the same Redis keys."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from sfc_harness import (AMQP, BIN, Daemon, NamekoConsumer, Sim,  # noqa
                         service_name, wait_subscribed)

SEED = {"users": [
    {"username": "demo@sfsim.local", "password": "demo-password",
     "token": "DEMOTOKEN", "firstName": "Demo", "lastName": "User"},
    {"username": "writer@sfsim.local", "password": "writer-password",
     "token": "WRITERTOKEN", "firstName": "Other", "lastName": "Writer"}]}

YAML = """
AMQP_URI: '{amqp}'
AUTO_DELETE_EVENT_EXCHANGES: false
max_workers: 10
SALESFORCE:
    USERNAME: ${{T_SF_USERNAME}}
    PASSWORD: ${{T_SF_PASSWORD}}
    SECURITY_TOKEN: ${{T_SF_TOKEN:DEMOTOKEN}}
    SANDBOX: False
    API_VERSION: '60.0'
    PUSHTOPIC_REPLAY_ENABLED: True
    PUSHTOPIC_REPLAY_REDIS_URI: redis://127.0.0.1:{redis}/11
    PUSHTOPIC_REPLAY_TTL: 3600
"""

SERVICE = '''
from nameko.events import EventDispatcher
from nameko_salesforce.streaming import handle_sobject_notification


class Service:
    name = "{name}"

    dispatch = EventDispatcher()

    @handle_sobject_notification('Lead')
    def handle_salesforce_updates(self, sobject_type, record_type,
                                  notification):
        event = 'salesforce_{{}}_{{}}'.format(
            sobject_type.lower(), notification['event']['type'])
        self.dispatch(event, notification['sobject'])
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """redis-server on a free port, nothing saved."""

    def __init__(self):
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--save", "",
                 "--appendonly", "no"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if self.call(0, "PING") == "PONG":
                        return
                except OSError:
                    time.sleep(0.05)
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError("redis-server did not start")

    def call(self, db, *args):
        """Runs @args on database @db; the reply (str, or None)."""
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            f = s.makefile("rwb")
            for cmd in (("SELECT", str(db)), args):
                f.write(f"*{len(cmd)}\r\n".encode() + b"".join(
                    f"${len(a)}\r\n{a}\r\n".encode() for a in cmd))
                f.flush()
                line = f.readline().decode().rstrip("\r\n")
            if line == "$-1":
                return None
            if line.startswith("$"):
                return f.read(int(line[1:]) + 2)[:-2].decode()
            return line[1:]

    def get(self, db, key):
        return self.call(db, "GET", key)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def login(sim, username, password):
    form = urllib.parse.urlencode({
        "grant_type": "password", "client_id": "sfsim-client-id",
        "client_secret": "sfsim-client-secret", "username": username,
        "password": password}).encode()
    with urllib.request.urlopen(sim.url + "/services/oauth2/token", form,
                                timeout=30) as r:
        return json.loads(r.read())["access_token"]


class ImportNamekoConfig(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="sfc-import-")
        self.sim = Sim("--connect-timeout", "2000", env={"SFSIM_CDC": "0"},
                       seed=SEED)
        self.redis = Redis()
        self.service = service_name()
        self.consumer = NamekoConsumer(
            self.service, ["salesforce_lead_created", "salesforce_lead_updated"])
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.kill(15)
            self.daemon.wait(10)
        self.consumer.close()
        self.redis.stop()
        self.sim.stop()

    def convert(self):
        yaml_path = os.path.join(self.work, "config.yaml")
        py_path = os.path.join(self.work, "service.py")
        with open(yaml_path, "w") as f:
            f.write(YAML.format(amqp="py" + AMQP, redis=self.redis.port))
        with open(py_path, "w") as f:
            f.write(SERVICE.format(name=self.service))
        r = subprocess.run([os.path.join(BIN, "sfconnector"),
                            "import-nameko-config", yaml_path, py_path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout, r.stderr

    def test_converted_config_handles_the_same_events(self):
        text, notes = self.convert()
        # What has no counterpart is named, not dropped silently.
        self.assertIn("# not mapped: max_workers:", text)
        self.assertIn("1 setting(s) not mapped", notes)
        # sfsim is not login.salesforce.com: the one edit a test needs.
        text = text.replace("salesforce = {", "salesforce = {\n  login_url = "
                            f'"{self.sim.url}";', 1)
        os.environ.update(T_SF_USERNAME="demo@sfsim.local",
                          T_SF_PASSWORD="demo-password")
        self.daemon = Daemon(text, self.work)
        check = subprocess.run([os.path.join(BIN, "sfconnector"),
                                "check-config", self.daemon.path],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.daemon.start()
        wait_subscribed(self.sim, self.daemon)

        topic = self.sim.query("SELECT Query FROM PushTopic WHERE Name = "
                               "'Lead'")["records"]
        self.assertEqual(len(topic), 1, self.daemon.output())
        self.assertIn("LastModifiedById !=", topic[0]["Query"])

        # The connector's own user: left out, as nameko-salesforce's
        # exclude_current_user default does. Then another user's Lead.
        self.sim.rest("POST", "sobjects/Lead",
                      {"LastName": "Own", "Company": "Self"})
        self.sim.token = login(self.sim, "writer@sfsim.local",
                               "writer-passwordWRITERTOKEN")
        lead = self.sim.rest("POST", "sobjects/Lead",
                             {"LastName": "Other", "Company": "Acme"})
        msgs = self.consumer.drain(lambda m: len(m) >= 1, 20)
        self.assertEqual(len(msgs), 1, self.daemon.output())
        m = msgs[0]
        self.assertEqual(m["routing_key"], "salesforce_lead_created")
        self.assertEqual(m["body"]["Id"], lead["id"])
        self.assertEqual(m["body"]["Name"], "Other")
        self.assertEqual(sorted(m["body"]), ["Id", "LastModifiedById",
                                             "LastModifiedDate", "Name"])
        self.assertEqual(m["content_type"], "application/json")
        stack = m["headers"]["nameko.call_id_stack"]
        self.assertEqual(len(stack), 1)
        self.assertTrue(stack[0].startswith(self.service + "."), stack)
        replay = m["headers"]["nameko.replay_id"]
        self.assertIsInstance(replay, int)
        # nameko-salesforce's context data: the Bayeux client id, which a
        # Nameko consumer finds in worker_ctx.context_data["client_id"].
        client_id = m["headers"].get("nameko.client_id")
        self.assertIsInstance(client_id, str, m["headers"])
        self.assertGreater(len(client_id), 0)
        # The session the daemon logged as it handshook.
        self.assertIn(f"Bayeux session {client_id} ", self.daemon.output())

        # The position, where nameko-salesforce keeps it.
        deadline = time.time() + 15
        stored = None
        while time.time() < deadline and stored != str(replay):
            stored = self.redis.get(11, "salesforce:replay_id:/topic/Lead")
            time.sleep(0.1)
        self.assertEqual(stored, str(replay))


if __name__ == "__main__":
    unittest.main(verbosity=2)
