"""A redis-server for tests: on a port of 127.0.0.1 (a free one unless
given), its data in a directory of the test's, so that a stop and a start
keep what it held, as a Redis restarted in production does."""
import subprocess

from sfc_harness import free_port, wait_for
from child import dies_with_parent


class RedisServer:
    def __init__(self, workdir, port=None):
        self.dir = workdir
        self.port = port or free_port()
        self.proc = None

    @classmethod
    def holding(cls, workdir, port, values):
        """A server on @port that holds @values (key -> value) from its
        first answer on: they are saved by a server on another port first."""
        seed = cls(workdir)
        seed.start()
        for key, value in values.items():
            seed.call("SET", key, value)
        seed.stop()
        server = cls(workdir, port)
        server.start()
        return server

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir,
             "--dbfilename", "dump.rdb"], stdout=subprocess.DEVNULL,
            preexec_fn=dies_with_parent)
        wait_for(lambda: self.call("PING") == "PONG", 10,
                  f"redis-server did not start on port {self.port}")

    def stop(self):
        """Saves what it holds and ends; connections are refused after."""
        self.call("SHUTDOWN", "SAVE")
        self.proc.wait(timeout=10)
        self.proc = None

    def call(self, *args):
        """A command through redis-cli; its reply as text ("" for nil,
        None when the server cannot be reached)."""
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0 or r.stdout.startswith("Could not connect"):
            return None
        return r.stdout.strip()

    def get(self, key):
        return self.call("GET", key)

    def close(self):
        """Ends the server if it runs (a test's cleanup)."""
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

