"""The pool's own communities in COMPRESS's kernel (docs/RETRIEVAL.md,
"What was tried and not kept", fifteenth pass). Global clusters of the
whole collection did not help; this asks whether communities of the
query's pool do. The pool's graph is the engine's kernel K (half cosine,
half shared kNN neighbours, diagonal removed); its m leading eigenvectors
of D^(-1/2) K D^(-1/2), rows normalised, embed each pool point, and S =
the cosine of two embeddings (positive semidefinite, unit diagonal) is
mixed in: K' = (1 - b) K + b S, m 3 / 5 / 8 / 12, b 0.25 / 0.5. Greedy
log-det at theta 2 with floor 0.975 (the defaults) and theta 1 with floor
0.97; pool P (default 100), k 10; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/communities.py manpages [queries] [P]"""
import sys, numpy as np
from corp import load
from floor import pool, select, tally, report


def spectral(K, m):
    A = np.maximum(K, 0).copy(); np.fill_diagonal(A, 0); d = A.sum(1) + 1e-9
    w, V = np.linalg.eigh(A / np.sqrt(d)[:, None] / np.sqrt(d)[None, :])
    U = V[:, -m:]; U = U / (np.linalg.norm(U, axis=1, keepdims=True) + 1e-12)
    return U @ U.T


D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 200
P = int(sys.argv[3]) if len(sys.argv) > 3 else 100
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); K0 = 0.5 * p['Cos'] + 0.5 * p['N']
    cfg = [('engine', K0)]
    for m in (3, 5, 8, 12):
        S = spectral(K0, m)
        for b in (0.25, 0.5):
            K = (1 - b) * K0 + b * S; np.fill_diagonal(K, 1.0)
            cfg.append(('m %d b %.2f' % (m, b), K))
    for nm, K in cfg:
        for th, fl in ((2, 0.975), (1, 0.97)):
            tally(R, '%-12s theta %g' % (nm, th), p['s'], select(p['s'], K, fl, th, 'ld'),
                  p['labs'], p['m0'], p['l0'])
report(R, D['name'], 22)
