"""A resource the daemon cannot get at start (an eventfd or a thread: the
process is out of descriptors or threads) ends it at once with exit code 4
and a message naming what failed. It never runs on with a part missing,
hangs or crashes. fault_inject.so (LD_PRELOAD) makes the Nth eventfd() or
pthread_create() call, and every later one, fail; each N from 1 is tried
until the daemon starts whole: subscribed, answering RPC, serving /healthz
and stopping with exit 0 on SIGTERM."""
import os
import sys
import tempfile
import time
import unittest
import urllib.request

FAULT_LIB = sys.argv.pop(1) if len(sys.argv) > 1 else None
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from nameko_rpc import RpcCaller  # noqa
from sfc_harness import (AMQP, Daemon, Sim, base_config, free_port,  # noqa
                         kill_daemon, service_name)

# Sanitizer runtimes want to be first in the list of libraries; the shim
# only wraps two libc calls, so the order does not matter to them.
PRELOAD_ENV = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
               ":verify_asan_link_order=0"}


def healthz_answers(listen):
    try:
        with urllib.request.urlopen(f"http://{listen}/healthz",
                                    timeout=2) as r:
            return r.status in (200, 503)
    except OSError:
        return False


class StartFailures(unittest.TestCase):
    def run_faults(self, var, words):
        """Tries N = 1, 2, ... of @var until the daemon starts whole; every
        N before must end the daemon with exit 4 and one of @words in its
        output."""
        sim = Sim(env={"SFSIM_CDC": "0"})
        service = service_name()
        caller = RpcCaller(AMQP, service)
        failures = 0
        try:
            for n in range(1, 40):
                work = tempfile.mkdtemp(prefix="sfc-startfail-")
                listen = f"127.0.0.1:{free_port()}"
                eps = '{ kind = "subscribe"; channel = "/u/StartFail"; }'
                extra = ("rpc = { enabled = true; max_workers = 2; };\n"
                         f'metrics = {{ listen = "{listen}"; }};')
                d = Daemon(base_config(sim, service, work, eps, extra=extra),
                           work)
                env = dict(os.environ, LD_PRELOAD=FAULT_LIB, **{var: str(n)})
                env.update(PRELOAD_ENV)
                d.start(env=env)
                try:
                    started = self.wait_exit_or_whole(d, caller, listen, n)
                    out = d.output()
                    if not started:
                        self.assertEqual(d.proc.returncode, 4,
                                         f"{var}={n}: {out}")
                        self.assertTrue(any(w in out for w in words),
                                        f"{var}={n}: no reason given: {out}")
                        failures += 1
                        reason = [ln for ln in out.splitlines()
                                  if " error " in ln][:1]
                        print(f"{var}={n}: exit 4: {reason}",
                              file=sys.stderr)
                        continue
                    d.kill(15)
                    self.assertEqual(d.wait(10), 0, f"{var}={n}: {out}")
                    # The daemon needs these calls: with every one failing
                    # (N = 1) it must not start.
                    self.assertGreater(failures, 0,
                                       f"{var}: the daemon started whole with "
                                       f"every call failing: {out}")
                    return failures
                finally:
                    kill_daemon(d, 10)
            self.fail(f"{var}: the daemon never started whole")
        finally:
            caller.close()
            sim.stop()

    def wait_exit_or_whole(self, d, caller, listen, n):
        """False once the daemon exited; True once it is subscribed, answers
        an RPC call and serves /healthz."""
        deadline = time.time() + 40
        subscribed = answered = False
        while time.time() < deadline:
            if d.proc.poll() is not None:
                return False
            if not subscribed:
                subscribed = "] subscribed to " in d.output()
            if subscribed and not answered:
                try:
                    caller.wait(caller.send("limits"), 0.5)
                    answered = True
                except TimeoutError:
                    pass
            if answered and healthz_answers(listen):
                return True
            time.sleep(0.05)
        self.fail(f"fault {n}: neither exited nor started whole within 40 s "
                  f"(subscribed {subscribed}, RPC answered {answered}): "
                  + d.output())

    def test_eventfd_failures(self):
        self.run_faults("SFC_FAULT_EVENTFD", ["eventfd", "Too many open files"])

    def test_thread_failures(self):
        self.run_faults("SFC_FAULT_PTHREAD_CREATE",
                        ["thread", "Resource temporarily unavailable"])


if __name__ == "__main__":
    unittest.main()
