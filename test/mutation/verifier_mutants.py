#!/usr/bin/env python3
"""Mutation test of the verifier's comparisons (make mutation; not part of make test).

Flips every relational, equality and logical operator in src/verifier.cpp,
src/replay_cache.cpp and the verifier's fast path (the flat JSON scanner in
src/json_util.cpp, base64url_decode_into and its SSSE3 block decoder in
src/base64url.cpp), one at a time (< <=, > >=, == !=, && ||, each into its
partner), and runs the C ABI and C++ test suites (ujwt_abi_tests,
ujwt_core_tests) against each mutant. A mutant is killed when a test fails, a
test program crashes or times out, or the mutant does not build; survivors are
listed with their line for review. Everything happens in a private copy of the
sources under the build directory: the worktree is never modified.

Two phases, so a run takes minutes rather than hours on a small machine:
1. relational and equality operators, as mutant schemata: each site `a OP b`
   is compiled once as `a OP M<k> OP b`, where M<k> (a tag type) captures `a`
   and applies OP, or its flip when the environment says UJWT_MUTANT=k. The
   tag binds exactly as the operator did (same precedence, left to right), so
   mutant k behaves as the textual flip; one build serves every mutant.
2. && and ||, which cannot be overloaded without losing short-circuiting:
   one rebuild per mutant (only the core, the library and the two tests).

usage: test/mutation/verifier_mutants.py [--build-dir DIR] [--only FILE:LINE]
                                         [--phase schemata|logical|all] [--list]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = ["src/verifier.cpp", "src/replay_cache.cpp", "src/json_util.cpp", "src/base64url.cpp"]
# Files mutated only in some regions, each from the first line matching its
# start pattern up to the next line matching its end pattern (exclusive):
# the rest of those files is not the verifier's, and their constexpr tables
# cannot go through the runtime mutant switch.
REGIONS = {
    "src/json_util.cpp": [(r"^std::uint64_t name_key\(", r"^template <class Json>")],
    "src/base64url.cpp": [(r"std::size_t decode_ssse3\(", r"^bool have_ssse3\("),
                          (r"^bool base64url_decode_into\(", r"^bool base64url_decode_to\(")],
}
FLIP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "&&": "||", "||": "&&"}
# A binary operator written with a space on both sides (the project's style):
# this skips templates (vector<T>), ->, <<, >> and rvalue references (T&&).
OPERATOR = re.compile(r"(?<= )(<=|>=|==|!=|&&|\|\||<|>)(?= )")
TEST_PROGRAMS = ["ujwt_abi_tests", "ujwt_core_tests"]
# Mutants that no input can tell from the original, keyed by (file, the
# line's code, operator): reported as equivalent, not as survivors.
EQUIVALENT = {
    ("src/verifier.cpp", "if (std::nearbyint(v) == v && std::fabs(v) < 9.0e15)", "<"):
        "message formatting: at |v| = 9e15 exactly both branches print 9000000000000000",
    ("src/verifier.cpp",
     "none = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c) == \"none\"[i];", ">="):
        "only 'A' changes, and a name containing 'A' or 'a' is never \"none\" either way",
    ("src/verifier.cpp",
     "none = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c) == \"none\"[i];", "<="):
        "only 'Z' changes, and a name containing 'Z' or 'z' is never \"none\" either way",
    ("src/verifier.cpp", "for (std::size_t i = 0; i < array.count; ++i)", "<"):
        "checks one element more, which can only make the scanner decline; the parser then "
        "gives the same verdict",
    ("src/verifier.cpp", "if (room > sizeof s.inline_buf) {", ">"):
        "a token filling the stack buffer exactly is decoded on the heap instead, with the same result",
    ("src/json_util.cpp",
     "return key_a == key_b && size_a == size_b && (size_a <= 8 || std::memcmp(a, b, size_a) == 0);", "<="):
        "a name of exactly 8 bytes is then compared by memcmp as well, with the same answer",
    ("src/json_util.cpp", "while (end_ - p_ >= 16) {", ">="):
        "performance only: the last 16 bytes go to the byte loop, which stops at the same byte",
    ("src/json_util.cpp", "if (static_cast<std::size_t>(end_ - p_) >= word.size() &&", ">="):
        "a literal ending the text is declined either way: the object's '}' must follow it",
    ("src/json_util.cpp", "if (text.size() > UINT32_MAX) return false;  // sizes are kept in 32 bits", ">"):
        "differs only for a text of exactly 4 GiB, beyond any token length",
    ("src/base64url.cpp", "if (n >= 16 && have_ssse3()) {", ">="):
        "performance only: a text of exactly 16 characters is decoded by the scalar loop instead",
    ("src/base64url.cpp", "for (; i + 16 <= n; i += 16) {", "<="):
        "performance only: a last block of exactly 16 characters is decoded by the scalar loop instead",
    ("src/base64url.cpp", "if (n >= 16 && have_ssse3()) {", "&&"):
        "on SSSE3 hardware (where these tests run) the SIMD decoder decodes nothing of a text "
        "under 16 characters and the scalar loop does it all; only a CPU without SSSE3 tells "
        "the two apart, by faulting",
}
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
        spans = [(1, len(lines))]
        if rel in REGIONS:
            spans = []
            for start, end in REGIONS[rel]:
                first = next(i for i, l in enumerate(lines, 1) if re.search(start, l))
                last = next(i for i, l in enumerate(lines, 1) if i > first and re.search(end, l)) - 1
                spans.append((first, last))
        for no, line in enumerate(lines, 1):
            if not any(a <= no <= b for a, b in spans) or line.lstrip().startswith("#"):
                continue
            for m in OPERATOR.finditer(code_only(line)):
                op = m.group(1)
                mutated = line[: m.start()] + FLIP[op] + line[m.end():]
                yield rel, no, op, FLIP[op], line.strip(), lines, mutated


SCHEMATA_HEADER = r"""// Generated by test/mutation/verifier_mutants.py: mutant schemata support.
#include <cstdlib>
namespace ujwt_mut {
inline int active() {
  static const int k = [] {
    const char* e = std::getenv("UJWT_MUTANT");
    return e ? std::atoi(e) : -1;
  }();
  return k;
}
enum { LT, LE, GT, GE, EQ, NE };
template <int K, int Op> struct M {};
template <class A, int K, int Op> struct P { const A& a; };
template <int Op, class A, class B> bool apply(const A& a, const B& b) {
  if constexpr (Op == LT) return a < b;
  if constexpr (Op == LE) return a <= b;
  if constexpr (Op == GT) return a > b;
  if constexpr (Op == GE) return a >= b;
  if constexpr (Op == EQ) return a == b;
  if constexpr (Op == NE) return a != b;
}
constexpr int flip(int op) { return op == LT ? LE : op == LE ? LT : op == GT ? GE : op == GE ? GT : op == EQ ? NE : EQ; }
#define UJWT_MUT_OP(TOK, OP)                                                          \
  template <class A, int K> P<A, K, OP> operator TOK(const A& a, M<K, OP>) { return {a}; } \
  template <class A, class B, int K> bool operator TOK(const P<A, K, OP>& p, const B& b) {  \
    return active() == K ? apply<flip(OP)>(p.a, b) : apply<OP>(p.a, b);                  \
  }
UJWT_MUT_OP(<, LT)
UJWT_MUT_OP(<=, LE)
UJWT_MUT_OP(>, GT)
UJWT_MUT_OP(>=, GE)
UJWT_MUT_OP(==, EQ)
UJWT_MUT_OP(!=, NE)
#undef UJWT_MUT_OP
}  // namespace ujwt_mut
"""
OP_CODE = {"<": "LT", "<=": "LE", ">": "GT", ">=": "GE", "==": "EQ", "!=": "NE"}


def schemata_sources(sites):
    """{rel: text} with every relational/equality site k rewritten to go
    through M<k>."""
    by_file = {}
    for k, (rel, no, op, _new, _text, lines, _m) in enumerate(sites):
        by_file.setdefault(rel, (lines, {}))[1].setdefault(no, []).append((k, op))
    out = {}
    for rel, (lines, per_line) in by_file.items():
        new_lines = list(lines)
        for no, items in per_line.items():
            line = lines[no - 1]
            spans = [m for m in OPERATOR.finditer(code_only(line)) if m.group(1) in OP_CODE]
            assert len(spans) == len(items), (rel, no)
            for m, (k, op) in sorted(zip(spans, items), key=lambda t: -t[0].start()):
                assert m.group(1) == op
                tag = f"{op} ::ujwt_mut::M<{k}, ::ujwt_mut::{OP_CODE[op]}>{{}} {op}"
                line = line[: m.start()] + tag + line[m.end():]
            new_lines[no - 1] = line
        text = "\n".join(new_lines)
        # After the file's own first include, so its header stays first.
        first = text.index("#include")
        end = text.index("\n", first) + 1
        out[rel] = text[:end] + '#include "ujwt_mutation_schemata.hpp"\n' + text[end:]
    return out


def run(cmd, cwd, timeout=None, env=None):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout,
                           env=None if env is None else {**os.environ, **env})
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return -1, "timeout"


def copy_sources(tree):
    """The tracked sources, copied where they changed. -Werror is dropped: a
    mutant that merely draws a warning (say -Wparentheses for a || b && c)
    must be judged by the tests, not refused by the compiler."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        src = os.path.join(ROOT, rel)
        if rel.split("/")[0].startswith("build") or not os.path.isfile(src):
            continue
        with open(src, "rb") as f:
            data = f.read()
        if rel == "CMakeLists.txt":
            data = data.replace(b"$<$<COMPILE_LANGUAGE:C,CXX>:-Werror>", b"")
        dst = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst) or open(dst, "rb").read() != data:
            with open(dst, "wb") as f:
                f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-mutation"))
    ap.add_argument("--only", help="FILE[:LINE], e.g. src/verifier.cpp:310")
    ap.add_argument("--phase", choices=["schemata", "logical", "all"], default="all")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--jobs", default=str(os.cpu_count() or 1))
    a = ap.parse_args()

    sites = list(mutants())
    if a.only:
        f, _, ln = a.only.partition(":")
        sites = [m for m in sites if m[0] == f and (not ln or m[1] == int(ln))]
    if a.list:
        for rel, no, op, new, text, _, _ in sites:
            print(f"{rel}:{no}: {op} -> {new}   {text}")
        print(f"{len(sites)} mutants")
        return 0
    relational = [m for m in sites if m[2] in OP_CODE]
    logical = [m for m in sites if m[2] not in OP_CODE]

    def configure(tree, build):
        rc, out = run(["cmake", "-S", tree, "-B", build, "-DCMAKE_BUILD_TYPE=Debug",
                       "-DCMAKE_CXX_FLAGS_DEBUG=-O0", "-DUPSTREAM_JWT_TESTS=ON"], ROOT)
        if rc != 0:
            raise SystemExit(f"configure failed:\n{out}")

    def build_only(build):
        return run(["cmake", "--build", build, "-j", a.jobs, "--target", *TEST_PROGRAMS], ROOT)

    def test(build, env=None):
        for prog in TEST_PROGRAMS:
            rc, out = run([os.path.join(build, prog), "--gtest_brief=1"], build, TEST_TIMEOUT, env)
            if rc != 0:
                failed = [l[13:].split(" ")[0] for l in out.splitlines() if l.startswith("[  FAILED  ]")]
                return f"{prog}: " + (failed[0] if failed else "crash or timeout"), out
        return None, ""

    killed, survived, equivalent = [], [], []
    start = time.time()

    def record(i, total, site, why):
        rel, no, op, new, text = site[:5]
        tag = f"{rel}:{no}: {op} -> {new}"
        reason = EQUIVALENT.get((rel, text, op))
        if why is None and reason:
            equivalent.append((tag, reason))
            print(f"[{i}/{total}] equivalent {tag}   ({reason})", flush=True)
        elif why is None:
            survived.append((tag, text))
            print(f"[{i}/{total}] SURVIVED {tag}   {text}", flush=True)
        else:
            killed.append(tag)
            print(f"[{i}/{total}] killed   {tag}   ({why})", flush=True)

    if relational and a.phase in ("schemata", "all"):
        tree = os.path.join(a.build_dir, "schemata-tree")
        build = os.path.join(a.build_dir, "schemata")
        copy_sources(tree)
        with open(os.path.join(tree, "src", "ujwt_mutation_schemata.hpp"), "w") as f:
            f.write(SCHEMATA_HEADER)
        for rel, text in schemata_sources(relational).items():
            with open(os.path.join(tree, rel), "w") as f:
                f.write(text)
        configure(tree, build)
        rc, out = build_only(build)
        if rc != 0:
            print(f"schemata build failed:\n{out[-5000:]}")
            return 2
        why, out = test(build)
        if why is not None:
            print(f"schemata baseline (no mutant active) does not pass: {why}\n{out[-3000:]}")
            return 2
        print(f"schemata: {len(relational)} relational/equality mutants, one build", flush=True)
        for k, site in enumerate(relational):
            why, _ = test(build, {"UJWT_MUTANT": str(k)})
            record(k + 1, len(relational), site, why)

    if logical and a.phase in ("logical", "all"):
        tree = os.path.join(a.build_dir, "tree")
        build = os.path.join(a.build_dir, "build")
        copy_sources(tree)
        configure(tree, build)
        rc, out = build_only(build)
        why, out = test(build) if rc == 0 else ("build failed", out)
        if why is not None:
            print(f"baseline does not pass: {why}\n{out[-3000:]}")
            return 2
        print(f"logical: {len(logical)} && / || mutants, one rebuild each", flush=True)
        for i, (rel, no, op, new, text, lines, mutated) in enumerate(logical, 1):
            path = os.path.join(tree, rel)
            original = "\n".join(lines)
            with open(path, "w") as f:
                f.write("\n".join(lines[: no - 1] + [mutated] + lines[no:]))
            try:
                rc, out = build_only(build)
                why = test(build)[0] if rc == 0 else "does not build"
            finally:
                with open(path, "w") as f:
                    f.write(original)
            record(i, len(logical), (rel, no, op, new, text), why)
        build_only(build)  # leave the build matching the sources

    total = len(killed) + len(survived) + len(equivalent)
    print(f"\nmutants: {total}, killed: {len(killed)}, equivalent: {len(equivalent)}, "
          f"survived: {len(survived)} ({time.time() - start:.0f} s)")
    for tag, reason in equivalent:
        print(f"  equivalent: {tag}   ({reason})")
    for tag, text in survived:
        print(f"  survived: {tag}   {text}")
    return 0 if not survived else 1


if __name__ == "__main__":
    sys.exit(main())
