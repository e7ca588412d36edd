"""A Gaussian (RBF) cosine kernel for COMPRESS's log-det (docs/RETRIEVAL.md,
"What was tried"): exp(beta (cos - 1)), beta 2-20, half and half with the
shared kNN neighbours, theta 2 or 8, against the engine's kernel (half
cosine, half shared neighbours, theta 2); pool 50, k 10, floor 0.975.

    PRECIS_DATA_DIR=data python3 bench/emu/rbf.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import select, tally, report
k = 10; KAPPA = 16; P = 50
D = load(sys.argv[1]); X = D['X']; lab = D['lab']; nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
R = {}
for qi in range(min(nq, len(D['Q']))):
    qv = D['Q'][qi]; s = X @ qv; o = np.argsort(-s)[:P]; m0 = s[o[:k]].mean()
    l0 = len({lab[i] for i in o[:k]}); V = X[o]; Cos = V @ V.T
    nb = np.argpartition(-(V @ X.T), KAPPA + 1, axis=1)[:, :KAPPA + 1]
    M = np.zeros((P, len(X)), np.float32)
    for a in range(P): M[a, nb[a]] = 1
    N = (M @ M.T) / (KAPPA + 1); labs = [lab[i] for i in o]
    tally(R, 'engine', s[o], select(s[o], 0.5 * Cos + 0.5 * N, 0.975, 2, 'ld'), labs, m0, l0)
    for beta in (2, 5, 10, 20):
        Kr = np.exp(beta * (Cos - 1))
        for th in (2, 8):
            tally(R, 'rbf %g th %g' % (beta, th), s[o], select(s[o], 0.5 * Kr + 0.5 * N, 0.975, th, 'ld'), labs, m0, l0)
report(R, D['name'], 16)
