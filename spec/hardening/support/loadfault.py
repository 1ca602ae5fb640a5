#!/usr/bin/python3
"""Load and fault runs through the real gateway (dev/gateway) in front of a
verifying upstream (examples/nginx-lua, the native verifier with request
binding), driven by wrk with spec/hardening/support/wrk_mix.lua.

    loadfault.py SCENARIO --logdir DIR [--duration S] [--connections N] [--port P]

SCENARIO:
  load     steady load, no fault
  reload   mid-run: the gateway's secret is rotated (new secret, new kid, a
           marker claim) and nginx is reloaded with SIGHUP; the upstream holds
           both keys, as a service does during a rotation
  upstream mid-run: the upstream is SIGKILLed, stays down 3 s, is restarted
  worker   mid-run: one of the two gateway workers is SIGKILLed

Prints one JSON object: the wrk counts (ok / missing / invalid / non2xx /
s502 / socket errors), the upstream's own /__stats, and what the fault did.
Secrets are random per run and are appended to DIR/../secrets.list (for the
secrets-grep spec), never printed. Every process started here is stopped by
pid on exit.
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

CONFIG = """_format_version: "3.0"
services:
  - name: orders
    url: http://127.0.0.1:{up}
    routes:
      - name: orders
        paths: [/orders]
    plugins:
      - name: upstream-jwt
        config:
          algorithm: HS256
          secret: "{{vault://env/hardening-gw-secret}}"
          key_id: k1
          ttl: 60
          max_body_size: 16777216
consumers:
  - username: anonymous
plugins:
  - name: key-auth
    config:
      key_names: [apikey]
      anonymous: anonymous
"""


def secret():
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


class Proc:
    """A process in its own session, logging to a file, stopped by pid."""

    def __init__(self, name, argv, log, env):
        self.name, self.argv, self.log_path, self.env = name, argv, log, env
        self.p = None

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.p = subprocess.Popen(self.argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=self.env, cwd=REPO,
                                  start_new_session=True)
        return self

    def kill_hard(self):
        # The whole session: run scripts and dev/gateway have nginx children.
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait()
        self.logf.close()

    def stop(self):
        if self.p is None or self.p.poll() is not None:
            return
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait()
        self.logf.close()


def http_get(url, timeout=2, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_http(url, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.p.poll() is not None:
            raise RuntimeError("%s exited: see %s" % (proc.name, proc.log_path))
        try:
            http_get(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("%s not answering at %s" % (proc.name, url))


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return sorted(out)


def nginx_master(gateway):
    """dev/gateway's nginx master and its prefix directory."""
    for pid in children(gateway.p.pid):
        # nginx rewrites its argv into a title ("nginx: master process
        # /usr/sbin/nginx -p PREFIX/ ..."), so read it as one string.
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        m = re.search(r"nginx.* -p (\S+)", cmdline)
        if m:
            return pid, m.group(1).rstrip("/")
    raise RuntimeError("no nginx master under dev/gateway")


def rotate(prefix, new_secret, marker):
    """What a Kong reload with a rotated config does: the plugin gets a new
    secret (given directly instead of the vault reference), a new key_id, and
    a marker claim so the upstream's answers show which config signed.
    dev/gateway's master reloads the declarative config kept in its prefix."""
    path = os.path.join(prefix, "kong.yml")
    with open(path) as f:
        doc = yaml.safe_load(f)
    done = False
    for svc in doc.get("services") or []:
        for p in svc.get("plugins") or []:
            if p["name"] == "upstream-jwt":
                p["config"]["secret"] = new_secret
                p["config"]["key_id"] = "k2"
                p["config"]["claims"] = {"hardening_keyset": marker}
                done = True
    if not done:
        raise RuntimeError("no upstream-jwt plugin in the gateway's config")
    tmp = path + ".new"
    with open(tmp, "w") as f:
        yaml.safe_dump(doc, f)
    os.replace(tmp, path)


