"""COMPRESS and MMR with the similarity floor (index/retrieve/select.c) in
NumPy, for the choices of docs/RETRIEVAL.md ("How the defaults were
chosen"): theta at diversity 0.5 and the shared-neighbour weight, on a study
corpus's held-out queries (exact seeds, pool P, k 10, floor 0.975).
Usage: PRECIS_DATA_DIR=data python3 bench/emu/floor.py manpages [P] [queries]"""
import sys, numpy as np
from corp import load
k = 10; KAPPA = 16

def pool(D, qi, P):
    """Query qi's pool, its P nearest points by cosine: their similarities s
    and positions o, TOPK's mean similarity m0 and label count l0, the
    pool's cosines Cos, its shared-neighbour overlaps N (each point's KAPPA
    nearest plus itself) and its labels."""
    X = D['X']; lab = D['lab']; sim = X @ D['Q'][qi]; o = np.argsort(-sim)[:P]; V = X[o]
    nb = np.argpartition(-(V @ X.T), KAPPA + 1, axis=1)[:, :KAPPA + 1]
    M = np.zeros((P, len(X)), np.float32)
    for a in range(P): M[a, nb[a]] = 1
    return dict(s=sim[o], o=o, m0=sim[o[:k]].mean(), l0=len({lab[i] for i in o[:k]}), V=V,
                Cos=V @ V.T, N=(M @ M.T) / (KAPPA + 1), labs=[lab[i] for i in o])

def admissible(sim, order, sel, tot, need, t):
    """The floor's look-ahead at step t: the unselected points with which the
    set can still be completed by the best remaining ones and reach `need`."""
    n = len(sim); rem = k - t - 1; un = order[~sel[order]]; top = sim[un[:rem + 1]]
    in_top = np.zeros(n, bool); in_top[un[:rem]] = True
    fill = np.where(in_top, top.sum() - sim, top[:rem].sum())
    return (tot + sim + fill >= need - 1e-7) & ~sel

def select(sim, K, floor, theta, mode, lam=0.5):
    """Greedy log-det (mode 'ld') or MMR with the floor's look-ahead rule."""
    n = len(sim); order = np.argsort(-sim, kind='stable'); m0 = sim[order[:k]].mean()
    need = k * (m0 - (1 - floor) * abs(m0))
    S = []; tot = 0.0; sel = np.zeros(n, bool); mx = np.full(n, -1.0)
    q = 30 * np.exp(theta * (sim - sim.max())); d2 = 1 + q * q; C = np.zeros((n, k))
    for t in range(min(k, n)):
        ok = admissible(sim, order, sel, tot, need, t)
        g = np.log(np.maximum(d2, 1e-30)) if mode == 'ld' else (
            sim if t == 0 else lam * sim - (1 - lam) * mx)
        j = int(np.argmax(np.where(ok, g, -1e18)))
        S.append(j); sel[j] = True; tot += sim[j]; mx = np.maximum(mx, K[j])
        if mode == 'ld':
            e = (q[j] * q * K[j] - C[:, :t] @ C[j, :t]) / np.sqrt(max(d2[j], 1e-30))
            C[:, t] = e; d2 = d2 - e * e
    return S

def tally(R, key, sim, S, labs, m0, l0):
    """Add one query's selection S (positions in the pool; sim and labs per
    pool point) to R[key]: similarity, labels, and TOPK's for the ratios."""
    r = R.setdefault(key, [[], [], [], []])
    r[0].append(sim[S].mean()); r[1].append(len({labs[i] for i in S}))
    r[2].append(m0); r[3].append(l0)

def report(R, name, width=14):
    """One line per key: similarity and labels relative to TOPK."""
    for key, (a, b, c, d) in R.items():
        print('%s %-*s sim %.2f %% labels x%.3f' %
              (name, width, key, 100 * np.mean(a) / np.mean(c), np.mean(b) / np.mean(d)), flush=True)

def main(name, P, nq=150):
    D = load(name); R = {}
    for qi in range(min(nq, len(D['Q']))):
        p = pool(D, qi, P)
        for w in (0.0, 0.3, 0.5):
            for mode, theta in (('ld', 0.5), ('ld', 1), ('ld', 1.5), ('ld', 2), ('ld', 3), ('ld', 5), ('mmr', 0)):
                S = select(p['s'], (1 - w) * p['Cos'] + w * p['N'], 0.975, theta, mode)
                tally(R, (w, mode, theta), p['s'], S, p['labs'], p['m0'], p['l0'])
    for (w, mode, theta), (a, b, c, d) in sorted(R.items()):
        print('%s shared %.1f %s theta %g: sim %.2f %% labels x%.3f' %
              (name, w, mode, theta, 100 * np.mean(a) / np.mean(c), np.mean(b) / np.mean(d)))

if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30,
         int(sys.argv[3]) if len(sys.argv) > 3 else 150)
