"""Words as a third view of redundancy for COMPRESS's log-det: the engine's
kernel (half cosine, half shared kNN neighbours) against kernels that mix
in the TF-IDF cosine of the points' texts, with document frequencies from
the whole collection ('global') or from the pool alone ('pool'); theta 2,
pool 50, k 10, floor 0.975; labels and similarity relative to TOPK.

    PRECIS_DATA_DIR=data python3 bench/emu/lexical.py manpages [queries]"""
import sys, os, re, json, numpy as np
from corp import load
from floor import pool, select, tally, report
P = 50; SCOPES = os.environ.get("SCOPES", "global,pool").split(","); TW = [float(x) for x in os.environ.get("TW", "0.1,0.2,0.33,0.5").split(",")]; THETAS = [float(x) for x in os.environ.get("THETAS", "1,2,4").split(",")]
D = load(sys.argv[1]); nq = int(sys.argv[2]) if len(sys.argv) > 2 else 150
d = os.path.join(os.environ.get('PRECIS_DATA_DIR', 'data'), D['name'])
TOK = [re.findall(r'[a-z][a-z0-9_]+', json.loads(l)['text'].lower()) for l in open(d + '/corpus.jsonl')]
DF = {}
for ws in TOK:
    for w in set(ws): DF[w] = DF.get(w, 0) + 1
NDOC = len(TOK)

def lex(o, scope):
    """The pool's TF-IDF cosine matrix (unit diagonal for a text with words)."""
    voc = {}; rows = []
    for i in o:
        c = {}
        for w in TOK[i]:
            j = voc.setdefault(w, len(voc)); c[j] = c.get(j, 0) + 1
        rows.append(c)
    M = np.zeros((len(o), len(voc)))
    for a, c in enumerate(rows):
        for j, n in c.items(): M[a, j] = 1 + np.log(n)
    if scope == 'global':
        inv = {j: w for w, j in voc.items()}
        idf = np.array([np.log(NDOC / DF[inv[j]]) for j in range(len(voc))])
    else:
        df = (M > 0).sum(0); idf = np.log((len(o) + 1) / df)
    M *= idf; M /= np.linalg.norm(M, axis=1, keepdims=True) + 1e-12
    return M @ M.T

R = {}
for qi in range(min(nq, len(D['Q']))):
    p = pool(D, qi, P); Cos = p['Cos']; N = p['N']
    cfg = {'engine': 0.5 * Cos + 0.5 * N}
    for sc in SCOPES:
        T = lex(p['o'], sc)
        for t in TW:
            cfg['%s T %.2f' % (sc, t)] = (1 - t) / 2 * (Cos + N) + t * T
    for nm, K in cfg.items():
        for th in THETAS:
            tally(R, '%s th %g' % (nm, th), p['s'], select(p['s'], K, 0.975, th, 'ld'), p['labs'], p['m0'], p['l0'])
report(R, D['name'], 30)
