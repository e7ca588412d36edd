"""A learnt scorer for what one hop reaches (docs/RETRIEVAL.md, "What was
tried and not kept"): TOPK at hops 1 over the 50 nearest points and every
point one link from the 10 best (each link credited to its analogy, the
engine's rule), ranked by the engine's r(x) + gw * (summed path scores)
or by r(x) + alpha * a logistic model's logit. The model predicts "x is one
of the held-out entry's linked entries" from label-blind features: r(x), the
summed path scores, the number of seeds that reach x, whether x is a seed,
log(1 + its rank among the seeds), log(1 + x's link count), the best
seed's g among those that reach x, and the path scores of non-seeds. It is
fitted on the walk's fit corpora (manpages and full WordNet is_a) and
reported on every corpus named. Recall of the held-out entries' linked
entries and similarity relative to TOPK at hops 0.

    PRECIS_DATA_DIR=data python3 bench/emu/ltr.py wordnet-rel,pydoc,debpkg,wordnet-small [queries]"""
import sys, numpy as np
from corp import load
k = 10; E = 10; NS = 50; KAPPA = 16; FIT = ('manpages', 'wordnet')

def features(D, nq):
    """Per held-out query: candidates, their feature rows, whether each is
    linked to the held-out entry, similarities, and TOPK's figures."""
    X = D['X']; adj = D['adj']; deg = np.array([len(a) for a in adj]) + 1; knn = {}
    def analogue(q, u, v):
        if v not in knn: knn[v] = np.argpartition(-(X @ X[v]), KAPPA + 1)[:KAPPA + 1]
        c = np.array([x for x in knn[v] if x != u and x != v], int); t = q + X[v] - X[u]
        if not len(c): return v
        j = int(np.argmax(X[c] @ t)); return int(c[j]) if X[c[j]] @ t > X[v] @ t else v
    out = []
    for qi in range(min(nq, len(D['Q']))):
        L = set(D['qlinked'][qi])
        if not L: continue
        q = D['Q'][qi]; s = X @ q; o = np.argsort(-s)[:NS]; sE = s[o[E - 1]]; span = max(s[o[0]] - sE, 1e-6)
        ev = {}; cn = {}; gb = {}
        for u in o[:E]:
            g = max(0.0, (s[u] - sE) / span)
            for v, w in adj[u]:
                x = analogue(q, u, v)
                ev[x] = ev.get(x, 0) + g * w * 0.9; cn[x] = cn.get(x, 0) + 1; gb[x] = max(gb.get(x, 0), g)
        rank = {int(v): r for r, v in enumerate(o)}
        cand = np.array(sorted(set(o.tolist()) | set(ev)))
        r0 = (s[cand] - sE) / span; r = np.clip(r0, -5, 2); e = np.array([ev.get(v, 0) for v in cand])
        seed = np.array([v in rank for v in cand], float)
        F = np.column_stack([np.ones(len(cand)), r, e, [cn.get(v, 0) for v in cand], seed,
                             np.log1p([rank.get(int(v), NS) for v in cand]), np.log(deg[cand]),
                             [gb.get(v, 0) for v in cand], e * (1 - seed)])
        out.append((cand, np.column_stack([F, r0]), np.array([v in L for v in cand], float), s, L, s[o[:k]].mean(),
                    len(L & set(o[:k].tolist())) / len(L)))
    return out

def fit(rows, l2=1e-2):
    """Logistic regression by Newton's method."""
    A = np.vstack([f[:, :-1] for _, f, *_ in rows]); y = np.concatenate([t for _, _, t, *_ in rows]); w = np.zeros(A.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-A @ w))
        w -= np.linalg.solve((A * (p * (1 - p))[:, None]).T @ A + l2 * np.eye(len(w)), A.T @ (p - y) + l2 * w)
    return w

def score(rows, fn):
    rc = []; sm = []; b = []; bs = []
    for cand, F, _, s, L, m0, r0 in rows:
        S = cand[np.argsort(-fn(F), kind='stable')[:k]]
        rc.append(len(L & set(S.tolist())) / len(L)); sm.append(s[S].mean()); b.append(r0); bs.append(m0)
    return np.mean(rc) / np.mean(b), 100 * np.mean(sm) / np.mean(bs)

nq = int(sys.argv[2]) if len(sys.argv) > 2 else 200
data = {c: features(load(c), nq) for c in FIT + tuple(x for x in sys.argv[1].split(',') if x not in FIT)}
w = fit(data[FIT[0]] + data[FIT[1]])
print('weights (1, r, sum, count, seed, log rank, log links, best g, sum off seeds):', np.round(w, 2))
for c, rows in data.items():
    for nm, fn in (('sum gw 3', lambda F: F[:, -1] + 3 * F[:, 2]), ('sum gw 4', lambda F: F[:, -1] + 4 * F[:, 2]),
                   ('r + 2 logit', lambda F: F[:, 1] + 2 * (F[:, :-1] @ w)),
                   ('r + 3 logit', lambda F: F[:, 1] + 3 * (F[:, :-1] @ w))):
        print('%s%s %-11s recall %.2fx at %.1f %%' % ((c, ' (fit)' if c in FIT else '', nm) + score(rows, fn)), flush=True)
