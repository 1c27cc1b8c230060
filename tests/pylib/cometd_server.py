"""An independent CometD server (cometd-nodejs-server from npm, wrapped by
tests/cometd/server.js with Salesforce's replay extension and fault
switches) in front of sfsim: logins and REST go through to sfsim, the
Streaming API is the CometD server's."""
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from child import dies_with_parent

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "..", "cometd", "server.js")
MODULES = os.path.join(HERE, "..", "cometd", "node_modules")


class CometD:
    """The wrapper on a free port (or @port), retaining its events in a
    state file so that a restart on the same port replays them."""

    def __init__(self, upstream, config=None, timeout_ms=2000):
        self.dir = tempfile.mkdtemp(prefix="sfc-cometd-")
        self.state = os.path.join(self.dir, "events.jsonl")
        self.upstream = upstream
        self.config = config or {}
        self.timeout_ms = timeout_ms
        self.port = 0
        self.proc = None
        self.start()

    def start(self):
        url_file = os.path.join(self.dir, "url")
        if os.path.exists(url_file):
            os.unlink(url_file)
        self.log = open(os.path.join(self.dir, "cometd.log"), "a")
        self.proc = subprocess.Popen(
            ["node", SERVER, "--port", str(self.port), "--url-file", url_file,
             "--upstream", self.upstream, "--state", self.state,
             "--timeout", str(self.timeout_ms),
             "--config", json.dumps(self.config)],
            stdout=self.log, stderr=self.log,
            env=dict(os.environ, NODE_PATH=MODULES),
            preexec_fn=dies_with_parent)
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(url_file):
                with open(url_file) as f:
                    line = f.read()
                if line.endswith("\n"):
                    self.url = line.strip()
                    self.port = int(self.url.rsplit(":", 1)[1])
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("the CometD server did not start: " + self.output())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()

    def restart(self):
        """A new server process on the same port: every session is gone,
        the retained events are not."""
        self.stop()
        self.start()

    def control(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_ctl/" + path, data=data,
                                     method="POST" if data else "GET")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def configure(self, **switches):
        self.config.update(switches)
        return self.control("config", switches)

    def publish(self, channel, count, rate=0):
        return self.control("publish", {"channel": channel, "count": count,
                                        "rate": rate})

    def stats(self):
        return self.control("stats")

    def last_replay(self, channel):
        return self.stats()["channels"][channel]["last_replay"]

    def output(self):
        with open(os.path.join(self.dir, "cometd.log")) as f:
            return f.read()
