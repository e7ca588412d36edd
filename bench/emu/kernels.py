"""Redundancy kernels for COMPRESS's log-det with the similarity floor
(docs/RETRIEVAL.md, "What was tried"): the engine's half cosine, half shared
kNN neighbours at theta 2 against residual cosines (the parts of two points
orthogonal to the query), alone or mixed with shared neighbours, theta 1-8;
pool 50, k 10, floor 0.975; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/kernels.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import select
k = 10; KAPPA = 16; P = 50
D = load(sys.argv[1]); X = D['X']; lab = D['lab']; nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
R = {}
for qi in range(min(nq, len(D['Q']))):
    qv = D['Q'][qi]; s = X @ qv; o = np.argsort(-s)[:P]; m0 = s[o[:k]].mean()
    l0 = len({lab[i] for i in o[:k]}); V = X[o]; Cos = V @ V.T
    Rv = V - np.outer(V @ qv, qv); Rv /= np.linalg.norm(Rv, axis=1, keepdims=True) + 1e-12
    Res = Rv @ Rv.T
    nb = np.argpartition(-(V @ X.T), KAPPA + 1, axis=1)[:, :KAPPA + 1]
    M = np.zeros((P, len(X)), np.float32)
    for a in range(P): M[a, nb[a]] = 1
    N = (M @ M.T) / (KAPPA + 1)
    cfg = {'engine (cos+shared)': (0.5 * Cos + 0.5 * N, [2]), 'residual': (Res, [1, 2, 4, 8]),
           'residual+shared': (0.5 * Res + 0.5 * N, [1, 2, 4, 8]),
           '(residual+1)/2+shared': (0.25 * (Res + 1) + 0.5 * N, [1, 2, 4, 8])}
    for nm, (K, ths) in cfg.items():
        for th in ths:
            S = select(s[o], K, 0.975, th, 'ld')
            r = R.setdefault((nm, th), [[], [], [], []])
            r[0].append(s[o][S].mean()); r[1].append(len({lab[o[i]] for i in S}))
            r[2].append(m0); r[3].append(l0)
for (nm, th), (a, b, c, d) in R.items():
    print('%s %-22s theta %-3g sim %.2f %% labels x%.3f' %
          (D['name'], nm, th, 100 * np.mean(a) / np.mean(c), np.mean(b) / np.mean(d)), flush=True)
