#!/usr/bin/env python3
"""A small HSM behind the hsmspec process protocol (docs/protocol.md), standard library only.

It implements a subset of the spec: sessions (Login, Logout), cluster info (GetClusterInfo,
ListUsers), users (CreateUser, DeleteUser) and passwords (ChangeOwnPassword, ChangePassword).
Every other operation is refused, so test it with that subset switched on:

    hsmspec conform --sut-cmd "python3 conformance/examples/python_hsm.py" \
        --ops sessions,cluster,users,passwords

Copy it as the starting point of your own adapter: replace the `Cluster` class by calls into
your implementation and keep `main` (the protocol loop) as it is.
"""

import hashlib
import hmac
import json
import os
import re
import sys

# The versions this example speaks: 2 (a step's answer carries the observation of every HSM,
# operations it lacks answer `unsupported`) and 1.
PROTOCOL_VERSIONS = (1, 2)
PRECO_NAME, PRECO_PASSWORD, AU_NAME = "admin", "password", "app_user"
NAME_CHARS = re.compile(r"^[a-z0-9_]+$")


class Refused(Exception):
    """The request cannot be served (unknown operation, malformed arguments)."""


class Unsupported(Exception):
    """An operation of the spec this example does not have (version 2: `unsupported`)."""


class HsmError(Exception):
    """An error of SPEC section 3, by its name."""


def hash_password(password, salt=None):
    salt = salt or os.urandom(16)
    # A real HSM uses a slow hash with a high work factor; 1000 iterations keep tests fast.
    return salt, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)


class User:
    def __init__(self, role, password):
        self.role = role
        self.salt, self.hash = hash_password(password)
        self.failures = 0

    def set_password(self, password):
        self.salt, self.hash = hash_password(password)

    def password_is(self, password):
        return hmac.compare_digest(hash_password(password, self.salt)[1], self.hash)


class Hsm:
    def __init__(self, au_password):
        self.users = {AU_NAME: User("AU", au_password)}
        self.blank = True


# Who may run each operation (SPEC section 8); Login and Logout belong to no row.
ALLOWED = {
    "GetClusterInfo": None,  # everyone, logged in or not
    "ListUsers": None,
    "ChangeOwnPassword": {"PRECO", "CO", "CU", "AU"},
    "ChangePassword": {"CO"},
    "CreateUser": {"CO"},
    "DeleteUser": {"CO"},
}


