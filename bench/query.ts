import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { createApp } from '../src/api/app';
import type { Services } from '../src/cli/services';
import { writePhotoLikeJpegs } from './fixtures';
import type { BenchPack, Harness } from './harness';
import { round, summarize, timed } from './stats';

const QUERIES = [
  '海边的日落',
  '穿红裙子的小女孩',
  '一只在草地上奔跑的狗',
  '雪山和湖泊',
  '城市夜景',
  '桌上的咖啡和书',
  '下雨的街道',
  '生日蛋糕',
  '樱花树下的长椅',
  '一辆蓝色的汽车',
];

export interface Listening {
  url: string;
  close(): Promise<void>;
}

export async function listen(s: Services): Promise<Listening> {
  const server = createApp(s, { version: 'bench' }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

export async function searchOnce(url: string, key: string, query: string): Promise<number> {
  const res = await fetch(`${url}/v1/search/text`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, limit: 20 }),
  });
  await res.arrayBuffer();
  return res.status;
}

export async function benchQuery(h: Harness, pack: BenchPack, opts: { libraryImages: number; requests: number }) {
  const s = await h.start(pack, { TEXT_EMBEDDING_CACHE_SIZE: '1000', RATE_LIMIT_PER_MINUTE: '1000000', ADMIN_API_KEY: 'bench' });
  const server = await listen(s);
  try {
    const dir = `${h.root}/query-photos`;
    if (!existsSync(dir)) await writePhotoLikeJpegs(dir, opts.libraryImages, 640, 480, 3);
    await s.ingest.runJob(await s.ingest.createFolderJob('bench', dir));
    const encoderMs: number[] = [];
    for (let i = 0; i < opts.requests; i++) encoderMs.push((await timed(() => s.pack.text.encode([`${QUERIES[i % QUERIES.length]} ${i}`]))).ms);
    // Distinct texts: every request misses the embedding cache.
    const uncached: number[] = [];
    for (let i = 0; i < opts.requests; i++) uncached.push((await timed(() => searchOnce(server.url, 'bench', `${QUERIES[i % QUERIES.length]} ${i}#`))).ms);
    // The same few texts again and again: hits after the first round.
    const cached: number[] = [];
    for (let i = 0; i < opts.requests; i++) cached.push((await timed(() => searchOnce(server.url, 'bench', QUERIES[i % QUERIES.length]!))).ms);
    const enc = summarize(encoderMs);
    const http = summarize(uncached);
    await server.close();
    await s.close();
    const afterStart = await searchesAfterStart(h, pack, s.config.dataDir);
    return {
      model: pack.label,
      libraryImages: opts.libraryImages,
      textEncoderMs: enc,
      httpSearchUncachedMs: http,
      httpSearchCachedMs: summarize(cached),
      encoderShareOfP50: round(enc.p50 / http.p50, 3),
      cache: s.search.cacheStats,
      afterStart,
    };
  } finally {
    await server.close().catch(() => undefined);
    await s.close();
  }
}

/** How long the service sits idle before each of the searches after a pause. */
const IDLE_MS = 15_000;

export interface SearchesAfterStart {
  firstMs: number;
  restMs: ReturnType<typeof summarize>;
  /** Absent from runs before searches after a pause were measured. */
  idleMs?: number;
  afterIdleMs?: number[];
}

/**
 * The service as `npm start` runs it (its own process, OCR on as by default, so hybrid search), started
 * over the library in `dataDir`: ms of its first search once it listens, against the next ones, and of
 * searches after the service sat idle for IDLE_MS. The bench's own process has long loaded every module
 * and compiled every query, so only a fresh one shows the first.
 */
async function searchesAfterStart(h: Harness, pack: BenchPack, dataDir: string): Promise<SearchesAfterStart> {
  const root = path.resolve(__dirname, '..');
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: h.databaseUrl,
      DATA_DIR: dataDir,
      MODEL_DIR: pack.dir,
      MODEL_VERIFY_CHECKSUMS: 'false',
      HOST: '127.0.0.1',
      PORT: '0',
      ADMIN_API_KEY: 'bench',
      RATE_LIMIT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the service exited (${code}) before it listened`)));
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'imagesearch is listening') resolve(entry.url!);
      });
    });
    const search = async (text: string) => (await timed(() => searchOnce(url, 'bench', text))).ms;
    const ms: number[] = [];
    for (let i = 0; i < 21; i++) ms.push(await search(`${QUERIES[i % QUERIES.length]} 启动${i}`));
    // A person pauses between searches: past pg's 10 s idle timeout, a pool with no minimum has closed every connection.
    const afterIdleMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, IDLE_MS));
      afterIdleMs.push(round(await search(`${QUERIES[i % QUERIES.length]} 空闲${i}`), 1));
    }
    return { firstMs: round(ms[0]!, 1), restMs: summarize(ms.slice(1)), idleMs: IDLE_MS, afterIdleMs };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
