"""Knowledge links in COMPRESS's shared-neighbour sets at hops 0: A_i = i,
its 16 nearest and, here, also the points it is linked to (both
directions, weighted u), so two points that link to each other or to the
same entries count as alike; theta 2, pool 50, k 10, floor 0.975, the
engine's half cosine, half shared neighbours; labels and similarity
relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/linkshare.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report
KAPPA = 16; P = 50
D = load(sys.argv[1]); X = D['X']; adj = D['adj']; nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); o = p['o']; Cos = p['Cos']
    nb = np.argpartition(-(p['V'] @ X.T), KAPPA + 1, axis=1)[:, :KAPPA + 1]
    cols = {}
    def col(x): return cols.setdefault(int(x), len(cols))
    rows = []
    for a, i in enumerate(o):
        r = {col(x): 1.0 for x in nb[a]}
        rows.append((r, [col(t) for t, _ in adj[i]]))
    for u in (0.0, 0.5, 1.0, 2.0):
        M = np.zeros((P, len(cols)))
        for a, (r, ln) in enumerate(rows):
            for c, w in r.items(): M[a, c] = w
            for c in ln: M[a, c] = max(M[a, c], u)
        d = np.sqrt((M * M).sum(1)) + 1e-12; N = (M @ M.T) / np.outer(d, d)
        tally(R, 'links weight %.1f' % u, p['s'], select(p['s'], 0.5 * Cos + 0.5 * N, 0.975, 2, 'ld'), p['labs'], p['m0'], p['l0'])
report(R, D['name'], 18)
