"""How well label-blind signals see labels (docs/RETRIEVAL.md, "What the
labels allow"): for every pool point outside TOPK (pool 50, k 10, 150
held-out queries), does it bring a label TOPK lacks? AUC of each signal
(low value = new label): its similarity below the k-th, its largest and
mean cosine to TOPK, its largest and mean shared-kNN-neighbour overlap
(16 neighbours) with TOPK, and the engine's half-and-half kernel; then the
largest overlap with neighbourhoods of 8 to 128 (100 queries).

    PRECIS_DATA_DIR=data python3 bench/emu/signals.py wordnet-rel"""
import sys, numpy as np
from corp import load
k = 10; KAPPA = 16; P = 50
D = load(sys.argv[1]); X = D['X']; lab = D['lab']
F = []; Y = []
def auc(x, y):
    x = np.asarray(x); y = np.asarray(y, bool); o = np.argsort(x); r = np.empty(len(x)); r[o] = np.arange(len(x))
    return (r[y].sum() - y.sum() * (y.sum() - 1) / 2) / (y.sum() * (~y).sum())
for qi in range(min(150, len(D['Q']))):
    qv = D['Q'][qi]; s = X @ qv; o = np.argsort(-s)[:P]; V = X[o]; Cos = V @ V.T
    nb = np.argpartition(-(V @ X.T), KAPPA + 1, axis=1)[:, :KAPPA + 1]
    M = np.zeros((P, len(X)), np.float32)
    for a in range(P): M[a, nb[a]] = 1
    N = (M @ M.T) / (KAPPA + 1)
    tl = {lab[i] for i in o[:k]}
    for j in range(k, P):
        # residual to the top-k span
        F.append([s[o[j]] - s[o[k - 1]], Cos[j, :k].max(), Cos[j, :k].mean(), N[j, :k].max(), N[j, :k].mean(), 0.5 * Cos[j, :k].max() + 0.5 * N[j, :k].max()])
        Y.append(lab[o[j]] not in tl)
F = np.array(F); Y = np.array(Y)
names = ['sim - s_k', 'max cos to topk', 'mean cos to topk', 'max shared to topk', 'mean shared to topk', 'engine kernel max']
print(D['name'], 'new-label rate %.3f' % Y.mean())
for i, n in enumerate(names): print('  %-22s AUC(new label | low value) %.3f' % (n, 1 - auc(F[:, i], Y)))

res = {}
for qi in range(min(100, len(D['Q']))):
    qv = D['Q'][qi]; s = X @ qv; o = np.argsort(-s)[:P]
    srt = np.argsort(-(X[o] @ X.T), axis=1)
    tl = {lab[i] for i in o[:k]}
    y = [lab[o[j]] not in tl for j in range(k, P)]
    for KA in (8, 16, 32, 64, 128):
        M = np.zeros((P, len(X)), np.float32)
        for a in range(P): M[a, srt[a, :KA + 1]] = 1
        N = (M @ M.T) / (KA + 1)
        r = res.setdefault(KA, [[], []]); r[0] += list(N[k:, :k].max(1)); r[1] += y
for KA, (x, y) in res.items():
    print('  max shared to topk, %3d neighbours AUC %.3f' % (KA, 1 - auc(x, y)))
