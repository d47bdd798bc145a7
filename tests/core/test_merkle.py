"""RFC 9162's Merkle tree, proofs and verifiers (core.merkle) against the RFC's own recursive definitions."""
from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from jiaoguan.core import merkle


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]


def mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, literally (over leaf hashes)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return merkle.node_hash(mth(hashes[:k]), mth(hashes[k:]))


def path(m: int, hashes: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH, literally."""
    n = len(hashes)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, hashes[:k]), mth(hashes[k:])]
    return [*path(m - k, hashes[k:]), mth(hashes[:k])]


def subproof(m: int, hashes: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF, literally."""
    n = len(hashes)
    if m == n:
        return [] if b else [mth(hashes)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, hashes[:k], b), mth(hashes[k:])]
    return [*subproof(m - k, hashes[k:], False), mth(hashes[:k])]


def store(hashes: list[bytes]) -> merkle.Lookup:
    """Build the tree the way the sealer does (frontier appends), keeping every perfect subtree."""
    nodes: dict[merkle.Node, bytes] = {}
    frontier: list[tuple[int, bytes]] = []
    for i, h in enumerate(hashes):
        nodes[(0, i)] = h
        for node, value in merkle.frontier_append(frontier, h, i):
            nodes[node] = value
    return lambda wanted: {n: nodes[n] for n in wanted if n in nodes}


def test_known_answers():
    assert merkle.empty_root().hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    one = merkle.leaf_hash(b"")
    assert one.hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"  # SHA-256(0x00)
    assert merkle.root_of(1, store([one])) == one


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_roots_paths_and_proofs_match_the_rfc(n, data):
    hashes = leaves(n)
    lookup = store(hashes)
    frontier: list[tuple[int, bytes]] = []
    for i, h in enumerate(hashes):
        merkle.frontier_append(frontier, h, i)
    assert merkle.frontier_root(frontier) == mth(hashes) == merkle.root_of(n, lookup)
    assert [level for level, _ in frontier] == [level for level, _ in merkle.frontier_nodes(n)]
    size = data.draw(st.integers(min_value=1, max_value=n))
    m = data.draw(st.integers(min_value=0, max_value=size - 1))
    root = mth(hashes[:size])
    audit_path = merkle.inclusion_path(m, size, lookup)
    assert audit_path == path(m, hashes[:size])
    assert merkle.verify_inclusion(leaf=hashes[m], index=m, size=size, path=audit_path, root=root)
    first = data.draw(st.integers(min_value=1, max_value=size))
    proof = merkle.consistency_proof(first, size, lookup)
    assert proof == subproof(first, hashes[:size], True)
    assert merkle.verify_consistency(first=first, second=size, first_root=mth(hashes[:first]), second_root=root,
                                     proof=proof)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=2, max_value=40), st.data())
def test_a_wrong_leaf_root_or_proof_is_refused(n, data):
    hashes = leaves(n)
    lookup = store(hashes)
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    root = mth(hashes)
    audit_path = merkle.inclusion_path(m, n, lookup)
    other = (m + 1) % n
    assert not merkle.verify_inclusion(leaf=hashes[other], index=m, size=n, path=audit_path, root=root)
    assert not merkle.verify_inclusion(leaf=hashes[m], index=m, size=n, path=audit_path, root=mth(hashes[:-1]))
    assert not merkle.verify_inclusion(leaf=hashes[m], index=n, size=n, path=audit_path, root=root)
    if audit_path:
        bad = list(audit_path)
        bad[-1] = merkle.leaf_hash(b"forged")
        assert not merkle.verify_inclusion(leaf=hashes[m], index=m, size=n, path=bad, root=root)
    first = data.draw(st.integers(min_value=1, max_value=n - 1))
    proof = merkle.consistency_proof(first, n, lookup)
    # history rewritten: a different leaf inside the first tree gives a different first root
    rewritten = list(hashes)
    rewritten[data.draw(st.integers(min_value=0, max_value=first - 1))] = merkle.leaf_hash(b"rewritten")
    assert not merkle.verify_consistency(first=first, second=n, first_root=mth(rewritten[:first]), second_root=root,
                                         proof=proof)
    assert not merkle.verify_consistency(first=first, second=n, first_root=mth(hashes[:first]),
                                         second_root=mth(rewritten), proof=proof)


def test_bad_arguments():
    lookup = store(leaves(4))
    for call in (lambda: merkle.inclusion_path(4, 4, lookup), lambda: merkle.consistency_proof(0, 4, lookup),
                 lambda: merkle.consistency_proof(5, 4, lookup)):
        try:
            call()
        except ValueError:
            continue
        raise AssertionError("accepted")
    assert merkle.verify_consistency(first=4, second=4, first_root=b"x", second_root=b"x", proof=[])
    assert not merkle.verify_consistency(first=3, second=4, first_root=b"x", second_root=b"y", proof=[])
