#!/usr/bin/env python3
"""A misbehaving implementation for the process-hygiene tests (conformance/tests/zoo.rs).

Usage: misbehave.py HSMSPEC MODE [N]

A proxy in front of `HSMSPEC serve-impl` (hsm-impl behind the process protocol): it forwards
every request and every answer, line by line, and misbehaves as MODE says:

  flaky     corrupts a step's answer about once in 150 steps (randomness from os.urandom, not
            from the trace: a rerun of the same trace need not fail)
  once      corrupts exactly one step's answer in its lifetime: the N-th (default 300)
  sticky    ignores `reset` of cluster 0 after the first: keeps the state across traces
  hang      stops answering at the N-th step (default 150) and sleeps
  crash     exits (status 3) at the N-th step (default 150)
  wrong-id  answers the N-th step (default 150) with another id, then carries on
  garbage   answers the N-th request (any type, default 3) with a line that is not JSON, then
            sleeps
  close     closes its output at the N-th request (default 3), then sleeps
  slow      sleeps 2 ms before each answer, and answers right
  deny-logout  answers every successful Logout with Forbidden: wrong the same way every time

A corrupted answer turns `ok` into the error Forbidden and an error into `ok` with nothing:
since hsm-impl conforms, either is a divergence. Every mode also starts a helper process that
outlives the proxy's input and output (as a real implementation's daemon might): a process left
behind shows whenever the runner does not kill the whole process group. Standard library only.
"""

import json
import os
import subprocess
import sys
import time

FOREVER = 3600


def corrupt(answer):
    a = json.loads(answer)
    # Protocol version 2: the observation the step's answer carries stays true.
    observed = {"observed": a["observed"]} if "observed" in a else {}
    if "ok" in a:
        a = dict({"id": a["id"], "err": "Forbidden"}, **observed)
    elif "err" in a:
        a = dict({"id": a["id"], "ok": {}}, **observed)
    return json.dumps(a, separators=(",", ":")) + "\n"


def chance(one_in):
    return int.from_bytes(os.urandom(4), "big") % one_in == 0


def main():
    hsmspec, mode = sys.argv[1], sys.argv[2]
    defaults = {"once": 300, "garbage": 3, "close": 3}
    n = int(sys.argv[3]) if len(sys.argv) > 3 else defaults.get(mode, 150)
    subprocess.Popen(
        ["sleep", str(FOREVER)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        [hsmspec, "serve-impl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    out = sys.stdout
    requests = steps = 0
    reset_seen = False
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        requests += 1
        step = req.get("type") == "step"
        steps += step
        nth_step = step and steps == n
        if mode == "hang" and nth_step:
            time.sleep(FOREVER)
        if mode == "crash" and nth_step:
            os._exit(3)
        if mode == "garbage" and requests == n:
            out.write("this is not JSON\n")
            out.flush()
            time.sleep(FOREVER)
        if mode == "close" and requests == n:
            out.close()
            os.close(1)
            time.sleep(FOREVER)
        if mode == "sticky" and req.get("type") == "reset" and req.get("cluster") == 0:
            if reset_seen:
                out.write(json.dumps({"id": req["id"], "ok": {}}, separators=(",", ":")) + "\n")
                out.flush()
                continue
            reset_seen = True
        # A system with a known deviation of its own, under a profile it names in hello
        # (serve-impl implements the whole spec: the proxy says hello for it).
        profiled = mode == "logout-always-ok" and req.get("type") == "hello"
        if profiled:
            req.pop("profile", None)
            line = json.dumps(req)
        server.stdin.write(line if line.endswith("\n") else line + "\n")
        server.stdin.flush()
        answer = server.stdout.readline()
        if not answer:
            sys.exit("misbehave.py: serve-impl closed its output")
        if (mode == "flaky" and step and chance(150)) or (mode == "once" and nth_step):
            answer = corrupt(answer)
        if mode == "wrong-id" and nth_step:
            a = json.loads(answer)
            a["id"] += 1000
            answer = json.dumps(a, separators=(",", ":")) + "\n"
        if mode == "deny-logout" and step and req.get("op") == "Logout" and '"ok"' in answer:
            answer = corrupt(answer)
        if profiled:
            a = json.loads(answer)
            a["ok"]["profile"] = "logout-always-ok-test"
            answer = json.dumps(a, separators=(",", ":")) + "\n"
        if (mode == "logout-always-ok" and step and req.get("op") == "Logout"
                and '"err":"NotLoggedIn"' in answer):
            a = json.loads(answer)
            del a["err"]
            a["ok"] = {}
            answer = json.dumps(a, separators=(",", ":")) + "\n"
        if mode == "slow":
            time.sleep(0.002)
        out.write(answer)
        out.flush()


if __name__ == "__main__":
    main()
