#!/usr/bin/env python3
"""Checks that src/ imports go one way down the declared layers, with no import cycle.

Every file under src/ is a node, named by its module path (`src/elbv2/actions.rs` is
`elbv2::actions`, `src/health/mod.rs` is `health`, `src/lib.rs` is `lib`). An edge A -> B means A
names something in B: a `use crate::…`, `use super::…` (`use super::*` included), `use child::…`
or a `crate::x::y` / `super::x` path in code. A path resolves to the longest module prefix that is
a file, so `crate::health::HealthTable` is an edge to `health` (the facade), and `crate::App` one to
`lib`. Comments and string literals are ignored, and so are `#[cfg(test)]` items (test modules may
build fixtures from any layer; only the code that ships is layered).

Fails when (a) the graph has a cycle (each is printed as a path), (b) a module imports from a
layer above its own and the edge is not in ALLOWED, or (c) a module belongs to no layer. Warns
when an ALLOWED entry matches no edge any more (delete it). Standard library only.

    python3 scripts/check-layers.py            # the check
    python3 scripts/check-layers.py --edges    # also print every edge
"""

import os
import re
import sys
from collections import deque

# The layers, lowest first; a module imports only from its own layer or layers below. A module
# belongs to the layer of its longest matching prefix (`elbv2::error` before `elbv2`).
# Mirrored in docs/ARCHITECTURE.md ("Module map").
LAYERS = [
    ("state", ["state", "config", "elbv2::arn", "elbv2::error", "health", "health::table",
               "health::target"]),
    ("semantics", ["elbv2", "ec2"]),
    ("store", ["store", "writer"]),
    ("routing", ["routing", "dataplane::rule_match", "dataplane::select", "dataplane::sticky",
                 "dataplane::snapshot", "traefik::render"]),
    ("data planes", ["dataplane", "traefik"]),
    ("prober", ["health::probe", "health::tls", "health::thresholds", "health::prober"]),
    ("server", ["api", "lib", "endpoints_cmd"]),
    ("main", ["main"]),
]

