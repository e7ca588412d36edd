"""A study corpus back to one `precis ingest` jsonl file: its entries and
its held-out entries, with every link (the held-out ones included), label
as metadata.label. With `scripts/corpus.py from-jsonl FILE --seed S` it
redraws the held-out queries, to see how much a corpus's figures move with
the draw (bench/README.md, "Tenth pass").

    PRECIS_DATA_DIR=data python3 bench/emu/to_jsonl.py manpages /tmp/manpages.jsonl"""
import json, os, sys
import numpy as np
d = os.path.join(os.environ.get('PRECIS_DATA_DIR', 'data'), sys.argv[1])
dim = json.load(open(d + '/info.json'))['dim']
X = np.fromfile(d + '/vectors.f32', dtype=np.float32).reshape(-1, dim)
strip = lambda ls: [{k: ln[k] for k in ('dst', 'kind', 'weight')} for ln in ls]  # noqa: E731
with open(sys.argv[2], 'w') as out:
    for r, v in zip((json.loads(ln) for ln in open(d + '/corpus.jsonl')), X):
        out.write(json.dumps({'id': r['id'], 'vector': v.tolist(), 'text': r['text'],
                              'metadata': {'label': r['metadata']['label']}, 'links': strip(r['links'])}) + '\n')
    for q in (json.loads(ln) for ln in open(d + '/queries.jsonl')):
        out.write(json.dumps({'id': q['id'], 'vector': q['vector'], 'text': q['text'],
                              'metadata': {'label': q['metadata']['label']}, 'links': strip(q['links'])}) + '\n')
