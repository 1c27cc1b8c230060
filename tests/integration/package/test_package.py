"""The .deb: `cpack -G DEB` makes sfconnector_<version>_amd64.deb; dpkg
installs it (programs, man pages, conffiles in /etc/sfconnector, the unit,
the sfconnector system user owning /var/lib/sfconnector); the packaged
`sfconnector run` on the packaged configuration, as that user and with the
credentials in its environment, publishes sfsim's changes as Nameko events
and stores its replay position; dpkg -r keeps configuration, user and state,
dpkg -P takes them away, and the machine is as it was before the test.

Runs as root, or through `sudo -n` (as scripts/install-deps.sh does). Another
run of this test on the machine waits for the first (a lock file): two dpkg
sessions of one package would undo each other."""
import fcntl
import glob
import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.environ["SFC_SOURCE_DIR"], "tests",
                                "pylib"))
from sfc_harness import AMQP, NamekoConsumer  # noqa: E402

CPACK, BUILD, VERSION = sys.argv[1], sys.argv[2], sys.argv[3]
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                      text=True, check=True).stdout.strip()
DEB = "sfconnector_%s_%s.deb" % (VERSION, ARCH)

# Everything the package puts on the machine, beside dpkg's own records.
PATHS = [
    "/usr/bin/sfconnector", "/usr/bin/sfsim", "/etc/sfconnector",
    "/etc/default/sfconnector", "/var/lib/sfconnector",
    "/usr/lib/systemd/system/sfconnector.service", "/usr/include/sfc",
    "/usr/share/doc/sfconnector", "/usr/share/pkgconfig/sfconnector-plugin.pc",
    "/usr/share/man/man8/sfconnector.8", "/usr/share/man/man5/sfconnector.conf.5",
    "/usr/share/man/man1/sfsim.1", "/usr/share/sfconnector",
]


# Commands that need root: as they are when we are root, else through sudo.
ROOT = [] if os.geteuid() == 0 else ["sudo", "-n"]


def sh(*cmd, check=True, timeout=120, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode,
                                                    p.stdout, p.stderr))
    return p


def stat(path):
    """Owner, group and mode of @path (which may be readable by root only)."""
    return sh(*ROOT, "stat", "-c", "%U %G %a", path).stdout.strip()


def read(path):
    with open(path) as f:
        return f.read()


def installed():
    p = sh("dpkg-query", "-W", "-f=${db:Status-Status}", "sfconnector",
           check=False)
    return p.returncode == 0 and p.stdout not in ("", "not-installed")


def account(kind, name):
    try:
        return (pwd.getpwnam if kind == "user" else grp.getgrnam)(name)
    except KeyError:
        return None


def machine_state():
    """What of the package is on the machine."""
    return {"paths": [p for p in PATHS if os.path.lexists(p)],
            "user": account("user", "sfconnector") is not None,
            "group": account("group", "sfconnector") is not None,
            "dpkg": installed()}


