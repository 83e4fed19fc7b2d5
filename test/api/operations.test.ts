import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import sharp from 'sharp';
import { writeColourLibrary } from '../helpers/files';
import { createTestDatabase } from '../helpers/database';
import { tempDir, testEnv } from '../helpers/env';
import { niceFromStat, parentFromStat, statesOnce } from '../helpers/proc';
import { ADMIN_KEY, startTestService, type TestService } from '../helpers/service';

describe('operations', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ RATE_LIMIT_PER_MINUTE: '1000' });
    await writeColourLibrary(svc.inbox);
    await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('alice', '.'));
    // OCR and the stages read the new photos after ingest: once they are done, no run waits for the encoder.
    await svc.services.ocr?.idle();
    await svc.services.stages.idle();
  });
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  test('Prometheus metrics cover requests, encoders and ingest', async () => {
    await svc.api().post('/v1/search/text').send({ query: '红' });
    const res = await svc.api(null).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/v1\/search\/text"[^}]*status="200"/);
    expect(res.text).toMatch(/encoder_run_duration_seconds_count\{kind="text"\} [1-9]/);
    // 8 ingested plus the blank image that warms the session up at start.
    expect(res.text).toMatch(/encoder_items_total\{kind="image"\} 9/);
    expect(res.text).toMatch(/ingest_items_total\{result="done"\} 8/);
    expect(res.text).toMatch(/ingest_queue_depth 0/);
    expect(res.text).toMatch(/encoder_queue_depth 0/);
  });

  test("queries first: while a query encodes, ingest's decode processes are stopped, and they run again after", async () => {
    // This service's ingest decoders: children of this process, niced (the query decoder is not).
    const ingestDecoders = () =>
      decodeProcesses()
        .filter((p) => p.nice === 19 && parentFromStat(`/proc/${p.pid}/stat`) === process.pid)
        .map((p) => p.pid);
    expect(ingestDecoders()).toHaveLength(2);
    let during: string[] = [];
    await svc.services.pack.gate.run('interactive', async () => {
      during = await statesOnce(ingestDecoders, (state) => state === 'T');
    });
    expect(during).toEqual(['T', 'T']);
    expect(await statesOnce(ingestDecoders, (state) => state !== 'T')).not.toContain('T');
    await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('queries-first', '.'));
  });

  test('request ids are echoed or made', async () => {
    const given = await svc.api().post('/v1/search/text').set('x-request-id', 'abc-123').send({ query: '红' });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await svc.api().post('/v1/search/text').send({ query: '红' });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('limits', () => {
  let svc: TestService;
  afterEach(async () => {
    await svc.close();
    await svc.database.drop();
  });

  test('rate limits are per key', async () => {
    svc = await startTestService({ RATE_LIMIT_PER_MINUTE: '3' });
    const other = (await svc.services.keys.create('other', 'bob', ['search'])).key;
    for (let i = 0; i < 3; i++) expect((await svc.api().post('/v1/search/text').send({ query: '红' })).status).toBe(200);
    const limited = await svc.api().post('/v1/search/text').send({ query: '红' });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await svc.api(other).post('/v1/search/text').send({ query: '红' })).status).toBe(200);
  });

  test('a request past its deadline gets a 503', async () => {
    svc = await startTestService({ REQUEST_TIMEOUT_MS: '5' });
    const big = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#0a0' } })
      .png()
      .toBuffer();
    const res = await svc.api().post('/v1/search/image').attach('image', big, 'big.png');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('timeout');
  });
});

/** Decode processes, with their nice values, from /proc; a service's own when `dataDir` names its DATA_DIR (they inherit it). */
function decodeProcesses(dataDir?: string): { pid: number; nice: number }[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('decodeProcess')) return [];
        if (dataDir && !readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`DATA_DIR=${dataDir}`)) return [];
        return [{ pid: Number(pid), nice: niceFromStat(`/proc/${pid}/stat`) }];
      } catch {
        return []; // gone meanwhile
      }
    });
}

describe('graceful shutdown', () => {
  test('SIGTERM lets the request in flight finish, then the process exits cleanly', async () => {
    const database = await createTestDatabase();
    const dataDir = await tempDir('shutdown');
    const root = path.resolve(__dirname, '../..');
    const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        DATA_DIR: dataDir,
        MODEL_DIR: testEnv('TEST_MODEL_DIR'),
        PORT: '0',
        ADMIN_API_KEY: ADMIN_KEY,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const logs: { msg?: string; url?: string; mode?: string }[] = [];
    const listening = new Promise<string>((resolve) => {
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as (typeof logs)[number];
        logs.push(entry);
        if (entry.msg === 'imagesearch is listening') resolve(entry.url!);
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const base = new URL(await listening);
    // One kept-alive connection, so the slow request is already accepted when the signal lands.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    /** `accepted` fires once the server has parsed the request's headers (it answers 100 Continue). */
    const call = (method: string, p: string, body?: Buffer, type?: string, accepted?: () => void) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: base.hostname,
            port: base.port,
            path: p,
            method,
            agent,
            headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(type ? { 'content-type': type } : {}), ...(accepted ? { expect: '100-continue' } : {}) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        if (accepted)
          req.on('continue', () => {
            req.end(body);
            accepted();
          });
        else req.end(body);
      });
    expect(await call('GET', '/readyz')).toBe(200);
    // One search ran before it listened (OCR is on by default, so hybrid), so the first of a user's is not the slow one.
    expect(logs.find((l) => l.msg === 'search warmed up')).toMatchObject({ mode: 'hybrid' });
    // Decode processes start with the service, not with the first image: the query's at normal
    // priority, ingest's (DECODE_THREADS, 2) niced once they have started.
    let nices: number[] = [];
    for (let i = 0; i < 100 && nices.join() !== '0,19,19'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      nices = decodeProcesses(dataDir)
        .map((p) => p.nice)
        .sort((a, b) => a - b);
    }
    expect(nices).toEqual([0, 19, 19]);
    const image = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#d22' } })
      .png()
      .toBuffer();
    const boundary = 'x-boundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="r.png"\r\nContent-Type: image/png\r\n\r\n`),
      image,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    // The signal lands once the server holds the request: a connection still idle at that moment is closed, as it should be.
    let accepted!: () => void;
    const inFlight = new Promise<void>((r) => (accepted = r));
    const slow = call('POST', '/v1/search/image', body, `multipart/form-data; boundary=${boundary}`, accepted);
    await inFlight;
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    expect(await slow).toBe(200);
    expect(await exited).toBe(0);
    expect(decodeProcesses(dataDir)).toEqual([]);
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down: draining requests and ingest', 'stopped']));
    agent.destroy();
    await database.drop();
  });

  test('a MODEL_DIR that does not exist stops the start with one line that says what to do', async () => {
    const root = path.resolve(__dirname, '../..');
    const missing = path.join(await tempDir('no-pack'), 'pack');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, DATA_DIR: await tempDir('no-pack-data'), MODEL_DIR: missing, PORT: '0', ADMIN_API_KEY: ADMIN_KEY },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringContaining(`no model pack at ${missing}: set MODEL_DIR`)]);
  });
});
