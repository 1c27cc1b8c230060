"""examples/plugins/ as a plugin author uses it: sfconnector installed into
a fresh prefix with `cmake --install`, the example configured with CMake
and pkg-config against that prefix only (the source tree's headers out of
reach), built with -Werror, and loaded by the installed sfconnector, whose
events from sfsim reach the plugin's handler."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ["SFC_SOURCE_DIR"]
sys.path.insert(0, os.path.join(SRC, "tests", "pylib"))
from sfc_harness import Sim, base_config, service_name  # noqa: E402

CMAKE, BUILD = sys.argv[1], sys.argv[2]


def sh(*cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode,
                                                    p.stdout, p.stderr))
    return p


class PluginExample(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="sfc-plugin-")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def test_example_builds_against_install_and_loads(self):
        prefix = os.path.join(self.work, "prefix")
        sh(CMAKE, "--install", BUILD, "--prefix", prefix)
        example = os.path.join(prefix, "share", "doc", "sfconnector",
                               "examples", "plugins")
        self.assertTrue(os.path.exists(os.path.join(example, "audit.c")))
        build = os.path.join(self.work, "build")
        env = dict(os.environ,
                   PKG_CONFIG_PATH=os.path.join(prefix, "share", "pkgconfig"))
        sh(CMAKE, "-S", example, "-B", build, env=env)
        sh(CMAKE, "--build", build, env=env)
        plugin = os.path.join(build, "audit.so")
        self.assertTrue(os.path.exists(plugin))
        cflags = sh("pkg-config", "--cflags", "sfconnector-plugin",
                    env=env).stdout
        self.assertIn(os.path.join(prefix, "share", "pkgconfig", "..", "..",
                                   "include"), cflags)

        sim = Sim("--demo")
        audit = os.path.join(self.work, "audit.log")
        conf = os.path.join(self.work, "sfconnector.conf")
        with open(conf, "w") as f:
            f.write(base_config(
                sim, service_name(), self.work,
                '{ kind = "handle_sobject_notification"; '
                'sobject_type = "Contact"; handler = "audit"; }').replace(
                    "entrypoints = (",
                    'plugins = [ "%s" ]; entrypoints = (' % plugin))
        log = open(os.path.join(self.work, "daemon.log"), "w+")
        daemon = subprocess.Popen(
            [os.path.join(prefix, "bin", "sfconnector"), "run", "-c", conf],
            env=dict(os.environ, SFC_AUDIT_FILE=audit), stdout=log,
            stderr=log)
        try:
            deadline = time.time() + 60
            while not (os.path.exists(audit) and os.path.getsize(audit)):
                if time.time() > deadline or daemon.poll() is not None:
                    log.seek(0)
                    self.fail("the plugin recorded nothing; daemon log:\n"
                              + log.read())
                time.sleep(0.1)
            with open(audit) as f:
                line = f.readline().split()
            # "<service>.<kind> <channel> <replay id> <record Id>"
            self.assertTrue(line[0].endswith(".handle_sobject_notification"),
                            line)
            self.assertEqual(line[1], "/topic/Contact")
            self.assertGreater(int(line[2]), 0)
            self.assertTrue(line[3].startswith("003"), line)
            daemon.send_signal(signal.SIGTERM)
            self.assertEqual(daemon.wait(timeout=10), 0)
            log.seek(0)
            self.assertIn("plugin %s loaded" % plugin, log.read())
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            sim.stop()
            log.close()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
