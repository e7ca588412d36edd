"""The query's tangent space as COMPRESS's redundancy (docs/RETRIEVAL.md,
"What was tried and not kept"): two pool points compared on their parts
orthogonal to the query, x - (x.q) q, normalised, so that points lying in
different directions from the query count as different even when both are
close to it; alone, half and half with the shared kNN neighbours, or a
third each with the cosine and the shared neighbours, theta 1, 2 or 4,
against the engine's kernel (half cosine, half shared neighbours, theta 2);
pool P (default 100, the default seeds at k 10), k 10, floor 0.975; labels
and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/tangent.py manpages [queries] [P]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
P = int(sys.argv[3]) if len(sys.argv) > 3 else 100
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); N = p['N']; q = D['Q'][qi]
    T = p['V'] - np.outer(p['V'] @ q, q)
    T /= np.linalg.norm(T, axis=1, keepdims=True) + 1e-12
    Kt = T @ T.T
    cfg = {'engine': (0.5 * p['Cos'] + 0.5 * N, [2]),
           'tangent+N': (0.5 * Kt + 0.5 * N, [1, 2, 4]),
           'tangent': (Kt, [1, 2, 4]),
           'cos+tangent+N': ((p['Cos'] + Kt + N) / 3, [1, 2, 4])}
    for nm, (K, ths) in cfg.items():
        for th in ths:
            tally(R, '%-13s theta %g' % (nm, th), p['s'], select(p['s'], K, 0.975, th, 'ld'),
                  p['labs'], p['m0'], p['l0'])
report(R, D['name'], 22)
