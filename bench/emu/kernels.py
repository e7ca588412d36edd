"""Redundancy kernels for COMPRESS's log-det with the similarity floor
(docs/RETRIEVAL.md, "What was tried"): the engine's half cosine, half shared
kNN neighbours at theta 2 against residual cosines (the parts of two points
orthogonal to the query), alone or mixed with shared neighbours, theta 1-8;
pool 50, k 10, floor 0.975; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/kernels.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report
P = 50
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); qv = D['Q'][qi]; V = p['V']; Cos = p['Cos']; N = p['N']
    Rv = V - np.outer(V @ qv, qv); Rv /= np.linalg.norm(Rv, axis=1, keepdims=True) + 1e-12
    Res = Rv @ Rv.T
    cfg = {'engine (cos+shared)': (0.5 * Cos + 0.5 * N, [2]), 'residual': (Res, [1, 2, 4, 8]),
           'residual+shared': (0.5 * Res + 0.5 * N, [1, 2, 4, 8]),
           '(residual+1)/2+shared': (0.25 * (Res + 1) + 0.5 * N, [1, 2, 4, 8])}
    for nm, (K, ths) in cfg.items():
        for th in ths:
            tally(R, '%-22s theta %-3g' % (nm, th), p['s'], select(p['s'], K, 0.975, th, 'ld'),
                  p['labs'], p['m0'], p['l0'])
report(R, D['name'], 32)