class Cluster:
    def __init__(self, hsms, clients, au_password, policy):
        self.policy = policy
        self.activated = False
        self.hsms = [Hsm(au_password) for _ in range(hsms)]
        self.hsms[0].users[PRECO_NAME] = User("PRECO", PRECO_PASSWORD)
        self.hsms[0].blank = False
        # sessions[client][hsm]: the name logged in, or None.
        self.sessions = [[None] * hsms for _ in range(clients)]

    def logged_in_here(self, hsm, name):
        return any(row[hsm] == name for row in self.sessions)

    def name_ok(self, name):
        return 1 <= len(name) <= self.policy["name_max_chars"] and NAME_CHARS.match(name)

    def password_ok(self, password):
        p = self.policy
        return p["password_min_chars"] <= len(password) <= p["password_max_chars"]

    def step(self, client, h, op, args):
        hsm = self.hsms[h]
        me = self.sessions[client][h]
        role = hsm.users[me].role if me else None
        if op == "Login":
            if me:
                raise HsmError("AlreadyLoggedIn")
            name = args["name"].lower()
            user = hsm.users.get(name)
            if user is None:
                raise HsmError("BadCredentials")
            if user.failures >= self.policy["lockout_threshold"]:
                raise HsmError("LockedOut")
            if not user.password_is(args["password"]):
                user.failures += 1
                raise HsmError("BadCredentials")
            user.failures = 0
            self.sessions[client][h] = name
            return {"role": user.role}
        if op == "Logout":
            if not me:
                raise HsmError("NotLoggedIn")
            self.sessions[client][h] = None
            return {}
        if op not in ALLOWED:
            raise Unsupported("operation %s is not implemented by this example" % op)
        allowed = ALLOWED[op]
        if allowed is not None:
            if role is None:
                raise HsmError("NotLoggedIn")
            if role not in allowed:
                raise HsmError("Forbidden")
        if op == "GetClusterInfo":
            return {
                "activated": self.activated,
                "hsms": [{"index": i, "blank": x.blank} for i, x in enumerate(self.hsms)],
            }
        if op == "ListUsers":
            return {"users": [
                {"name": n, "role": u.role, "locked": self.locked(u)}
                for n, u in sorted(hsm.users.items())
            ]}
        if op == "ChangeOwnPassword":
            if not self.password_ok(args["password"]):
                raise HsmError("InvalidPassword")
            hsm.users[me].set_password(args["password"])
            if role == "PRECO":  # activation (D1)
                hsm.users[me].role = "CO"
                self.activated = True
            return {}
        name = args["name"].lower()
        if op == "ChangePassword":
            if not self.password_ok(args["password"]):
                raise HsmError("InvalidPassword")
            user = hsm.users.get(name)
            if user is None:
                raise HsmError("NoSuchUser")
            if user.role in ("AU", "PRECO"):
                raise HsmError("ProtectedUser")
            if name != me and self.logged_in_here(h, name):
                raise HsmError("TargetLoggedIn")
            user.set_password(args["password"])
            user.failures = 0
            return {}
        if op == "CreateUser":
            if not self.name_ok(name):
                raise HsmError("InvalidName")
            if args["role"] not in ("CO", "CU"):
                raise HsmError("InvalidRole")
            if not self.password_ok(args["password"]):
                raise HsmError("InvalidPassword")
            if name in hsm.users:
                raise HsmError("UserExists")
            if len(hsm.users) >= self.policy["max_users"]:
                raise HsmError("UserLimit")
            hsm.users[name] = User(args["role"], args["password"])
            return {}
        if op == "DeleteUser":
            user = hsm.users.get(name)
            if user is None:
                raise HsmError("NoSuchUser")
            if user.role in ("AU", "PRECO"):
                raise HsmError("ProtectedUser")
            if self.logged_in_here(h, name):
                raise HsmError("TargetLoggedIn")
            # No keys in this example, so never OwnsKeys.
            del hsm.users[name]
            return {}
        raise Unsupported("operation %s is not implemented by this example" % op)

    def locked(self, user):
        return user.failures >= self.policy["lockout_threshold"]

    def observe(self, h):
        hsm = self.hsms[h]
        return {
            "activated": self.activated,
            "blank": hsm.blank,
            "users": [
                {"name": n, "role": u.role, "failed_logins": u.failures, "locked": self.locked(u)}
                for n, u in sorted(hsm.users.items())
            ],
            "keys": [],
            "sessions": [{"client": c, "user": row[h]} for c, row in enumerate(self.sessions)],
        }


def handle(req, clusters, conn):
    kind = req.get("type")
    if kind == "hello":
        theirs = req.get("versions") or [req.get("version")]
        common = [v for v in PROTOCOL_VERSIONS if v in theirs]
        if not common:
            raise Refused("this example speaks protocol versions %s" % (PROTOCOL_VERSIONS,))
        if req.get("profile") is not None:
            raise Refused("this example implements no profile, only a subset of the spec")
        conn["version"] = max(common)
        # This example runs whatever limits the runner asks for.
        return {"version": conn["version"], "implementation": "python_hsm.py example",
                "policy": req["policy"]}
    if kind == "reset":
        which = req.get("cluster", 0)
        if which != 0:
            raise Unsupported("only one cluster: masking is not implemented by this example")
        clusters[0] = Cluster(req["hsms"], req["clients"], req["au_password"], req["policy"])
        return {"policy": req["policy"]}
    cluster = clusters.get(req.get("cluster", 0))
    if cluster is None:
        raise Refused("no cluster: send reset first")
    if kind == "observe":
        return cluster.observe(req["hsm"])
    if kind == "step":
        return cluster.step(req["client"], req["hsm"], req["op"], req.get("args", {}))
    raise Refused("unknown request type %r" % kind)


def main():
    clusters = {}
    conn = {"version": 1}
    for line in sys.stdin:
        if not line.strip():
            continue
        req_id = None
        req = {}
        try:
            req = json.loads(line)
            req_id = req.get("id")
            answer = {"id": req_id, "ok": handle(req, clusters, conn)}
        except HsmError as e:
            answer = {"id": req_id, "err": str(e)}
        except Unsupported as e:
            kind = "unsupported" if conn["version"] >= 2 else "refused"
            answer = {"id": req_id, kind: str(e)}
        except (Refused, KeyError, TypeError, ValueError, AttributeError) as e:
            answer = {"id": req_id, "refused": "%s: %s" % (type(e).__name__, e)}
        # Version 2: a step asked to observe answers every HSM of its cluster as well.
        if isinstance(req, dict) and req.get("observe") and req.get("type") == "step":
            cluster = clusters.get(req.get("cluster", 0))
            if cluster is not None:
                answer["observed"] = [cluster.observe(h) for h in range(len(cluster.hsms))]
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