CLEAN = {"paths": [], "user": False, "group": False, "dpkg": False}


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if ROOT and subprocess.run(ROOT + ["true"]).returncode != 0:
            raise AssertionError("the package test installs with dpkg: run "
                                 "it as root or with password-less sudo")
        cls.lock = open("/var/lock/sfconnector-package-test.lock", "w")
        fcntl.flock(cls.lock, fcntl.LOCK_EX)
        state = machine_state()
        if state != CLEAN:
            raise AssertionError(
                "sfconnector is already on this machine (%s); the test would "
                "take it away: remove it first (dpkg -P sfconnector)" % state)
        cls.work = tempfile.mkdtemp(prefix="sfc-deb-")

    @classmethod
    def tearDownClass(cls):
        if installed():
            sh(*ROOT, "dpkg", "--purge", "sfconnector", check=False)
        shutil.rmtree(cls.work, ignore_errors=True)
        fcntl.flock(cls.lock, fcntl.LOCK_UN)
        cls.lock.close()

    def test_build_install_run_remove_purge(self):
        # Build: the tree is built already, so cpack only installs and packs.
        sh(CPACK, "-G", "DEB", "-B", self.work, cwd=BUILD, timeout=240)
        deb = os.path.join(self.work, DEB)
        self.assertTrue(os.path.exists(deb),
                        "no %s in %s" % (DEB, os.listdir(self.work)))
        conffiles = sh("dpkg-deb", "-f", deb, "Package").stdout
        self.assertEqual(conffiles.strip(), "sfconnector")

        sh(*ROOT, "dpkg", "--install", deb)
        self.assertTrue(installed())
        self.check_installed()
        self.check_runs()

        # Remove: programs go, configuration, user and state stay.
        sh(*ROOT, "dpkg", "--remove", "sfconnector")
        self.assertFalse(os.path.exists("/usr/bin/sfconnector"))
        self.assertTrue(os.path.exists("/etc/sfconnector/sfconnector.conf"))
        self.assertIsNotNone(account("user", "sfconnector"))
        self.assertTrue(os.path.isdir("/var/lib/sfconnector"))

        # Purge: nothing is left.
        sh(*ROOT, "dpkg", "--purge", "sfconnector")
        self.assertEqual(machine_state(), CLEAN)

    def check_installed(self):
        for p in PATHS:
            self.assertTrue(os.path.lexists(p), p + " not installed")
        conffiles = sh("dpkg-query", "-W", "-f=${Conffiles}",
                       "sfconnector").stdout
        for c in ("/etc/sfconnector/sfconnector.conf",
                  "/etc/sfconnector/demo.conf", "/etc/default/sfconnector"):
            self.assertIn(c + " ", conffiles)
        user = account("user", "sfconnector")
        self.assertIsNotNone(user)
        self.assertLess(user.pw_uid, 1000, "not a system user")
        self.assertIsNotNone(account("group", "sfconnector"))
        self.assertEqual(stat("/var/lib/sfconnector"),
                         "sfconnector sfconnector 750")
        self.assertEqual(stat("/etc/default/sfconnector"), "root root 600")
        version = sh("/usr/bin/sfconnector", "--version").stdout
        self.assertTrue(version.startswith("sfconnector %s " % VERSION),
                        version)
        sh("man", "--warnings", "-P", "cat", "8", "sfconnector")
        if shutil.which("systemd-analyze"):
            # The unit's programs, paths and man pages exist.
            sh("systemd-analyze", "verify",
               "/usr/lib/systemd/system/sfconnector.service")

    def check_runs(self):
        """sfconnector run as the service would (systemd aside)."""
        sim_dir = os.path.join(self.work, "sim")
        os.mkdir(sim_dir)
        url_file = os.path.join(sim_dir, "url")
        sim = subprocess.Popen(["/usr/bin/sfsim", "--demo", "--port", "0",
                                "--url-file", url_file],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        consumer = NamekoConsumer("salesforce", ["salesforce_contact_created",
                                                 "salesforce_contact_updated"])
        log = open(os.path.join(self.work, "daemon.log"), "w+")
        daemon = None
        try:
            deadline = time.time() + 10
            while not (os.path.exists(url_file)
                       and read(url_file).endswith("\n")):
                self.assertLess(time.time(), deadline, "sfsim did not start")
                time.sleep(0.05)
            env = {"PATH": "/usr/bin:/bin",
                   "SF_LOGIN_URL": read(url_file).strip(),
                   "SF_USERNAME": "demo@sfsim.local",
                   "SF_PASSWORD": "demo-password",
                   "SF_SECURITY_TOKEN": "DEMOTOKEN",
                   "SF_CLIENT_ID": "sfsim-client-id",
                   "SF_CLIENT_SECRET": "sfsim-client-secret",
                   "AMQP_URI": AMQP.rstrip("/") + "/"}
            # As the service user; sudo passes SIGTERM on and returns the
            # daemon's exit status.
            run_as = (["sudo", "-n", "-u", "sfconnector", "-g", "sfconnector",
                       "--preserve-env=" + ",".join(env)] if ROOT else [])
            daemon = subprocess.Popen(
                run_as + ["/usr/bin/sfconnector", "run", "-c",
                          "/etc/sfconnector/sfconnector.conf"],
                env=env, cwd="/", stdout=log, stderr=log,
                **({} if ROOT else {"user": "sfconnector",
                                    "group": "sfconnector",
                                    "extra_groups": []}))
            got = consumer.drain(lambda m: len(m) >= 2, timeout=60)
            log.seek(0)
            self.assertGreaterEqual(len(got), 2, "no events; daemon log:\n" +
                                    log.read())
            self.assertEqual(got[0]["content_type"], "application/json")
            self.assertIn("Id", got[0]["body"])
            # The replay position lands in the state directory, as the user.
            store = "/var/lib/sfconnector/replay.json"
            deadline = time.time() + 30
            while sh(*ROOT, "test", "-e", store, check=False).returncode:
                self.assertLess(time.time(), deadline, "no " + store)
                time.sleep(0.1)
            self.assertEqual(stat(store).split()[0], "sfconnector")
            daemon.send_signal(signal.SIGTERM)
            self.assertEqual(daemon.wait(timeout=10), 0)
        finally:
            if daemon and daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            consumer.close()
            sim.terminate()
            sim.wait(timeout=10)
            log.close()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
