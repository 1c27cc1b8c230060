"""Helpers for integration tests driven from Python: run sfsim and the
sfconnector daemon on free ports, talk to sfsim's REST API and control
plane, and consume events exactly as a Nameko @event_handler does."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

from kombu import Connection, Exchange, Queue
from child import dies_with_parent
from tcp_relay import Relay

BIN = os.environ.get("SFC_BIN_DIR", os.path.join(os.path.dirname(__file__),
                                                 "..", "..", "build", "bin"))
AMQP = os.environ.get("SFC_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//")


class Sim:
    """sfsim on a free port, in a private directory; @seed (a dict, may be
    None) is written there as its --seed file."""

    def __init__(self, *args, env=None, seed=None):
        self.dir = tempfile.mkdtemp(prefix="sfc-py-")
        url_file = os.path.join(self.dir, "url")
        if seed is not None:
            seed_file = os.path.join(self.dir, "seed.json")
            with open(seed_file, "w") as f:
                json.dump(seed, f)
            args = ("--seed", seed_file, *args)
        self.log = open(os.path.join(self.dir, "sfsim.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "sfsim"), "--port", "0", "--url-file", url_file,
             *args], stdout=self.log, stderr=self.log,
            env=dict(os.environ, **(env or {})),
            preexec_fn=dies_with_parent)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(url_file):
                with open(url_file) as f:
                    line = f.read()
                if line.endswith("\n"):
                    self.url = line.strip()
                    break
            time.sleep(0.02)
        else:
            raise RuntimeError("sfsim did not start")
        self.token = None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self.log.close()

    def control(self, path, body=None, method=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data,
                                     headers={"Content-Type": "application/json"},
                                     method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def clear_faults(self):
        """Disarms every fault; requests a delay fault with "until_cleared"
        holds go on at once."""
        self.control("/_sim/fault", method="DELETE")

    def fault_relogins(self, fault):
        """Arms @fault (a /_sim/fault body without path and count) on every
        login from now on, then expires the sessions: the next call logs in
        again and meets it."""
        self.control("/_sim/fault", {**fault, "path": "^/services/oauth2/token",
                                     "count": -1})
        self.control("/_sim/expire_sessions", {})

    def counter(self, name):
        return self.control("/_sim/stats")["counters"].get(name, 0)

    def wait_counter(self, name, at_least, timeout):
        """Waits until counter @name reaches @at_least; AssertionError
        after @timeout seconds."""
        deadline = time.time() + timeout
        while self.counter(name) < at_least:
            if time.time() >= deadline:
                raise AssertionError(f"{name} stayed below {at_least} for "
                                     f"{timeout} s")
            time.sleep(0.05)

    def login(self):
        form = urllib.parse.urlencode({
            "grant_type": "password", "client_id": "sfsim-client-id",
            "client_secret": "sfsim-client-secret",
            "username": "demo@sfsim.local",
            "password": "demo-passwordDEMOTOKEN"}).encode()
        with urllib.request.urlopen(self.url + "/services/oauth2/token", form,
                                    timeout=30) as r:
            self.token = json.loads(r.read())["access_token"]

    def rest(self, method, path, body=None):
        if not self.token:
            self.login()
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + "/services/data/v60.0/" + path, data=data,
            method=method, headers={"Authorization": "Bearer " + self.token,
                                    "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return json.loads(raw) if raw else None


    def query(self, soql):
        """The first page of a SOQL query, as Salesforce answers it."""
        return self.rest("GET", "query?q=" + urllib.parse.quote(soql))

    def contacts_named(self, last_name):
        """Ids of the Contacts with this LastName."""
        page = self.query("SELECT Id FROM Contact WHERE LastName = "
                          f"'{last_name}'")
        return [r["Id"] for r in page["records"]]


class Daemon:
    """sfconnector run on a generated config."""

    def __init__(self, config_text, workdir):
        self.path = os.path.join(workdir, "sfconnector.conf")
        with open(self.path, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(workdir, "daemon.log")
        self.proc = None

    def start(self, env=None):
        """@env: the daemon's whole environment (the test's if None)."""
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "sfconnector"), "run", "-c", self.path],
            stdout=self.log, stderr=self.log, preexec_fn=dies_with_parent,
            env=env)

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        rc = self.proc.wait(timeout=timeout)
        self.log.close()
        return rc

    def stop_timed(self, timeout=60):
        """SIGTERM; returns (exit code, seconds until it exited). A daemon
        still running after @timeout seconds is killed."""
        t0 = time.time()
        self.kill(signal.SIGTERM)
        try:
            rc = self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.wait(10)
        return rc, time.time() - t0

    def output(self):
        with open(self.log_path) as f:
            return f.read()


def wait_for(cond, timeout, what, output=None):
    """Waits until @cond() is true, looking every 50 ms; AssertionError
    saying @what after @timeout seconds (with @output(), a daemon's log,
    when given)."""
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            if output is None:
                raise AssertionError(what)
            raise AssertionError(f"{what} within {timeout} s: {output()}")
        time.sleep(0.05)


def kill_daemon(d, timeout=None):
    """SIGKILL for @d (a Daemon, may be None) if it still runs; then waits
    up to @timeout seconds for it when @timeout is given."""
    if d and d.proc.poll() is None:
        d.kill()
        if timeout is not None:
            d.wait(timeout)


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on (for metrics.listen)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(listen, name):
    """Value of sfconnector_<name> from the daemon's /metrics on @listen."""
    with urllib.request.urlopen(f"http://{listen}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(f"sfconnector_{name} "):
                return int(line.split()[1])
    raise KeyError(name)


def metric_now(listen, name, default=-1):
    """metric(), or @default while the daemon has not published a snapshot
    with it (or /metrics is not up yet)."""
    try:
        return metric(listen, name)
    except (KeyError, OSError):
        return default


def broker_relay():
    """A Relay (tcp_relay) in front of the test broker, and the broker URI
    that goes through it."""
    u = urllib.parse.urlsplit(AMQP)
    relay = Relay(u.hostname, u.port or 5672)
    return relay, AMQP.replace(f"{u.hostname}:{u.port}",
                               f"127.0.0.1:{relay.port}")


def wait_rpc_ready(caller, timeout=20):
    """Until the responder has declared its queue, requests are unroutable:
    calls limits() until one is answered."""
    deadline = time.time() + timeout
    while True:
        try:
            caller.wait(caller.send("limits"), 1)
            return
        except TimeoutError:
            if time.time() > deadline:
                raise


def service_name():
    return "sfctest" + uuid.uuid4().hex[:10]


def rabbitmqctl(*args):
    """Runs rabbitmqctl against the local broker; raises on failure."""
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True,
                   timeout=120)


