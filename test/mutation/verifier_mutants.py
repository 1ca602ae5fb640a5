#!/usr/bin/env python3
"""Mutation test of the verifier's comparisons (make mutation; not part of make test).

Flips every relational, equality and logical operator in src/verifier.cpp and
src/replay_cache.cpp, one at a time (< <=, > >=, == !=, && ||, each into its
partner), rebuilds only the core, the shared library and the two test programs
in a build directory of its own, from a private copy of the sources (the
worktree is never modified), and runs the C ABI and C++ test suites. A mutant is
killed when a test fails (or the build fails, or a test run crashes or times
out); survivors are listed with their line for review.

usage: test/mutation/verifier_mutants.py [--build-dir build-mutation] [--only FILE:LINE] [--list]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = ["src/verifier.cpp", "src/replay_cache.cpp"]
FLIP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "&&": "||", "||": "&&"}
# A binary operator written with a space on both sides (the project's style):
# this skips templates (vector<T>), ->, <<, >> and rvalue references (T&&).
OPERATOR = re.compile(r"(?<= )(<=|>=|==|!=|&&|\|\||<|>)(?= )")
TEST_PROGRAMS = ["ujwt_abi_tests", "ujwt_core_tests"]
TEST_TIMEOUT = 180


def code_only(line):
    """The line with string/char literal contents and // comments blanked
    (same length, so match offsets still index the real line)."""
    out, i, quote = [], 0, None
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                out.append("  ")
                i += 2
                continue
            out.append(c if c == quote else " ")
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            out.append(c)
        elif line.startswith("//", i):
            out.append(" " * (len(line) - i))
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)[: len(line)]


def mutants():
    for rel in TARGETS:
        with open(os.path.join(ROOT, rel)) as f:
            lines = f.read().split("\n")
        for no, line in enumerate(lines, 1):
            if line.lstrip().startswith("#"):
                continue
            for m in OPERATOR.finditer(code_only(line)):
                op = m.group(1)
                mutated = line[: m.start()] + FLIP[op] + line[m.end():]
                yield rel, no, op, FLIP[op], line.strip(), lines, mutated


def run(cmd, cwd, timeout=None):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return -1, "timeout"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-mutation"))
    ap.add_argument("--only", help="FILE:LINE, e.g. src/verifier.cpp:310")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--jobs", default=str(os.cpu_count() or 1))
    a = ap.parse_args()

    all_mutants = list(mutants())
    if a.only:
        f, _, ln = a.only.partition(":")
        all_mutants = [m for m in all_mutants if m[0] == f and (not ln or m[1] == int(ln))]
    if a.list:
        for rel, no, op, new, text, _, _ in all_mutants:
            print(f"{rel}:{no}: {op} -> {new}   {text}")
        print(f"{len(all_mutants)} mutants")
        return 0

    # A private copy of the tracked sources: the worktree is never touched,
    # so an interrupted run cannot leave a mutant behind.
    tree = os.path.join(a.build_dir, "tree")
    build = os.path.join(a.build_dir, "build")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        if rel.split("/")[0] in ("build", "build-mutation", "node_modules") or not os.path.isfile(os.path.join(ROOT, rel)):
            continue
        dst = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        src = os.path.join(ROOT, rel)
        if not os.path.exists(dst) or open(src, "rb").read() != open(dst, "rb").read():
            shutil.copy2(src, dst)
    rc, out = run(["cmake", "-S", tree, "-B", build, "-DCMAKE_BUILD_TYPE=Debug",
                   "-DCMAKE_CXX_FLAGS_DEBUG=-O0", "-DUPSTREAM_JWT_TESTS=ON"], ROOT)
    if rc != 0:
        print(out)
        return 2

    def build_and_test():
        rc, out = run(["cmake", "--build", build, "-j", a.jobs, "--target", *TEST_PROGRAMS], ROOT)
        if rc != 0:
            return "build failed", out
        for prog in TEST_PROGRAMS:
            rc, out = run([os.path.join(build, prog), "--gtest_brief=1"], build, TEST_TIMEOUT)
            if rc != 0:
                failed = [l for l in out.splitlines() if l.startswith("[  FAILED  ]")]
                return f"{prog}: " + (failed[0][13:].split(" ")[0] if failed else out.splitlines()[-1:] and "crash/timeout"), out
        return None, ""

    why, out = build_and_test()
    if why is not None:
        print(f"baseline does not pass: {why}\n{out[-3000:]}")
        return 2

    killed, survived = [], []
    start = time.time()
    for i, (rel, no, op, new, text, lines, mutated) in enumerate(all_mutants, 1):
        path = os.path.join(tree, rel)
        original = "\n".join(lines)
        with open(path, "w") as f:
            f.write("\n".join(lines[: no - 1] + [mutated] + lines[no:]))
        try:
            why, _ = build_and_test()
        finally:
            with open(path, "w") as f:
                f.write(original)
        tag = f"{rel}:{no}: {op} -> {new}"
        if why is None:
            survived.append((tag, text))
            print(f"[{i}/{len(all_mutants)}] SURVIVED {tag}   {text}", flush=True)
        else:
            killed.append(tag)
            print(f"[{i}/{len(all_mutants)}] killed   {tag}   ({why})", flush=True)
    build_and_test()  # leave the build matching the sources
    print(f"\nmutants: {len(all_mutants)}, killed: {len(killed)}, survived: {len(survived)} "
          f"({time.time() - start:.0f} s)")
    for tag, text in survived:
        print(f"  survived: {tag}   {text}")
    return 0 if not survived else 1


if __name__ == "__main__":
    sys.exit(main())
