"""Loads a study corpus (scripts/README-data.md, \"Corpus format\") for bench/emu."""
import json, os, numpy as np
def load(d):
    d=os.path.join(os.environ.get('PRECIS_DATA_DIR','data'),d)
    info=json.load(open(d+'/info.json')); dim=info['dim']
    X=np.fromfile(d+'/vectors.f32',dtype=np.float32).reshape(-1,dim)
    ids=np.fromfile(d+'/ids.u64',dtype=np.uint64)
    pos={int(i):j for j,i in enumerate(ids)}
    lab=[];adj=[[] for _ in range(len(X))]
    for j,l in enumerate(open(d+'/corpus.jsonl')):
        c=json.loads(l); lab.append(c['metadata'].get('label',c['metadata'].get('category')))
        for e in c.get('links',[]):
            t=pos[e['dst']]; w=e.get('weight',1.0); adj[j].append((t,w)); adj[t].append((j,w))
    Q=np.fromfile(d+'/queries.f32',dtype=np.float32).reshape(-1,dim)
    ql=[[pos[x] for x in (lambda j: j.get('linked',j.get('hypernyms_in_corpus',[])))(json.loads(l)) if x in pos] for l in open(d+'/queries.jsonl')]
    X/=np.linalg.norm(X,axis=1,keepdims=True)+1e-12; Q/=np.linalg.norm(Q,axis=1,keepdims=True)+1e-12
    return dict(X=X,lab=lab,adj=adj,Q=Q,qlinked=ql,name=d.split('/')[-1])
