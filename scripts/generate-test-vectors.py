#!/usr/bin/env python3
"""Writes the keyspace and placement test vectors from an implementation that
shares no code with the Swift one, so that each checks the other and clients in
other languages can check themselves against both files.

    python3 scripts/generate-test-vectors.py
"""
import hashlib, json, math, os, struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
M64 = (1 << 64) - 1

# --- keys -------------------------------------------------------------------

def escape(raw: bytes) -> str:
    out = []
    for ch in raw.decode("utf-8", errors="surrogateescape"):
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:  # a byte that is not valid UTF-8
            out.append("%%%02X" % (cp - 0xDC00))
        elif ch in "%/" or cp < 0x20 or cp == 0x7F:
            out.append("%%%02X" % cp)
        else:
            out.append(ch)
    return "".join(out)

def cell_text(pointer: bytes, depth: int) -> str:
    if depth == 0:
        return "0/"
    prefix = int.from_bytes(pointer[:8], "big") >> (64 - depth)
    return "%d/%0*x" % (depth, (depth + 3) // 4, prefix)

def key_vector(input_text, account, resource, type_, primary: bytes, sort: bytes):
    collection = "/".join([account, resource, type_, escape(primary)])
    canonical = collection + ("/" + escape(sort) if sort else "")
    pointer = hashlib.sha512(collection.encode("utf-8", errors="surrogateescape")).digest()
    return {
        "input": input_text,
        "canonical": canonical,
        "account": account,
        "resource": resource,
        "type": type_,
        "primaryKeyHex": primary.hex(),
        "sortKeyHex": sort.hex(),
        "hashedBytes": collection,
        "pointer": pointer.hex(),
        "cells": {str(d): cell_text(pointer, d) for d in (0, 1, 8, 12, 20, 64)},
    }

KEYS = [
    ("acme/users/rnd/alice/v1", "acme", "users", "rnd", b"alice", b"v1"),
    ("acme/users/rnd/alice", "acme", "users", "rnd", b"alice", b""),
    ("acme/orders/lnr/queue-1", "acme", "orders", "lnr", b"queue-1", b""),
    ("a/abc/rnd/x", "a", "abc", "rnd", b"x", b""),
    ("acme/users/rnd/a%2Fb/2024%2F01", "acme", "users", "rnd", b"a/b", b"2024/01"),
    ("acme/users/rnd/100%25/50%25", "acme", "users", "rnd", b"100%", b"50%"),
    ("acme/users/rnd/%61lice", "acme", "users", "rnd", b"alice", b""),
    ("acme/users/rnd/caf%c3%a9", "acme", "users", "rnd", "café".encode(), b""),
    ("acme/Users.Table_1-x/rnd/k", "acme", "Users.Table_1-x", "rnd", b"k", b""),
    ("acme/users/rnd/%00%FF%7F%0A", "acme", "users", "rnd", b"\x00\xff\x7f\n", b""),
    ("acme/users/rnd/\u65e5\u672c/\U0001F600", "acme", "users", "rnd", "日本".encode(), "😀".encode()),
    ("acme/users/rnd/%E2%82A", "acme", "users", "rnd", b"\xe2\x82A", b""),
    ("acme/users/rnd/sp ace/with space", "acme", "users", "rnd", b"sp ace", b"with space"),
    ("t-1/" + "r" * 255 + "/rnd/" + "p" * 2048 + "/" + "s" * 1024, "t-1", "r" * 255, "rnd", b"p" * 2048, b"s" * 1024),
    ("a" * 64 + "/abc/lnr/k", "a" * 64, "abc", "lnr", b"k", b""),
]

INVALID = [
    ("Acme/users/rnd/alice", "account"),
    ("/users/rnd/alice", "account"),
    ("a" * 65 + "/users/rnd/alice", "account"),
    ("acme/us/rnd/alice", "resource"),
    ("acme/us%20ers/rnd/alice", "resource"),
    ("acme/" + "r" * 256 + "/rnd/alice", "resource"),
    ("acme/users/xyz/alice", "type"),
    ("acme/users/rnd", "primaryKey"),
    ("acme/users/rnd/", "primaryKey"),
    ("acme/users/rnd/" + "p" * 2049, "primaryKey"),
    ("acme/users/rnd/al%zzice", "primaryKey"),
    ("acme/users/rnd/alice/" + "s" * 1025, "sortKey"),
    ("acme/users/rnd/alice/v1/extra", "sortKey"),
    ("acme/users/rnd/alice/%4", "sortKey"),
    ("acme", "resource"),
]

# --- placement --------------------------------------------------------------

P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)

def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64

