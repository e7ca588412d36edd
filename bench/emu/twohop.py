"""Neighbourhoods at two scales for COMPRESS's log-det: the engine's kernel
(half cosine, half shared kNN neighbours, A_i = i's 16 nearest plus i)
against kernels whose sets also hold the neighbours' neighbours (two hops
of the kNN graph, weighted 1 for the first hop and u for the second),
theta 2, pool 50, k 10, floor 0.975; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/twohop.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report
KAPPA = 16; P = 50
D = load(sys.argv[1]); X = D['X']; nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
n = len(X); NB = np.empty((n, KAPPA), np.int64)
for b in range(0, n, 2048):
    S = X[b:b + 2048] @ X.T
    for r in range(S.shape[0]): S[r, b + r] = -9
    NB[b:b + 2048] = np.argpartition(-S, KAPPA, axis=1)[:, :KAPPA]
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); o = p['o']; Cos = p['Cos']
    M1 = np.zeros((P, n)); M2 = np.zeros((P, n))
    for a, i in enumerate(o):
        M1[a, NB[i]] = 1; M1[a, i] = 1
        M2[a, NB[NB[i]].ravel()] = 1
    M2 = np.maximum(M2 - M1, 0)
    def cosm(M):
        G = M @ M.T; d = np.sqrt(np.diag(G)) + 1e-12; return G / np.outer(d, d)
    N = cosm(M1)
    cfg = {'engine': 0.5 * Cos + 0.5 * N}
    for u in (0.25, 0.5, 1.0):
        N2 = cosm(M1 + u * M2)
        cfg['two hops u %.2f' % u] = 0.5 * Cos + 0.5 * N2
        cfg['two hops u %.2f, 1/3 each' % u] = (Cos + N + N2) / 3
    for nm, K in cfg.items():
        tally(R, nm, p['s'], select(p['s'], K, 0.975, 2, 'ld'), p['labs'], p['m0'], p['l0'])
report(R, D['name'], 26)
