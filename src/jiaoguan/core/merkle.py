"""Merkle tree hashes and proofs of RFC 9162 (Certificate Transparency 2.0), §2.1, over SHA-256.

Pure functions, no storage: ``core.audit`` keeps the leaves and the roots of the complete ("perfect") subtrees in
the database and hands a lookup to these functions. Indices count from 0; a perfect subtree is named by its level
(0 = a leaf, its width is 2**level) and its index at that level (its first leaf is ``index << level``).

- ``MTH(D[n])`` (§2.1.1): the leaf hash is SHA-256(0x00 || data), an inner node SHA-256(0x01 || left || right),
  the tree split at the largest power of two below n. ``root_of`` computes it from perfect subtrees.
- ``inclusion_path`` / ``verify_inclusion`` (§2.1.3): the audit path of leaf m in the tree of size n, and the
  verifier's algorithm of §2.1.3.2.
- ``consistency_proof`` / ``verify_consistency`` (§2.1.4): the proof that the tree of size m is a prefix of the
  tree of size n, and the verifier's algorithm of §2.1.4.2.

Why not a library: pymerkle (7.0) is storage-agnostic but its proofs are in its own format, not RFC 9162's audit
paths, so an outside auditor's RFC 9162 tooling could not check them; these ~150 lines follow the RFC's text and
are tested against its recursive definitions (tests/core/test_merkle.py).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

Node = tuple[int, int]  # (level, index)
Lookup = Callable[[Sequence[Node]], dict[Node, bytes]]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def empty_root() -> bytes:
    return hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


# --- the tree's state as its perfect subtrees ("frontier") ---------------------------------------------------------

def frontier_append(frontier: list[tuple[int, bytes]], leaf: bytes, leaf_index: int) -> list[tuple[Node, bytes]]:
    """Append a leaf hash to a frontier (the perfect subtrees of the tree, left to right, widths decreasing) in
    place; return the inner nodes this completed, as ((level, index), hash)."""
    frontier.append((0, leaf))
    made: list[tuple[Node, bytes]] = []
    while len(frontier) >= 2 and frontier[-1][0] == frontier[-2][0]:
        (level, right), (_, left) = frontier.pop(), frontier.pop()
        parent = node_hash(left, right)
        made.append(((level + 1, leaf_index >> (level + 1)), parent))
        frontier.append((level + 1, parent))
    return made


def frontier_root(frontier: Sequence[tuple[int, bytes]]) -> bytes:
    """MTH of the tree a frontier describes: its perfect subtrees folded from the right."""
    if not frontier:
        return empty_root()
    root = frontier[-1][1]
    for _, left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


def frontier_nodes(size: int) -> list[Node]:
    """The perfect subtrees a tree of ``size`` leaves is made of, left to right."""
    nodes, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


# --- MTH of a range, from perfect subtrees --------------------------------------------------------------------------

def _range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees that make up D[start:end] when ``start`` is where RFC 9162's recursion puts a subtree
    (a multiple of a power of two at least end - start)."""
    nodes = []
    while start < end:
        width = 1 << ((end - start).bit_length() - 1)
        nodes.append((width.bit_length() - 1, start // width))
        start += width
    return nodes


def _range_root(start: int, end: int, known: dict[Node, bytes]) -> bytes:
    hashes = [known[node] for node in _range_nodes(start, end)]
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def _path_ranges(m: int, start: int, end: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH(m, D[start:end]) as the ranges whose MTH it lists, leaf side first."""
    n = end - start
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path_ranges(m, start, start + k), (start + k, end)]
    return [*_path_ranges(m - k, start + k, end), (start, start + k)]


def _subproof_ranges(m: int, start: int, end: int, whole: bool) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], b) as ranges."""
    n = end - start
    if m == n:
        return [] if whole else [(start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof_ranges(m, start, start + k, whole), (start + k, end)]
    return [*_subproof_ranges(m - k, start + k, end, False), (start, start + k)]


def _fetch(ranges: Iterable[tuple[int, int]], lookup: Lookup) -> list[bytes]:
    ranges = list(ranges)
    needed = sorted({node for r in ranges for node in _range_nodes(*r)})
    known = lookup(needed)
    missing = [node for node in needed if node not in known]
    if missing:
        raise LookupError(f"the log has no subtree {missing[0]}")
    return [_range_root(start, end, known) for start, end in ranges]


def root_of(size: int, lookup: Lookup) -> bytes:
    """MTH(D[size]) from the perfect subtrees of the stored tree."""
    if size == 0:
        return empty_root()
    return _fetch([(0, size)], lookup)[0]


def inclusion_path(m: int, size: int, lookup: Lookup) -> list[bytes]:
    """The audit path of leaf m (0-based) in the tree of ``size`` leaves."""
    if not 0 <= m < size:
        raise ValueError("leaf index outside the tree")
    return _fetch(_path_ranges(m, 0, size), lookup)


def consistency_proof(m: int, size: int, lookup: Lookup) -> list[bytes]:
    """PROOF(m, D[size]): the tree of m leaves is a prefix of the tree of ``size`` leaves."""
    if not 0 < m <= size:
        raise ValueError("a consistency proof needs 0 < first size <= second size")
    return _fetch(_subproof_ranges(m, 0, size, True), lookup)


# --- verification (what an outside auditor runs) ------------------------------------------------------------------

def verify_inclusion(*, leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does the audit path lead from the leaf hash to the root?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(*, first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of ``first`` leaves (``first_root``) a prefix of the tree of ``second``?"""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is itself a node of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