def memory_alarm(on, timeout=30):
    """Sets the broker's memory alarm (@on: it stops reading from
    publishing connections) or clears it, and waits until the broker
    reports it so."""
    rabbitmqctl("set_vm_memory_high_watermark", "0" if on else "0.4")

    def raised():
        r = subprocess.run(["rabbitmqctl", "-q", "eval",
                            "rabbit_alarm:get_alarms()."],
                           capture_output=True, text=True, timeout=60)
        return "resource_limit,memory" in r.stdout

    wait_for(lambda: raised() == on, timeout,
             "the broker's memory alarm " + ("raised" if on else "cleared"))


def blocked_connections():
    """How many client connections the broker holds blocked (they published
    while an alarm was in effect)."""
    r = subprocess.run(["rabbitmqctl", "-q", "list_connections", "state"],
                       capture_output=True, text=True, timeout=60)
    return sum(1 for line in r.stdout.split() if line.strip() == "blocked")


def base_config(sim, service, workdir, entrypoints, extra="", amqp="",
                uri=AMQP):
    """A daemon config on @sim; @amqp: more keys of the amqp group; @uri:
    the broker (the test broker unless given)."""
    return f"""
service = {{ name = "{service}"; }};
salesforce = {{ login_url = "{sim.url}"; username = "demo@sfsim.local";
  password = "demo-password"; security_token = "DEMOTOKEN";
  client_id = "sfsim-client-id"; client_secret = "sfsim-client-secret"; }};
amqp = {{ {amqp} uri = "{uri.rstrip('/') + '/'}"; }};
streaming = {{ replay_store = "file"; replay_file = "{workdir}/replay.json";
  entrypoints = ( {entrypoints} ); }};
log = {{ level = "info"; }};
{extra}
"""


class NamekoConsumer:
    """Queues declared exactly as @event_handler(source, event_type) on
    service "crm" declares them (service_pool handler type)."""

    def __init__(self, source, event_types, method="handle"):
        self.conn = Connection(AMQP)
        self.exchange = Exchange(source + ".events", type="topic",
                                 durable=True, auto_delete=False)
        self.queues = [
            Queue(f"evt-{source}-{et}--crm.{method}_{i}", exchange=self.exchange,
                  routing_key=et, durable=True, auto_delete=False)
            for i, et in enumerate(event_types)]
        self.messages = []
        self.consumer = self.conn.Consumer(self.queues, callbacks=[self._on],
                                           accept=["json"])
        self.consumer.consume()

    def _on(self, body, message):
        self.messages.append({
            "routing_key": message.delivery_info["routing_key"],
            "body": body,
            "content_type": message.properties.get("content_type"),
            "content_encoding": message.properties.get("content_encoding"),
            "delivery_mode": message.properties.get("delivery_mode"),
            "message_id": message.properties.get("message_id"),
            "headers": message.headers})
        message.ack()

    def drain(self, until, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline and not until(self.messages):
            try:
                self.conn.drain_events(timeout=0.5)
            except Exception:
                pass
        return self.messages

    def close(self):
        for q in self.queues:
            try:
                q.bind(self.conn.default_channel).delete()
            except Exception:
                pass
        try:
            self.exchange.bind(self.conn.default_channel).delete()
        except Exception:
            pass
        self.conn.release()


def wait_subscribed(sim, daemon, n=1, timeout=15):
    """Waits until the daemon holds @n subscriptions: sfsim saw the
    subscribes and the daemon logged their replies ("subscribed to", at the
    info level), so events published from now on reach it."""
    deadline = time.time() + timeout
    while (sim.counter("stream_subscribes") < n or
           len(re.findall(r"\] subscribed to ", daemon.output())) < n):
        if time.time() > deadline:
            raise AssertionError("no subscription: " + daemon.output())
        time.sleep(0.05)


def firehose_daemon(sim, service, work, channel, event_type,
                    replay="stored", extra="", amqp=""):
    """A daemon subscribed to @channel (created empty first) publishing its
    events as @event_type, from @replay (None: the default); @extra and
    @amqp as base_config's. Returns it started and listening."""
    sim.control("/_sim/firehose", {"channel": channel, "count": 0})
    replay_key = f' replay = "{replay}";' if replay else ""
    eps = (f'{{ kind = "subscribe"; channel = "{channel}"; '
           f'event_type = "{event_type}";{replay_key} }}')
    d = Daemon(base_config(sim, service, work, eps, extra=extra, amqp=amqp),
               work)
    d.start()
    wait_subscribed(sim, d)
    return d
