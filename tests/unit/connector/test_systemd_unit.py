"""The systemd unit agrees with the daemon: systemd's own checker
(systemd-analyze verify) accepts it without a warning, it does not restart
the daemon for the exit codes a restart cannot cure (invalid configuration,
usage, a refused login) but does for a runtime failure, it stops with
SIGTERM and gives the daemon more than its documented stop bound, and a
reload sends SIGHUP."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

SRC = os.environ.get("SFC_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("SFC_BIN_DIR", os.path.join(SRC, "build", "bin"))
STOP_BOUND_S = 5  # docs/operations.md: SIGTERM ends the daemon within 5 s


def exit_codes():
    """SFC_EXIT_* from connector/src/daemon/cli.h."""
    with open(os.path.join(SRC, "connector", "src", "daemon", "cli.h")) as f:
        return {m.group(1): int(m.group(2)) for m in
                re.finditer(r"SFC_EXIT_([A-Z]+)\s*=\s*(\d+)", f.read())}


def unit_text(bindir, sysconfdir):
    """The unit as installed, with the built program as its ExecStart (the
    template's @...BINDIR@ and @...SYSCONFDIR@ variables filled in)."""
    with open(os.path.join(SRC, "etc", "sfconnector.service.in")) as f:
        text = f.read()

    def fill(m):
        name = m.group(1)
        if name.endswith("BINDIR"):
            return bindir
        if name.endswith("SYSCONFDIR"):
            return sysconfdir
        raise AssertionError(f"@{name}@: a template variable this test "
                             "does not know")
    return re.sub(r"@([A-Z_]+)@", fill, text)


def settings(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


class SystemdUnit(unittest.TestCase):
    def setUp(self):
        self.text = unit_text(os.path.abspath(BIN), "/etc")
        self.s = settings(self.text)

    def test_systemd_accepts_it(self):
        analyze = shutil.which("systemd-analyze")
        # scripts/install-deps.sh installs systemd: the check always runs.
        self.assertIsNotNone(analyze, "systemd-analyze is missing "
                             "(scripts/install-deps.sh installs systemd)")
        work = tempfile.mkdtemp(prefix="sfc-unit-")
        path = os.path.join(work, "sfconnector.service")
        with open(path, "w") as f:
            f.write(self.text)
        # --man=no: the man pages are installed with the package, not here.
        r = subprocess.run([analyze, "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        # It reports settings it cannot parse without failing: none here.
        self.assertEqual(r.stderr.strip(), "")

    def test_restart_policy_matches_exit_codes(self):
        codes = exit_codes()
        prevented = {int(x) for x in
                     self.s["RestartPreventExitStatus"].split()}
        self.assertEqual(prevented, {codes["CONFIG"], codes["USAGE"],
                                     codes["AUTH"]})
        self.assertNotIn(codes["RUNTIME"], prevented)
        self.assertNotIn(codes["OK"], prevented)
        self.assertEqual(self.s["Restart"], "on-failure")

    def test_stop_outlasts_the_daemons_bound(self):
        self.assertEqual(self.s.get("KillSignal", "SIGTERM"), "SIGTERM")
        m = re.fullmatch(r"(\d+)s?", self.s["TimeoutStopSec"])
        self.assertIsNotNone(m, self.s["TimeoutStopSec"])
        self.assertGreater(int(m.group(1)), STOP_BOUND_S)
        self.assertIn("-HUP", self.s["ExecReload"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
