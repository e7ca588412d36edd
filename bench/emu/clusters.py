"""Global clusters as a redundancy signal for COMPRESS's log-det: the
engine's kernel (half cosine, half shared kNN neighbours) against kernels
that add co-membership in spherical k-means clusters of the whole
collection (C clusters; several clusterings averaged), theta 2, pool 50,
k 10, floor 0.975; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/clusters.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report
P = 50

def kmeans(X, C, seed, it=12):
    rng = np.random.default_rng(seed); Cn = X[rng.choice(len(X), C, replace=False)].copy()
    for _ in range(it):
        a = np.empty(len(X), np.int64)
        for b in range(0, len(X), 8192): a[b:b + 8192] = np.argmax(X[b:b + 8192] @ Cn.T, axis=1)
        for c in range(C):
            m = X[a == c]
            if len(m): v = m.sum(0); Cn[c] = v / (np.linalg.norm(v) + 1e-12)
    return a

D = load(sys.argv[1]); X = D['X']; nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
A = {C: [kmeans(X, C, s) for s in range(3)] for C in (16, 64, 256)}
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); o = p['o']; Cos = p['Cos']; N = p['N']
    cfg = {'engine': 0.5 * Cos + 0.5 * N}
    for C, al in A.items():
        Cl1 = (al[0][o][:, None] == al[0][o][None, :]).astype(float)
        Cl3 = sum((a[o][:, None] == a[o][None, :]).astype(float) for a in al) / 3
        cfg['C%d x1 +1/3' % C] = (Cos + N + Cl1) / 3
        cfg['C%d x3 +1/3' % C] = (Cos + N + Cl3) / 3
        cfg['C%d x3 +1/2' % C] = 0.25 * Cos + 0.25 * N + 0.5 * Cl3
    for nm, K in cfg.items():
        tally(R, nm, p['s'], select(p['s'], K, 0.975, 2, 'ld'), p['labs'], p['m0'], p['l0'])
report(R, D['name'], 14)
