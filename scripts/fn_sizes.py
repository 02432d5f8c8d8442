"""The largest functions of the tree, in lines: Rust (src/) from an ``fn`` item to its closing
brace, Python (python/) from a def or class to its last line (ast spans, decorators included).

    python3 scripts/fn_sizes.py [--rev COMMIT] [-n 12]

With ``--rev`` the files are read from that commit (``git show``), so a before/after table
needs no second checkout.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: An fn item's head: visibility and qualifiers, then ``fn name``.
FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")


def files(rev: str | None, top: str, suffix: str) -> Iterator[tuple[str, str]]:
    """(path, text) of every ``suffix`` file under ``top``, at ``rev`` or in the work tree."""
    if rev is None:
        for path in sorted((ROOT / top).rglob(f"*{suffix}")):
            yield str(path.relative_to(ROOT)), path.read_text()
        return
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, top],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        if name.endswith(suffix):
            text = subprocess.run(
                ["git", "show", f"{rev}:{name}"], cwd=ROOT, capture_output=True, text=True
            ).stdout
            yield name, text


def blank_literals(text: str) -> str:
    """``text`` with comments, strings and char literals blanked (newlines kept), so that
    braces inside them are not counted."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif (m := re.match(r'r(#*)"', text[i:])) and (i == 0 or not text[i - 1].isalnum()):
            close = '"' + m[1]
            j = text.find(close, i + len(m[0]))
            j = n if j < 0 else j + len(close)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i : j + 1]))
            i = j + 1
        elif c == "'" and (m := re.match(r"'(\\.[^']*|[^\\'])'", text[i:])):
            out.append(" " * len(m[0]))
            i += len(m[0])
        else:
            out.append(c)
            i += 1
    return "".join(out)


def rust_sizes(path: str, text: str) -> Iterator[tuple[int, str]]:
    code = blank_literals(text)
    for m in FN.finditer(code):
        # The body opens at the first `{` after the signature; a `;` first means no body.
        j = m.end()
        while j < len(code) and code[j] not in "{;":
            j += 1
        if j >= len(code) or code[j] == ";":
            continue
        depth, k = 0, j
        while k < len(code):
            depth += {"{": 1, "}": -1}.get(code[k], 0)
            if depth == 0:
                break
            k += 1
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, k) + 1
        yield last - first + 1, f"{path}:{first} fn {m[1]}"


def python_sizes(path: str, text: str) -> Iterator[tuple[int, str]]:
    kinds = {ast.FunctionDef: "def", ast.AsyncFunctionDef: "async def", ast.ClassDef: "class"}
    for node in ast.walk(ast.parse(text)):
        kind = kinds.get(type(node))
        if kind is None:
            continue
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        end = node.end_lineno or node.lineno
        yield end - first + 1, f"{path}:{first} {kind} {node.name}"


def largest(rev: str | None, count: int) -> list[tuple[int, str]]:
    sizes = [s for p, t in files(rev, "src", ".rs") for s in rust_sizes(p, t)]
    sizes += [s for p, t in files(rev, "python", ".py") for s in python_sizes(p, t)]
    return sorted(sizes, key=lambda s: (-s[0], s[1]))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="a commit to measure instead of the work tree")
    parser.add_argument("-n", type=int, default=12, help="how many (default 12)")
    args = parser.parse_args()
    print("| lines | where |\n|---:|---|")
    for size, where in largest(args.rev, args.n):
        print(f"| {size} | `{where}` |")


if __name__ == "__main__":
    main()
