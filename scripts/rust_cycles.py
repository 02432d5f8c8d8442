"""Finds import circles between the Rust modules of a folder (use crate::core::x / super::x /
crate::x): the shared hooks' check, kept here so that tests/test_architecture.py runs it.
Usage: python3 rust_cycles.py src/core   -> last line 'no circles' or 'circles: a -> b -> a; ...'"""

import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
mods = {}
for f in root.rglob("*.rs"):
    rel = f.relative_to(root).with_suffix("")
    name = "/".join(p for p in rel.parts if p != "mod") or "mod"
    mods[name] = f.read_text(errors="replace").split("#[cfg(test)]")[
        0
    ]  # unit tests may reach anywhere
top = {n.split("/")[0] for n in mods}
edges = {}
for n, text in mods.items():
    a = n.split("/")[0]
    depth = len(n.split("/"))  # core/x.rs: super:: is core; core/x/y.rs: super::super:: is core
    sup = r"super::" * depth
    for m in re.finditer(r"(?:crate::core::|(?<![a-z:])" + sup + r")([a-z_]+)", text):
        b = m.group(1)
        if b in top and b != a and not n.endswith("tests"):
            edges.setdefault(a, set()).add(b)
# Tarjan's strongly connected components over top-level modules
index, low, stack, on, comps, i = {}, {}, [], set(), [], [0]


def sc(v):
    index[v] = low[v] = i[0]
    i[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            sc(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop()
            on.discard(w)
            c.append(w)
            if w == v:
                break
        if len(c) > 1:
            comps.append(sorted(c))


for v in sorted(top):
    if v not in index:
        sc(v)
if "-v" in sys.argv:
    print({a: sorted(b) for a, b in sorted(edges.items())})
print("circles: " + "; ".join(" <-> ".join(c) for c in comps) if comps else "no circles")