def run_wrk(port, duration, conns, log, env):
    argv = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % duration, "--timeout", "20s",
            "-s", os.path.join(HERE, "wrk_mix.lua"), "http://127.0.0.1:%d" % port]
    f = open(log, "wb")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    return p, f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["load", "reload", "upstream", "worker"])
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--port", type=int, default=21000)
    ap.add_argument("--lib", default=os.environ.get("UPSTREAM_JWT_LIB")
                    or os.path.join(REPO, "build", "libupstream_jwt.so"))
    a = ap.parse_args()
    os.makedirs(a.logdir, exist_ok=True)
    gw_port, up_port = a.port, a.port + 1
    keydir = tempfile.mkdtemp(prefix="upstream-jwt-hardening-keys-")
    s1, s2 = secret(), secret()
    # The secrets-grep spec looks for these in every log of the suite.
    with open(os.path.join(os.path.dirname(a.logdir.rstrip("/")), "secrets.list"), "a") as f:
        f.write(s1 + "\n" + s2 + "\n")
    for name, s in (("k1", s1), ("k2", s2)):
        with open(os.path.join(keydir, name), "w") as f:
            f.write(s)
    cfg = os.path.join(keydir, "kong.yml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(up=up_port))

    env = dict(os.environ, UPSTREAM_JWT_LIB=os.path.abspath(a.lib), GATEWAY_WORKERS="2",
               HARDENING_GW_SECRET=s1)
    env.pop("UPSTREAM_JWT_SECRET", None)
    up_argv = [os.path.join(REPO, "examples", "nginx-lua", "run"), "--port", str(up_port),
               "--audience", "orders", "--key", "k1=" + os.path.join(keydir, "k1"),
               "--key", "k2=" + os.path.join(keydir, "k2"), "--stats"]
    tag = a.scenario
    upstream = Proc("upstream", up_argv, os.path.join(a.logdir, tag + "-upstream.log"), env).start()
    gateway = Proc("gateway", [os.path.join(REPO, "dev", "gateway"), "up", cfg, "--port", str(gw_port)],
                   os.path.join(a.logdir, tag + "-gateway.log"), env).start()
    result = {"scenario": tag, "duration_s": a.duration, "connections": a.connections}
    marker = "rotated-" + secret()[:8]
    wrk_env = dict(os.environ, WRK_MIX_MARK=marker if tag == "reload" else "")
    try:
        wait_http("http://127.0.0.1:%d/__stats" % up_port, upstream)
        wait_http("http://127.0.0.1:%d/" % gw_port, gateway)
        # Controls: the upstream really refuses what the counts below would
        # call "missing" and "invalid", so zero of each means something.
        st_m, b_m = http_get("http://127.0.0.1:%d/orders/x" % up_port)
        st_i, b_i = http_get("http://127.0.0.1:%d/orders/x" % up_port,
                             headers={"X-Upstream-JWT": "e30.e30.AAAA"})
        result["control"] = {"unsigned": [st_m, json.loads(b_m).get("error")],
                             "forged": [st_i, json.loads(b_i).get("error")]}
        _, b0 = http_get("http://127.0.0.1:%d/__stats" % up_port)
        stats_before = json.loads(b0)
        master, prefix = nginx_master(gateway)
        workers_before = children(master)
        wrk, wrk_log = run_wrk(gw_port, a.duration, a.connections,
                               os.path.join(a.logdir, tag + "-wrk.log"), wrk_env)
        fault = {}
        time.sleep(a.duration / 3.0)
        if tag == "reload":
            rotate(prefix, s2, marker)
            os.kill(master, signal.SIGHUP)
            fault["reloaded_at_s"] = round(a.duration / 3.0, 1)
            # The new master cycle loads Kong's schema library and plugins before it starts
            # workers, and the old ones finish their requests first: wait for the swap.
            deadline = time.time() + 20
            while time.time() < deadline and set(children(master)) & set(workers_before):
                time.sleep(0.2)
            fault["workers_before"] = workers_before
            fault["workers_after"] = children(master)
        elif tag == "upstream":
            upstream.kill_hard()
            t0 = time.time()
            time.sleep(3)
            upstream = Proc("upstream", up_argv, upstream.log_path, env).start()
            wait_http("http://127.0.0.1:%d/__stats" % up_port, upstream)
            fault["upstream_down_s"] = round(time.time() - t0, 2)
        elif tag == "worker":
            victim = workers_before[0]
            os.kill(victim, signal.SIGKILL)
            fault["killed_worker"] = victim
            deadline = time.time() + 10
            while time.time() < deadline:
                now = children(master)
                if len(now) == len(workers_before) and victim not in now:
                    break
                time.sleep(0.1)
            fault["workers_before"] = workers_before
            fault["workers_after"] = children(master)
            fault["respawned"] = len(fault["workers_after"]) == len(workers_before) \
                and victim not in fault["workers_after"]
        out, _ = wrk.communicate(timeout=a.duration + 120)
        wrk_log.write(out)
        wrk_log.close()
        m = re.search(rb"^RESULT (\{.*\})$", out, re.M)
        if wrk.returncode != 0 or not m:
            raise RuntimeError("wrk failed (exit %s): %s" % (wrk.returncode, out[-2000:].decode("utf-8", "replace")))
        result["wrk"] = json.loads(m.group(1))
        status, body = http_get("http://127.0.0.1:%d/__stats" % up_port)
        stats = json.loads(body)
        if tag != "upstream":  # a restarted upstream starts counting from zero
            stats = {k: stats[k] - stats_before.get(k, 0) for k in stats}
        # What the upstream saw from wrk's run (the controls above excluded).
        result["upstream_stats"] = stats
        # Recovery: after the fault, plain requests are signed and verified.
        after = {}
        for i in range(20):
            st, _ = http_get("http://127.0.0.1:%d/orders/after/%d" % (gw_port, i), timeout=10)
            after[str(st)] = after.get(str(st), 0) + 1
        result["after"] = after
        result["fault"] = fault
        result["gateway_alive"] = gateway.p.poll() is None
    finally:
        gateway.stop()
        upstream.stop()
        shutil.rmtree(keydir, ignore_errors=True)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
