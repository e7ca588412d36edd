"""Cost-benefit greedy for COMPRESS (docs/RETRIEVAL.md, "What was tried"):
the log-det gain divided by the candidate's cost in similarity (its
shortfall to the k-th best, plus eps times the top-k spread), with the
floor 0.975, against the engine's greedy (half cosine, half shared
neighbours, theta 2); pool 50, k 10; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/cost_benefit.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import select, tally, report
k = 10; KAPPA = 16; P = 50

def select_cb(sim, K, floor, theta, eps):
    """Greedy log-det with the floor, cost-benefit: gain / (cost + eps*spread)."""
    n = len(sim); order = np.argsort(-sim, kind='stable'); m0 = sim[order[:k]].mean()
    need = k * (m0 - (1 - floor) * abs(m0)); sk = sim[order[k - 1]]; spread = sim[order[0]] - sk + 1e-9
    cost = np.maximum(0, sk - sim) + eps * spread
    S = []; tot = 0.0; sel = np.zeros(n, bool)
    q = 30 * np.exp(theta * (sim - sim.max())); d2 = 1 + q * q; C = np.zeros((n, k))
    for t in range(min(k, n)):
        rem = k - t - 1; un = order[~sel[order]]; top = sim[un[:rem + 1]]
        in_top = np.zeros(n, bool); in_top[un[:rem]] = True
        fill = np.where(in_top, top.sum() - sim, top[:rem].sum())
        ok = (tot + sim + fill >= need - 1e-7) & ~sel
        g = np.log(np.maximum(d2, 1e-30)) / cost
        j = int(np.argmax(np.where(ok, g, -1e18)))
        S.append(j); sel[j] = True; tot += sim[j]
        e = (q[j] * q * K[j] - C[:, :t] @ C[j, :t]) / np.sqrt(max(d2[j], 1e-30))
        C[:, t] = e; d2 = d2 - e * e
    return S

D = load(sys.argv[1]); X = D['X']; lab = D['lab']; nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
R = {}
for qi in range(min(nq, len(D['Q']))):
    qv = D['Q'][qi]; s = X @ qv; o = np.argsort(-s)[:P]; m0 = s[o[:k]].mean()
    l0 = len({lab[i] for i in o[:k]}); V = X[o]; Cos = V @ V.T
    nb = np.argpartition(-(V @ X.T), KAPPA + 1, axis=1)[:, :KAPPA + 1]
    M = np.zeros((P, len(X)), np.float32)
    for a in range(P): M[a, nb[a]] = 1
    N = (M @ M.T) / (KAPPA + 1)
    K = 0.5 * Cos + 0.5 * N; labs = [lab[i] for i in o]
    tally(R, 'engine', s[o], select(s[o], K, 0.975, 2, 'ld'), labs, m0, l0)
    for th in (0, 2):
        for eps in (0.1, 0.3, 1.0, 3.0):
            tally(R, 'cb theta %g eps %g' % (th, eps), s[o], select_cb(s[o], K, 0.975, th, eps), labs, m0, l0)
report(R, D['name'], 20)