def xxh64(data: bytes, seed: int = 0) -> int:
    def rnd(acc, lane):
        return (rotl((acc + lane * P2) & M64, 31) * P1) & M64
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for j in range(4):
                v[j] = rnd(v[j], struct.unpack_from("<Q", data, i + 8 * j)[0])
            i += 32
        acc = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64
        for x in v:
            acc = ((acc ^ rnd(0, x)) * P1 + P4) & M64
    else:
        acc = (seed + P5) & M64
    acc = (acc + n) & M64
    while i + 8 <= n:
        acc ^= rnd(0, struct.unpack_from("<Q", data, i)[0])
        acc = (rotl(acc, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        acc ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        acc = (rotl(acc, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        acc ^= (data[i] * P5) & M64
        acc = (rotl(acc, 11) * P1) & M64
        i += 1
    acc ^= acc >> 33; acc = (acc * P2) & M64
    acc ^= acc >> 29; acc = (acc * P3) & M64
    acc ^= acc >> 32
    return acc

def fmix64(x):
    x ^= x >> 33; x = (x * 0xFF51AFD7ED558CCD) & M64
    x ^= x >> 33; x = (x * 0xC4CEB9FE1A85EC53) & M64
    x ^= x >> 33
    return x

def cell_hash(depth, prefix):
    return xxh64(bytes([depth]) + prefix.to_bytes(8, "big"), 0)

def score(key_hash, weight, ch):
    u = ((fmix64(key_hash ^ ch) >> 11) + 0.5) / 2.0**53
    return weight / -math.log(u)

def ranked(items, ch):
    """items: (id, hash, weight); best first: score descending, then id ascending (bytes)."""
    return sorted(items, key=lambda it: (-score(it[1], it[2], ch), it[0].encode()))

def flat(members, depth, prefix, r):
    ch = cell_hash(depth, prefix)
    order = ranked([(m["id"], xxh64(m["id"].encode(), 0), m["weight"]) for m in members], ch)
    zone = {m["id"]: m["zone"] for m in members}
    taken, zones = [], set()
    for mid, _, _ in order:
        if len(taken) < r and zone[mid] not in zones:
            taken.append(mid); zones.add(zone[mid])
    for mid, _, _ in order:
        if len(taken) < r and mid not in taken:
            taken.append(mid)
    return taken

def hierarchical(members, depth, prefix, r):
    ch = cell_hash(depth, prefix)
    zones = {}
    for m in members:
        zones.setdefault(m["zone"], []).append(m)
    zone_order = ranked([(z, xxh64(z.encode(), 1), sum(m["weight"] for m in ms)) for z, ms in zones.items()], ch)
    per_zone = [[mid for mid, _, _ in ranked([(m["id"], xxh64(m["id"].encode(), 0), m["weight"]) for m in zones[z]], ch)]
                for z, _, _ in zone_order]
    taken, rnd_i = [], 0
    while len(taken) < min(r, len(members)):
        for ids in per_zone:
            if rnd_i < len(ids) and len(taken) < r:
                taken.append(ids[rnd_i])
        rnd_i += 1
    return taken

def main():
    keys = {
        "description": "Tessera key vectors: pointer = SHA-512 of hashedBytes (UTF-8; the canonical, "
                       "percent-escaped account/resource/type/primaryKey); cells are the pointer's first "
                       "d bits as <depth>/<hex prefix, right-aligned, ceil(d/4) digits>. Generated by "
                       "scripts/generate-test-vectors.py.",
        "valid": [key_vector(*k) for k in KEYS],
        "invalid": [{"input": text, "part": part} for text, part in INVALID],
    }
    with open(os.path.join(ROOT, "Tests/KeyspaceTests/Vectors/keys.json"), "w") as f:
        json.dump(keys, f, indent=1, ensure_ascii=False)
        f.write("\n")

    members = [
        {"id": "node-%d" % i, "address": "127.0.0.1:%d" % (7100 + i), "zone": "zone-%s" % "abcd"[i % 4],
         "weight": [1.0, 1.0, 2.0, 0.5][i % 4] if i % 3 else 1.0}
        for i in range(1, 13)
    ]
    two_zones = [dict(m, zone="zone-%s" % "ab"[i % 2]) for i, m in enumerate(members[:5])]
    cases = []
    for name, ms in (("twelve members, four zones", members), ("five members, two zones", two_zones)):
        for depth, prefix in ((0, 0), (1, 1), (8, 0x2F), (12, 0x2FD), (20, 0xABCDE), (64, 0xFFFFFFFFFFFFFFFF)):
            for r in (1, 3, 5):
                cases.append({"members": name, "cell": "%d/%s" % (depth, ("%0*x" % ((depth + 3) // 4, prefix)) if depth else ""),
                              "replicas": r, "flat": flat(ms, depth, prefix, r),
                              "hierarchical": hierarchical(ms, depth, prefix, r)})
    placement = {
        "description": "Tessera placement vectors (see README 'Placement'): replica ids in order, preferred "
                       "leader first. Generated by scripts/generate-test-vectors.py.",
        "xxh64": [{"input": s, "seed": seed, "hash": "%016x" % xxh64(s.encode(), seed)}
                  for s in ("", "a", "node-1", "abcdefghijklmnopqrstuvwxyz0123456789-" * 2) for seed in (0, 1)],
        "memberSets": {"twelve members, four zones": members, "five members, two zones": two_zones},
        "cases": cases,
    }
    with open(os.path.join(ROOT, "Tests/PlacementTests/Vectors/placement.json"), "w") as f:
        json.dump(placement, f, indent=1)
        f.write("\n")

if __name__ == "__main__":
    main()
