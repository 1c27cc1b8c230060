"""The AMQP link owns rabbitmq-c: no source of the product but
connector/src/amqp/amqp_link*.c includes a rabbitmq-c header, and no object
of the connector's library but amqp_link's calls a rabbitmq-c function
(undefined amqp_* symbols, read with nm).

usage: check_amqp_owner.py ROOT CONNECTOR_LIBRARY"""
import os
import re
import subprocess
import sys

MODULES = ("common", "api", "streaming", "rpc", "connector")
# rabbitmq-c's headers, old (amqp.h, ...) and new (rabbitmq-c/amqp.h) paths
HEADER = re.compile(r'^\s*#\s*include\s*[<"]((?:rabbitmq-c/)?(?:amqp|amqp_framing|'
                    r'amqp_tcp_socket|amqp_ssl_socket|tcp_socket|ssl_socket|'
                    r'framing)\.h)[>"]', re.M)
OWNER = re.compile(r"^connector/src/amqp/amqp_link[a-z_]*\.c$")


def includers(root):
    found = []
    for mod in MODULES:
        for d, _, files in os.walk(os.path.join(root, mod)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    m = HEADER.search(fh.read())
                if m and not OWNER.match(rel):
                    found.append(f"{rel} includes {m.group(1)}")
    return found


def callers(lib):
    """Objects with an undefined amqp_* symbol that no object defines."""
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True,
                         check=True).stdout
    defined, used = set(), []
    for line in out.splitlines():
        m = re.match(r"^[^:]+:([^:]+):\s*(?:[0-9a-f]+)?\s+(\w)\s+(\S+)$", line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        if kind == "U":
            used.append((obj, sym))
        else:
            defined.add(sym)
    return sorted({f"{obj} calls rabbitmq-c's {sym}" for obj, sym in used
                   if sym.startswith("amqp_") and sym not in defined
                   and not obj.startswith("amqp_link")})


def main():
    root, lib = sys.argv[1], sys.argv[2]
    problems = includers(root) + callers(lib)
    # The check itself must see something: the owner does both.
    with open(os.path.join(root, "connector/src/amqp/amqp_link.c")) as fh:
        assert HEADER.search(fh.read()), "amqp_link.c includes no rabbitmq-c"
    assert any(o.startswith("amqp_link") and s.startswith("amqp_basic_")
               for o, s in _all_undefined(lib)), "nm saw no rabbitmq-c call"
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} place(s) use rabbitmq-c outside the AMQP link")
        return 1
    print("only the AMQP link uses rabbitmq-c")
    return 0


def _all_undefined(lib):
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        m = re.match(r"^[^:]+:([^:]+):\s+U\s+(\S+)$", line)
        if m:
            yield m.groups()


if __name__ == "__main__":
    sys.exit(main())
