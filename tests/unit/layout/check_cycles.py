"""No two files of a module include or call each other, directly or round
a longer loop: the include graph of its sources and the call graph of its
static library (which object file uses a symbol another defines, read
with nm) have no cycle. Where the sources are grouped in directories
(connector/src/config/, ...), the groups have none either: the arrows
between groups go one way.

usage: check_cycles.py SRC_DIR LIBRARY [SRC_DIR LIBRARY ...]"""
import collections
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def cycles(edges):
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def include_graph(src):
    """file -> files it includes, for every .c/.h under @src (an include
    resolves against the including file's directory, then @src and each
    directory under it, as the module's include path does)."""
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith((".c", ".h")):
                files[os.path.relpath(os.path.join(root, n), src)] = \
                    os.path.join(root, n)
    dirs = sorted({os.path.dirname(f) for f in files})
    edges = {}
    for rel, path in files.items():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        targets = set()
        for inc in INCLUDE.findall(text):
            for d in [os.path.dirname(rel)] + dirs:
                cand = os.path.normpath(os.path.join(d, inc))
                if cand in files:
                    targets.add(cand)
                    break
        edges[rel] = targets
    return edges


def call_graph(lib):
    """object file -> object files whose symbols it uses."""
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True,
                         check=True).stdout
    defined, used = {}, collections.defaultdict(set)
    for line in out.splitlines():
        m = re.match(r"[^:]+:([^:]+\.o):\s*(?:[0-9a-fA-F]+)?\s+(\w)\s+(\S+)$",
                     line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        if kind == "U":
            used[obj].add(sym)
        elif kind in "TDBRVWC":
            defined[sym] = obj
    edges = collections.defaultdict(set)
    for obj, syms in used.items():
        for s in syms:
            if s in defined and defined[s] != obj:
                edges[obj].add(defined[s])
    return edges


def group_graph(src, includes, calls):
    """group -> groups its files include or call (a file's group: the
    directory under @src it is in); empty when the sources are flat."""
    group = {f: f.split(os.sep)[0] for f in includes if os.sep in f}
    if not group:
        return {}
    by_object = {os.path.basename(f) + ".o": g for f, g in group.items()}
    edges = collections.defaultdict(set)
    for f, targets in includes.items():
        for t in targets:
            if f in group and t in group and group[f] != group[t]:
                edges[group[f]].add(group[t])
    for o, targets in calls.items():
        for t in targets:
            a, b = by_object.get(o), by_object.get(t)
            if a and b and a != b:
                edges[a].add(b)
    return edges


def main(args):
    if not args or len(args) % 2:
        print(__doc__)
        return 2
    bad = 0
    for src, lib in zip(args[::2], args[1::2]):
        includes, calls = include_graph(src), call_graph(lib)
        for kind, graph in (("include", includes), ("call", calls),
                            ("group", group_graph(src, includes, calls))):
            for c in cycles(graph):
                print(f"{src}: {kind} cycle: {' <-> '.join(c)}")
                bad += 1
    print("no cycles" if not bad else f"{bad} cycle(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