# Known bad edges that other work is removing: (from, to, why); a module name matches itself,
# `x::*` matches x and every module below it. An allowed edge is
# exempt from the layer rule and left out of the cycle search; it is printed as "allowed
# (pending)", and an entry that matches no edge any more is reported so it gets deleted.
ALLOWED = [
    ("dataplane::listeners", "dataplane", "the serving tasks take the DataPlane that mod.rs defines and "
     "whose apply binds them: a cycle until the request-path context moves to its own module"),
    ("dataplane::proxy", "dataplane", "takes the DataPlane (as listeners)"),
    ("dataplane::stream", "dataplane", "takes the DataPlane (as listeners)"),
    ("dataplane::udp", "dataplane", "takes the DataPlane (as listeners)"),
    ("dataplane::choose", "dataplane", "takes the DataPlane (as listeners)"),
    ("dataplane::upstream", "dataplane::error",
     "the body types live in error.rs, which maps upstream errors: a cycle until they move out"),
    ("traefik", "traefik::file",
     "SYNC_TIMEOUT is read from file.rs, which uses Traefik: a cycle (traefik/ is being reworked)"),
    ("api", "lib", "the handlers take the App that lib.rs defines and starts them with: a cycle "
     "until App's struct moves to its own module"),
]

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(rel):
    """`elbv2/actions.rs` -> `elbv2::actions`; `health/mod.rs` -> `health`; `lib.rs` -> `lib`."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "mod":
        parts.pop()
    return "::".join(parts)


def strip(src):
    """The code with comments and string/char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if src[i] == "\n" else "")
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:i + 8]) and not (i and (src[i - 1].isalnum() or src[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', src[i:]).group(1)
            end = src.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + "\n" * src.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:i + 12])
            if m:  # a char literal; otherwise a lifetime
                out.append("' '")
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_test_items(code):
    """Blanks every item marked `#[cfg(test)]` (a `mod tests { … }` block, a fn, a `mod x;`)."""
    out, pos = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", code):
        if m.start() < pos:
            continue
        out.append(code[pos:m.start()])
        i = m.end()
        while i < len(code) and code[i] not in "{;":
            i += 1
        if i < len(code) and code[i] == "{":
            depth = 0
            while i < len(code):
                depth += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
                if depth == 0:
                    break
        else:
            i += 1
        out.append("\n" * code.count("\n", m.start(), i))
        pos = i
    out.append(code[pos:])
    return "".join(out)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]] (`self` and `as x` dropped)."""
    tree = re.sub(r"\s*(::|\{|\}|,)\s*", r"\1", re.sub(r"\s+", " ", tree.strip()))
    paths = []

    def walk(prefix, s):
        depth, start, items = 0, 0, []
        for k, ch in enumerate(s):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                items.append(s[start:k])
                start = k + 1
        items.append(s[start:])
        for it in filter(None, items):
            brace = it.find("{")
            if brace >= 0:
                head = [p for p in it[:brace].split("::") if p]
                walk(prefix + head, it[brace + 1:it.rindex("}")])
            else:
                segs = [p for p in it.split(" as ")[0].split("::") if p]
                if segs and segs[-1] == "self":
                    segs.pop()
                paths.append(prefix + segs)

    walk([], tree)
    return paths


class Crate:
    def __init__(self, root):
        self.root = root
        self.files = {}  # module path -> relative file name
        for d, _, names in os.walk(root):
            for f in names:
                if f.endswith(".rs"):
                    rel = os.path.relpath(os.path.join(d, f), root)
                    self.files[module_of(rel)] = rel
        self.modules = set(self.files)

    def children(self, mod):
        """The names of the file modules directly below `mod` (`lib`'s are the top-level ones)."""
        if mod == "main":  # the binary's own crate: it reaches the library as `localelb::`
            return ["localelb"]
        base = "" if mod == "lib" else mod + "::"
        return sorted({m[len(base):] for m in self.modules
                       if m.startswith(base) and "::" not in m[len(base):]
                       and m not in ("lib", "main")})

    def resolve(self, here, segs):
        """The file module a path from module `here` lands in, or None (external/std)."""
        if not segs:
            return None
        cur = "" if here in ("lib", "main") else here
        head, rest = segs[0], segs[1:]
        if here == "main":
            if head != "localelb":
                return None
            head = "crate"
        if head == "crate":
            base = []
        elif head == "self":
            base = cur.split("::") if cur else []
        elif head == "super":
            base = cur.split("::")[:-1] if cur else []
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        elif "::".join(filter(None, [cur, head])) in self.modules:
            base, rest = (cur.split("::") if cur else []), segs
        else:
            return None
        full = base + [s for s in rest if s != "*"]
        for k in range(len(full), 0, -1):
            m = "::".join(full[:k])
            if m in self.modules:
                return m
        return "lib"

    def edges(self):
        """{(from, to): first line} over every file."""
        out = {}
        for mod, rel in sorted(self.files.items()):
            with open(os.path.join(self.root, rel), encoding="utf-8") as f:
                code = drop_test_items(strip(f.read()))
            spans = []
            for m in re.finditer(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", code):
                spans.append((m.start(), m.end()))
                line = code.count("\n", 0, m.start()) + 1
                for segs in expand_use(m.group(1)):
                    self.add(out, mod, self.resolve(mod, segs), line)
            masked = list(code)
            for a, b in spans:
                masked[a:b] = [" "] * (b - a)
            masked = "".join(masked)
            heads = ["crate", "super", "self"] + self.children(mod)
            pattern = r"(?<![\w:])(" + "|".join(heads) + r")((?:\s*::\s*(?:\w+|\*))+)"
            for m in re.finditer(pattern, masked):
                segs = [m.group(1)] + [s for s in re.split(r"\s*::\s*", m.group(2)) if s]
                line = masked.count("\n", 0, m.start()) + 1
                self.add(out, mod, self.resolve(mod, segs), line)
        return out

    @staticmethod
    def add(out, src, dst, line):
        if dst and dst != src and (src, dst) not in out:
            out[(src, dst)] = line


def layer_of(mod):
    best = None
    for idx, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if mod == p or mod.startswith(p + "::"):
                if best is None or len(p) > len(best[1]):
                    best = (idx, p)
    return None if best is None else best[0]


def matches(mod, pattern):
    if pattern.endswith("::*"):
        return mod == pattern[:-3] or mod.startswith(pattern[:-1])
    return mod == pattern


def allowed_entry(a, b):
    return next((e for e in ALLOWED if matches(a, e[0]) and matches(b, e[1])), None)


def cycles(nodes, graph):
    """One shortest cycle through each node that is on one, de-duplicated by rotation."""
    found, seen = [], set()
    for start in sorted(nodes):
        prev, q = {start: None}, deque([start])
        end = None
        while q and end is None:
            u = q.popleft()
            for v in sorted(graph.get(u, ())):
                if v == start:
                    end = u
                    break
                if v not in prev:
                    prev[v] = u
                    q.append(v)
        if end is None:
            continue
        path = [end]
        while path[-1] != start:
            path.append(prev[path[-1]])
        path.reverse()
        k = path.index(min(path))
        key = tuple(path[k:] + path[:k])
        if key not in seen:
            seen.add(key)
            found.append(list(key) + [key[0]])
    return found


def report_cycles(crate, edges):
    """Prints every cycle (allowed edges left out); True when there is one."""
    graph = {}
    for a, b in edges:
        if not allowed_entry(a, b):
            graph.setdefault(a, set()).add(b)
    found = cycles(crate.modules, graph)
    if not found:
        print("no cycles")
        return False
    print(f"error: {len(found)} import cycle(s):")
    for c in found:
        print("  cycle: " + " -> ".join(c))
        for a, b in zip(c, c[1:]):
            print(f"      {a} -> {b} ({crate.files[a]}:{edges[(a, b)]})")
    return True


def report_layers(crate, edges):
    """Prints allowed and upward edges and stale ALLOWED entries; True when one is upward."""
    used, violations = set(), []
    for (a, b), line in sorted(edges.items()):
        la, lb = layer_of(a), layer_of(b)
        if la is None or lb is None:
            continue
        entry = allowed_entry(a, b)
        desc = f"{a} ({LAYERS[la][0]}) -> {b} ({LAYERS[lb][0]})  {crate.files[a]}:{line}"
        if entry:
            used.add(entry)
            print(f"allowed (pending): {desc}: {entry[2]}")
        elif lb > la:
            violations.append(desc)
    for v in violations:
        print(f"error: upward import: {v}")
    if not violations:
        print("no upward imports outside ALLOWED")
    for e in ALLOWED:
        if e not in used:
            print(f"warning: ALLOWED entry {e[0]} -> {e[1]} matches no edge any more; delete it")
    return bool(violations)


def main():
    crate = Crate(os.path.normpath(ROOT))
    edges = crate.edges()
    print("layers (lowest first; a module imports only from its own layer or below):")
    for idx, (name, prefixes) in enumerate(LAYERS):
        print(f"  {idx} {name:<12} {', '.join(prefixes)}")
    print(f"{len(crate.modules)} modules, {len(edges)} edges (test modules excluded)")
    if "--edges" in sys.argv:
        for (a, b), line in sorted(edges.items()):
            print(f"  {a} -> {b}  ({crate.files[a]}:{line})")
    unassigned = sorted(m for m in crate.modules if layer_of(m) is None)
    for m in unassigned:
        print(f"error: module {m} ({crate.files[m]}) is in no layer; add it to LAYERS")
    failed = report_cycles(crate, edges)
    failed = report_layers(crate, edges) or failed or bool(unassigned)
    print("check-layers: FAILED" if failed else "check-layers: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
