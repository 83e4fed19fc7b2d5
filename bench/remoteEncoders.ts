/**
 * npm run bench:encoders — remote encoders (npm run encoder) measured on this machine, per pack, in one
 * run: images/s through one encoder process next to the same pack in-process, and search latency with
 * the encoder up, with it killed, and with one that accepts connections but never answers.
 * Writes bench/encoders-results.{json,md}.
 */
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { encodeOnce, loadModelPack } from '../src/models/modelPack';
import { floatsToBuffer } from '../src/remoteEncoders/protocol';
import { startEncoderProcess } from './encoderProcess';
import { envNumber, runStandaloneBench, type BenchPack, type Harness } from './harness';
import { listen, searchOnce } from './query';
import { round, summarize, timed } from './stats';

const TOKEN = 'bench-encoder';
const BATCH = 8;

function startEncoder(pack: BenchPack) {
  return startEncoderProcess({ MODEL_DIR: pack.dir, MODEL_VERIFY_CHECKSUMS: 'false', ENCODER_TOKEN: TOKEN });
}

/** Images/s of `batches` batches of 8 random tensors: in this process, then through the encoder process. */
async function throughput(pack: BenchPack, url: string, batches: number) {
  const local = await loadModelPack(pack.dir, { batchSize: BATCH, intraOpThreads: 0, interOpThreads: 1, maxConcurrentRuns: 2, verifyChecksums: false });
  const size = local.image.preprocessing.size;
  const tensors = Array.from({ length: BATCH }, () => ({ data: Float32Array.from({ length: 3 * size * size }, () => Math.random()), size }));
  try {
    await encodeOnce(local);
    const inProcess = await timed(async () => {
      for (let i = 0; i < batches; i++) await local.image.encode(tensors, 'background');
    });
    const body = floatsToBuffer(tensors.map((t) => t.data));
    const remote = await timed(async () => {
      for (let i = 0; i < batches; i++) {
        const res = await fetch(`${url}/v1/encode/image`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', 'x-image-size': String(size), 'x-priority': 'background' },
          body,
        });
        if (!res.ok) throw new Error(`encoder answered ${res.status}`);
        await res.arrayBuffer();
      }
    });
    const n = batches * BATCH;
    return { inProcessImagesPerSec: round(n / (inProcess.ms / 1000), 2), remoteImagesPerSec: round(n / (remote.ms / 1000), 2) };
  } finally {
    await local.close();
  }
}

async function searchLatency(h: Harness, pack: BenchPack, urls: string, requests: number) {
  const s = await h.start(pack, {
    ADMIN_API_KEY: 'bench',
    RATE_LIMIT_PER_MINUTE: '1000000',
    TEXT_EMBEDDING_CACHE_SIZE: '0',
    OCR: 'off',
    ...(urls ? { ENCODER_URLS: urls, ENCODER_TOKEN: TOKEN, ENCODER_TIMEOUT_MS: '500' } : {}),
  });
  const server = await listen(s);
  try {
    const ms: number[] = [];
    for (let i = 0; i < requests; i++) ms.push((await timed(() => searchOnce(server.url, 'bench', `城市夜景 ${i}`))).ms);
    return { firstMs: round(ms[0]!, 1), ...summarize(ms.slice(1)) };
  } finally {
    await server.close();
    await s.close();
  }
}

export async function benchRemoteEncoders(h: Harness, opts: { batches: number; requests: number }) {
  const rows = [];
  for (const pack of h.packs.filter((p) => !p.label.includes('test pack'))) {
    console.error(`[bench:encoders] ${pack.label}`);
    const enc = await startEncoder(pack);
    const hanging = http.createServer((req, res) => {
      // Says it serves the pack, then never answers an encode request.
      if (req.url === '/healthz') void fetch(`${enc.url}/healthz`).then(async (r) => res.setHeader('content-type', 'application/json').end(await r.text()));
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    try {
      const rate = await throughput(pack, enc.url, opts.batches);
      const localOnly = await searchLatency(h, pack, '', opts.requests);
      const remoteUp = await searchLatency(h, pack, enc.url, opts.requests);
      const oneHanging = await searchLatency(h, pack, `${hangingUrl},${enc.url}`, opts.requests);
      enc.child.kill('SIGKILL');
      await new Promise((r) => enc.child.once('exit', r));
      const downOnly = await searchLatency(h, pack, enc.url, opts.requests);
      rows.push({ model: pack.label, ...rate, searchMs: { localOnly, remoteUp, oneHanging, remoteDown: downOnly } });
    } finally {
      enc.child.kill('SIGKILL');
      hanging.closeAllConnections();
      await new Promise((r) => hanging.close(r));
    }
  }
  return rows;
}

export type RemoteEncodersBench = Awaited<ReturnType<typeof benchRemoteEncoders>>;

export function remoteEncodersMarkdown(rows: RemoteEncodersBench): string {
  const l = (x: { firstMs: number; p50: number; p95: number }) => `${x.firstMs} / ${x.p50} / ${x.p95}`;
  return [
    'Throughput: batches of 8 random tensors, one after another, in this process and through one encoder process on loopback (same machine, same cores).',
    '',
    '| model | in-process img/s | through `npm run encoder` img/s |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${r.inProcessImagesPerSec} | ${r.remoteImagesPerSec} |`),
    '',
    '`POST /v1/search/text`, embedding cache off, one at a time; ms: first request / p50 / p95 of the rest (ENCODER_TIMEOUT_MS=500).',
    '',
    '| model | local pack only | remote encoder up | a hanging encoder listed first, a live one second | the only encoder killed (local fallback) |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${l(r.searchMs.localOnly)} | ${l(r.searchMs.remoteUp)} | ${l(r.searchMs.oneHanging)} | ${l(r.searchMs.remoteDown)} |`),
    '',
  ].join('\n');
}

if (require.main === module)
  runStandaloneBench(async (h, started) => {
    const rows = await benchRemoteEncoders(h, { batches: envNumber('BENCH_ENCODER_BATCHES', 10), requests: envNumber('BENCH_REQUESTS', 100) });
    await writeFile(path.join(__dirname, 'encoders-results.json'), `${JSON.stringify({ started, rows }, null, 2)}\n`);
    await writeFile(
      path.join(__dirname, 'encoders-results.md'),
      `# Remote encoders\n\n${started}, one machine (2 cores). Regenerate: \`npm run bench:encoders\`.\n\n${remoteEncodersMarkdown(rows)}`,
    );
    console.log(remoteEncodersMarkdown(rows));
  });
