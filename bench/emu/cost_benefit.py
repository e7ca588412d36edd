"""Cost-benefit greedy for COMPRESS (docs/RETRIEVAL.md, "What was tried"):
the log-det gain divided by the candidate's cost in similarity (its
shortfall to the k-th best, plus eps times the top-k spread), with the
floor 0.975, against the engine's greedy (half cosine, half shared
neighbours, theta 2); pool 50, k 10; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/cost_benefit.py manpages [queries]"""
import sys, numpy as np
from corp import load
from floor import admissible, pool, select, tally, report
k = 10; P = 50

def select_cb(sim, K, floor, theta, eps):
    """Greedy log-det with the floor, cost-benefit: gain / (cost + eps*spread)."""
    n = len(sim); order = np.argsort(-sim, kind='stable'); m0 = sim[order[:k]].mean()
    need = k * (m0 - (1 - floor) * abs(m0)); sk = sim[order[k - 1]]; spread = sim[order[0]] - sk + 1e-9
    cost = np.maximum(0, sk - sim) + eps * spread
    S = []; tot = 0.0; sel = np.zeros(n, bool)
    q = 30 * np.exp(theta * (sim - sim.max())); d2 = 1 + q * q; C = np.zeros((n, k))
    for t in range(min(k, n)):
        ok = admissible(sim, order, sel, tot, need, t)
        g = np.log(np.maximum(d2, 1e-30)) / cost
        j = int(np.argmax(np.where(ok, g, -1e18)))
        S.append(j); sel[j] = True; tot += sim[j]
        e = (q[j] * q * K[j] - C[:, :t] @ C[j, :t]) / np.sqrt(max(d2[j], 1e-30))
        C[:, t] = e; d2 = d2 - e * e
    return S

D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); K = 0.5 * p['Cos'] + 0.5 * p['N']; args = (p['labs'], p['m0'], p['l0'])
    tally(R, 'engine', p['s'], select(p['s'], K, 0.975, 2, 'ld'), *args)
    for th in (0, 2):
        for eps in (0.1, 0.3, 1.0, 3.0):
            tally(R, 'cb theta %g eps %g' % (th, eps), p['s'], select_cb(p['s'], K, 0.975, th, eps), *args)
report(R, D['name'], 20)
