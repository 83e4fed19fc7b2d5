import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase, createVectorStore } from '../../src/app/services';
import { loadConfig } from '../../src/config/env';
import { createDb } from '../../src/db/prisma';
import { imagePayload } from '../../src/library/imagePayload';
import { loadManifest, packKey } from '../../src/models/manifest';
import { collectionName } from '../../src/store/vectorStore';
import { assetPointIds, imageId, sha256Hex } from '../../src/util/ids';
import { makeTestPack } from '../../scripts/test-pack/make';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { colourImage } from '../helpers/images';
import { freePort, killPostgres, ServiceProcess } from '../helpers/serviceProcess';

/**
 * A crash soak, as qdrant's crasher runs one: the service (`npm start`'s `node --import tsx src/main.ts` on its own local PostgreSQL and
 * embedded index) is SIGKILLed every few seconds with a probability, and its PostgreSQL at times too, while
 * workers ingest, PATCH, delete, bulk-delete and purge owners through the API; some photos are uploaded without
 * an external id (known by their bytes), and their bytes sent again while they live. Every write the API
 * acknowledged is recorded; at the end, with the service up for good and its jobs finished:
 * - lost: an acknowledged image that is not there and indexed, or an acknowledged PATCH not in effect;
 * - resurrected: a deleted image (by id, external id or owner purge) served again by any route: metadata,
 *   external id, listing, search, similar-image search, thumbnails by signed URL, captions, duplicates;
 * - orphans after `reconcile`: rows, vectors or derivative files without their counterpart, and vector
 *   payloads (what the search filters read) that differ from Postgres.
 * Checks of deleted images also run while the soak goes on, after each restart.
 */
export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Working folder (DATA_DIR, the service's log). */
  dir: string;
  /** Time between kill decisions, ms. */
  killEveryMs: [number, number];
  /** Chance that a decision kills the service, and that a kill takes PostgreSQL down too. */
  pKill: number;
  pPostgres: number;
  /** Chance that a kill takes only PostgreSQL, with the service up: the service starts it again (LOCAL_POSTGRES_CHECK_MS). */
  pPostgresAlone: number;
  workers: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  minutes: number;
  seed: number;
  kills: { service: number; postgres: number; postgresAlone: number; restartMsP50: number };
  acknowledged: { ingestJobs: number; images: number; resends: number; patches: number; deletes: number; bulkDeletes: number; purges: number };
  unacknowledged: number;
  checks: { deadReads: number; searches: number; listings: number };
  lost: { images: string[]; patches: string[] };
  resurrected: string[];
  orphans: { reconcileFixed: Record<string, number>; afterReconcile: Record<string, number>; files: string[]; payloadDrift: string[] };
}

const OWNERS = ['ana', 'ben', 'cai', 'dai'] as const;
const ADMIN_KEY = 'soak-admin-key';
const COLOUR_KEYS = COLOURS.map((c) => c.key);

interface Tracked {
  owner: string;
  /** The external id, or `bytes:<id>` for a photo uploaded without one. */
  key: string;
  externalId: string | null;
  /** Known once a listing or a lookup has seen it indexed. */
  id: string | null;
  /** A photo without an external id: the id its bytes give it, the bytes, and each time they were sent again. */
  byBytes?: { id: string; bytes: Buffer; resends: Window[] };
  /** A signed thumbnail URL handed out while it lived: it must stop working once the image is deleted. */
  thumbnailUrl: string | null;
  acked: boolean;
  dead: 'no' | 'acked' | 'maybe';
  /** When the delete (or purge) was acknowledged. */
  deadAt?: number;
  /** Every PATCH sent: its tags, when it was sent, and when its answer (or the kill that cut it off) came. */
  patches: Patch[];
}

/** A request's time: when it was sent, and when its answer (or the kill that cut it off) came. */
interface Window {
  sentAt: number;
  endedAt: number | null;
}

interface Patch extends Window {
  tags: string[];
  outcome: 'pending' | 'acked' | 'refused' | 'unanswered';
}

/**
 * The tags an image may end with: those of the PATCH acknowledged last, or of a PATCH whose window overlapped that
 * one's or came after it, unless it was refused: concurrent requests take effect in either order, and a PATCH cut
 * off by a kill may have been applied before the kill. Null when no PATCH was acknowledged.
 */
function allowedTags(patches: readonly Patch[]): string[][] | null {
  const acked = patches.filter((p) => p.outcome === 'acked');
  if (acked.length === 0) return null;
  const last = acked.reduce((a, b) => (b.endedAt! > a.endedAt! ? b : a));
  return [last, ...patches.filter((p) => p !== last && p.outcome !== 'refused' && (p.endedAt ?? Infinity) > last.sentAt)].map((p) => p.tags);
}

class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s * 1103515245 + 12345) & 0x7fffffff;
    return this.s / 0x7fffffff;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}

class ServiceDown extends Error {}
/** A write or read cut off by a kill is expected; anything else is a failure of the soak itself. */
const unlessDown = (e: unknown) => {
  if (!(e instanceof ServiceDown)) throw e;
};

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => undefined);
  const rng = new Rng(o.seed);
  const dataDir = path.join(o.dir, 'data');
  const modelDir = path.join(o.dir, 'test-pack');
  await mkdir(path.join(o.dir, 'inbox'), { recursive: true });
  await makeTestPack(modelDir);
  // One operator key acts for every owner here: a product's backend, not a per-user client, so no rate limit.
  const env = {
    DATA_DIR: dataDir,
    MODEL_DIR: modelDir,
    ADMIN_API_KEY: ADMIN_KEY,
    INGEST_ROOTS: path.join(o.dir, 'inbox'),
    LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'warn',
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOCAL_POSTGRES_CHECK_MS: '500',
  };
  const service = new ServiceProcess(env, await freePort(), path.join(o.dir, 'service.log'));
  const report: SoakReport = {
    minutes: o.minutes,
    seed: o.seed,
    kills: { service: 0, postgres: 0, postgresAlone: 0, restartMsP50: 0 },
    acknowledged: { ingestJobs: 0, images: 0, resends: 0, patches: 0, deletes: 0, bulkDeletes: 0, purges: 0 },
    unacknowledged: 0,
    checks: { deadReads: 0, searches: 0, listings: 0 },
    lost: { images: [], patches: [] },
    resurrected: [],
    orphans: { reconcileFixed: {}, afterReconcile: {}, files: [], payloadDrift: [] },
  };
  const tracked = new Map<string, Tracked>();
  const resurrected = new Set<string>();
  const restarts: number[] = [];
  let counter = 0;
  let up = false;
  /** Owners being purged take no new writes until the purge has answered, so what it covers is known. */
  const purging = new Set<string>();
  const busy = new Map<string, number>();

  const api = async (method: string, url: string, body?: unknown, form?: FormData): Promise<{ status: number; json: unknown }> => {
    if (!up) throw new ServiceDown();
    let res: Response;
    try {
      res = await fetch(`${service.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: form ?? (body !== undefined ? JSON.stringify(body) : undefined),
      });
    } catch {
      throw new ServiceDown();
    }
    const text = await res.text().catch(() => {
      throw new ServiceDown();
    });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  };

  const alive = (owner?: string) => [...tracked.values()].filter((t) => t.id && t.dead === 'no' && (!owner || t.owner === owner));
  const isDead = (t: Tracked) => t.dead === 'acked';
  const deadOnes = () => [...tracked.values()].filter(isDead);
  /**
   * A deleted image in an answer to a read issued after the delete was acknowledged. A read issued before (its
   * answer crossing the delete's) may show it: the two overlapped, and either order is right.
   */
  const flag = (t: Tracked | undefined, where: string, issuedAt: number) => {
    if (t && isDead(t) && t.deadAt! < issuedAt)
      resurrected.add(`${t.key} via ${where}, asked ${((issuedAt - t.deadAt!) / 1000).toFixed(1)} s after its delete was acknowledged`);
  };
  const idOf = (t: Tracked) => t.id ?? t.byBytes?.id ?? null;
  const byId = () => new Map([...tracked.values()].flatMap((t) => (idOf(t) ? [[idOf(t)!, t] as const] : [])));
  /** The image's own routes, by the product's id where it gave one. */
  const imageUrl = (t: Tracked) =>
    t.externalId !== null ? `/v1/images/by-external-id/${encodeURIComponent(t.externalId)}?owner=${t.owner}` : `/v1/images/${idOf(t)}?owner=${t.owner}`;

  /** Learns ids of indexed images from the listing, and checks it shows no deleted one. */
  const learn = async (owner: string) => {
    const ids = byId();
    let cursor: string | null = null;
    do {
      const issuedAt = Date.now();
      const res = await api('GET', `/v1/images?owner=${owner}&sort=ingestedAt&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      if (res.status !== 200) return;
      const page = res.json as { images: { id: string; externalId: string | null; state: string }[]; nextCursor: string | null };
      for (const img of page.images) {
        const t = img.externalId ? tracked.get(img.externalId) : ids.get(img.id);
        flag(t, 'listing', issuedAt);
        if (t && !t.id && img.state === 'indexed') t.id = img.id;
      }
      cursor = page.nextCursor;
    } while (cursor);
    report.checks.listings++;
  };

  const search = async (owner: string) => {
    const issuedAt = Date.now();
    const res = await api('POST', '/v1/search/text', { query: `${rng.pick(COLOURS).words[0]!}色`, limit: 100, filters: { owner } });
    if (res.status !== 200) return;
    const ids = byId();
    for (const h of (res.json as { hits: { id: string; externalId: string | null; thumbnailUrl: string }[] }).hits) {
      const t = h.externalId ? tracked.get(h.externalId) : ids.get(h.id);
      flag(t, 'text search', issuedAt);
      if (t && t.dead === 'no' && !t.thumbnailUrl) t.thumbnailUrl = h.thumbnailUrl;
    }
    report.checks.searches++;
  };

  /**
   * Every route that could serve a deleted image, for a few deleted images. Only an answer that serves it
   * counts: an error while PostgreSQL is down serves nothing.
   */
  const served = (status: number) => status >= 200 && status < 300;
  const readDead = async (sample: Tracked[]) => {
    for (const t of sample) {
      const check = async (where: string, method: string, url: string, body?: unknown) => {
        const issuedAt = Date.now();
        const { status } = await api(method, url, body);
        if (served(status)) flag(t, `${where} (HTTP ${status})`, issuedAt);
      };
      if (t.externalId !== null) await check('external id', 'GET', imageUrl(t));
      const id = idOf(t);
      if (id) {
        await check('metadata', 'GET', `/v1/images/${id}`);
        await check('caption', 'GET', `/v1/images/${id}/caption`);
        await check('thumbnail', 'GET', `/v1/images/${id}/thumbnail`);
        await check('similar by id', 'POST', '/v1/search/image', { imageId: id });
      }
      if (t.thumbnailUrl) {
        const issuedAt = Date.now();
        const res = await fetch(`${service.url}${t.thumbnailUrl}`).catch(() => null);
        if (!res) throw new ServiceDown();
        if (served(res.status)) flag(t, `signed thumbnail URL (HTTP ${res.status})`, issuedAt);
      }
      report.checks.deadReads++;
    }
    const owner = rng.pick(OWNERS);
    const dupsAt = Date.now();
    const dups = await api('GET', `/v1/duplicates?owner=${owner}&includeDismissed=true&limit=100`);
    if (dups.status === 200) {
      const ids = byId();
      for (const g of (dups.json as { groups: { members: { image: { id: string } }[] }[] }).groups)
        for (const m of g.members) flag(ids.get(m.image.id), 'duplicates', dupsAt);
    }
  };

  const ingest = async (owner: string) => {
    const n = rng.int(1, 3);
    const byBytes = rng.next() < 0.3;
    const items: Tracked[] = [];
    const form = new FormData();
    form.set('owner', owner);
    for (let i = 0; i < n; i++) {
      const name = `${owner}-${++counter}`;
      const bytes = await colourImage(rng.pick(COLOUR_KEYS), { seed: o.seed * 1_000_000 + counter, width: 64, height: 48 });
      form.append('files', new Blob([new Uint8Array(bytes)]), `${name}.png`);
      const id = imageId(owner, sha256Hex(bytes));
      items.push({
        owner,
        ...(byBytes ? { key: `bytes:${id}`, externalId: null, byBytes: { id, bytes, resends: [] } } : { key: name, externalId: name }),
        id: null,
        thumbnailUrl: null,
        acked: false,
        dead: 'no',
        patches: [],
      });
    }
    if (!byBytes) form.set('externalIds', JSON.stringify(items.map((t) => t.externalId)));
    for (const t of items) tracked.set(t.key, t);
    const res = await api('POST', '/v1/admin/ingest', undefined, form).catch((e: unknown) => {
      report.unacknowledged++;
      throw e;
    });
    if (res.status === 202) {
      for (const t of items) t.acked = true;
      report.acknowledged.ingestJobs++;
      report.acknowledged.images += n;
    }
  };

  /** A live photo's bytes again, as a product syncing a library sends them: a delete acknowledged after this one was must win. */
  const resend = async (owner: string) => {
    const pool = alive(owner).filter((t) => t.byBytes);
    if (!pool.length) return;
    const t = rng.pick(pool);
    const sent: Window = { sentAt: Date.now(), endedAt: null };
    t.byBytes!.resends.push(sent);
    const form = new FormData();
    form.set('owner', owner);
    form.append('files', new Blob([new Uint8Array(t.byBytes!.bytes)]), 'again.png');
    const res = await api('POST', '/v1/admin/ingest', undefined, form).catch((e: unknown) => {
      sent.endedAt = Date.now();
      report.unacknowledged++;
      throw e;
    });
    sent.endedAt = Date.now();
    if (res.status === 202) report.acknowledged.resends++;
  };

  const patch = async (owner: string) => {
    const t = alive(owner).length ? rng.pick(alive(owner)) : null;
    if (!t) return;
    const sent: Patch = { tags: [`t${rng.int(0, 999)}`], sentAt: Date.now(), endedAt: null, outcome: 'pending' };
    t.patches.push(sent);
    const res = await api('PATCH', imageUrl(t), { tags: sent.tags }).catch((e: unknown) => {
      Object.assign(sent, { endedAt: Date.now(), outcome: 'unanswered' });
      report.unacknowledged++;
      throw e;
    });
    Object.assign(sent, { endedAt: Date.now(), outcome: res.status === 200 ? 'acked' : 'refused' });
    if (res.status === 200) report.acknowledged.patches++;
  };

  const remove = async (owner: string, bulk: boolean) => {
    const pool = alive(owner);
    if (!pool.length) return;
    const victims = bulk ? [rng.pick(pool), rng.pick(pool)] : [rng.pick(pool)];
    for (const v of victims) v.dead = 'maybe';
    const sentAt = Date.now();
    const refs = (pick: (v: Tracked) => string | null) => [...new Set(victims.flatMap((v) => (pick(v) !== null ? [pick(v)!] : [])))];
    const res = await (
      bulk
        ? api('POST', '/v1/images/delete', { owner, externalIds: refs((v) => v.externalId), ids: refs((v) => (v.externalId === null ? idOf(v) : null)) })
        : api('DELETE', imageUrl(victims[0]!))
    ).catch((e: unknown) => {
      report.unacknowledged++;
      throw e;
    });
    if (res.status === 200) {
      // Bytes sent again while the delete was on its way may have been asked for after it: either order is right.
      const overlapped = (v: Tracked) => v.byBytes?.resends.some((r) => (r.endedAt ?? Infinity) >= sentAt) ?? false;
      for (const v of victims) Object.assign(v, overlapped(v) ? { dead: 'maybe' } : { dead: 'acked', deadAt: Date.now() });
      if (bulk) report.acknowledged.bulkDeletes++;
      else report.acknowledged.deletes++;
    }
  };

  const purge = async (owner: string) => {
    purging.add(owner);
    try {
      while ((busy.get(owner) ?? 0) > 0) await new Promise((r) => setTimeout(r, 20));
      const covered = [...tracked.values()].filter((t) => t.owner === owner && t.dead !== 'acked');
      for (const t of covered) t.dead = 'maybe';
      const res = await api('DELETE', `/v1/owners/${owner}`).catch((e: unknown) => {
        report.unacknowledged++;
        throw e;
      });
      if (res.status === 200) {
        for (const t of covered) Object.assign(t, { dead: 'acked', deadAt: Date.now() });
        report.acknowledged.purges++;
      }
    } finally {
      purging.delete(owner);
    }
  };

  const endAt = Date.now() + o.minutes * 60_000;
  const worker = async () => {
    while (Date.now() < endAt) {
      const owner = rng.pick(OWNERS);
      if (purging.has(owner)) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      busy.set(owner, (busy.get(owner) ?? 0) + 1);
      const roll = rng.next();
      // Uploads are answered at once and indexed after: keep the backlog to what ingest works through.
      const backlog = [...tracked.values()].filter((t) => t.acked && !t.id && t.dead === 'no').length;
      try {
        if (roll < 0.3 && backlog > 24) await learn(owner);
        else if (roll < 0.3) await ingest(owner);
        else if (roll < 0.35) await resend(owner);
        else if (roll < 0.5) await patch(owner);
        else if (roll < 0.6) await remove(owner, false);
        else if (roll < 0.65) await remove(owner, true);
        else if (roll < 0.8) await search(owner);
        else if (roll < 0.9) await learn(owner);
        else await readDead(deadOnes().slice(-3));
      } catch (e) {
        unlessDown(e);
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        busy.set(owner, busy.get(owner)! - 1);
      }
      await new Promise((r) => setTimeout(r, rng.int(0, 50)));
      // Now and then an owner goes entirely (rarely: a purge takes its whole library).
      if (rng.next() < 0.0015 && !purging.has(owner)) await purge(owner).catch(unlessDown);
    }
  };

  const killer = async () => {
    while (Date.now() < endAt) {
      await new Promise((r) => setTimeout(r, rng.int(o.killEveryMs[0], o.killEveryMs[1])));
      if (Date.now() >= endAt || rng.next() >= o.pKill) continue;
      if (rng.next() < o.pPostgresAlone) {
        // The service stays up: it answers 503s, its jobs pause, and it starts its PostgreSQL again.
        if (await killPostgres(path.join(dataDir, 'postgres'))) report.kills.postgresAlone++;
        log(`PostgreSQL alone killed (${report.kills.postgresAlone})`);
        continue;
      }
      up = false;
      const withPostgres = rng.next() < o.pPostgres;
      if (withPostgres && (await killPostgres(path.join(dataDir, 'postgres')))) report.kills.postgres++;
      // With the database gone, the service answers errors for a moment before it is killed too.
      if (withPostgres) await new Promise((r) => setTimeout(r, rng.int(0, 1500)));
      await service.kill();
      report.kills.service++;
      restarts.push(await service.start());
      up = true;
      log(`kill ${report.kills.service} (postgres ${report.kills.postgres}); acknowledged ${JSON.stringify(report.acknowledged)}`);
      // After each restart: nothing deleted is back.
      await readDead(deadOnes().slice(-5)).catch(unlessDown);
    }
  };

  restarts.push(await service.start());
  up = true;
  try {
    await Promise.all([killer(), ...Array.from({ length: o.workers }, worker)]);
    log('soak over: waiting for the jobs to finish');
    await waitForJobs(api);
    for (const owner of OWNERS) await learn(owner);
    // Lost: acknowledged, never deleted (nor maybe deleted), yet not there indexed; or a PATCH not in effect.
    for (const t of tracked.values()) {
      if (!t.acked || t.dead !== 'no') continue;
      const res = await api('GET', imageUrl(t));
      const rec = res.json as { state?: string; tags?: string[] };
      if (res.status !== 200 || rec.state !== 'indexed') {
        report.lost.images.push(`${t.key}: ${res.status} ${rec.state ?? ''}`);
        continue;
      }
      const allowed = allowedTags(t.patches)?.map((x) => JSON.stringify(x));
      if (allowed && !allowed.includes(JSON.stringify(rec.tags))) report.lost.patches.push(`${t.key}: ${JSON.stringify(rec.tags)} not ${allowed.join(' | ')}`);
    }
    await readDead(deadOnes());
    for (const owner of OWNERS) for (let i = 0; i < 3; i++) await search(owner);
    const fixed = (await api('POST', '/v1/admin/reconcile', { fix: true })).json as Record<string, unknown>;
    report.orphans.reconcileFixed = counts(fixed);
    await waitForJobs(api);
    report.orphans.afterReconcile = counts((await api('POST', '/v1/admin/reconcile', { fix: false })).json as Record<string, unknown>);
    up = false;
    await service.stop();
    const atRest = await inspectAtRest(env, modelDir);
    report.orphans.files = atRest.orphanFiles;
    report.orphans.payloadDrift = atRest.drift;
  } finally {
    up = false;
    await service.kill();
    await killPostgres(path.join(dataDir, 'postgres'));
  }
  report.resurrected = [...resurrected];
  const sorted = [...restarts].sort((a, b) => a - b);
  report.kills.restartMsP50 = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return report;
}

function counts(r: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(r)
      .filter(([, v]) => Array.isArray(v))
      .map(([k, v]) => [k, (v as unknown[]).length]),
  );
}

async function waitForJobs(api: (m: string, u: string) => Promise<{ status: number; json: unknown }>, timeoutMs = 600_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await Promise.all(
      ['queued', 'running'].map(async (state) => ((await api('GET', `/v1/admin/jobs?state=${state}&limit=5`)).json as { jobs: unknown[] }).jobs.length),
    );
    if (open.every((n) => n === 0)) return;
    if (Date.now() > until) throw new Error('jobs did not finish');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * With the service stopped: derivative files of no live image, and vector payloads that differ from the rows
 * (the search filters read the payload: a tag Postgres has and the index lacks is a photo a filter misses).
 */
async function inspectAtRest(env: Record<string, string>, modelDir: string): Promise<{ orphanFiles: string[]; drift: string[] }> {
  const config = loadConfig(env);
  const database = await openDatabase(config);
  const db = createDb(database.url, 2);
  const store = createVectorStore(config);
  try {
    const manifest = await loadManifest(modelDir);
    const collection = await store.collection(collectionName(config.QDRANT_COLLECTION_PREFIX, packKey(manifest)), manifest.embeddingDim);
    const rows = await db.image.findMany({ where: { deletedAt: null } });
    const points = new Set(rows.filter((r) => r.state !== 'failed').flatMap(assetPointIds));
    const orphanFiles: string[] = [];
    const root = path.join(config.dataDir, 'derivatives');
    // Files being written live under .tmp/<writer>; the last start swept those of writers killed before it.
    for (const writer of await readdir(path.join(root, '.tmp')).catch(() => [] as string[]))
      for (const file of await readdir(path.join(root, '.tmp', writer))) orphanFiles.push(`.tmp/${writer}/${file}`);
    for (const kind of await readdir(root).catch(() => [] as string[])) {
      if (kind.startsWith('.')) continue;
      for (const shard of await readdir(path.join(root, kind)).catch(() => [] as string[]))
        for (const file of await readdir(path.join(root, kind, shard)).catch(() => [] as string[]))
          if (!points.has(file.replace(/\.[^.]+$/, ''))) orphanFiles.push(`${kind}/${file}`);
    }
    const drift: string[] = [];
    for (const r of rows.filter((x) => x.state === 'indexed')) {
      const want = imagePayload(r);
      for (const p of await collection.retrieve(assetPointIds(r))) {
        const got = p.payload;
        for (const k of ['owner', 'albums', 'favorite', 'hidden', 'archived', 'tags', 'takenAt'] as const)
          if (JSON.stringify(got[k]) !== JSON.stringify(want[k]))
            drift.push(`${r.externalId ?? r.id} ${k}: index ${JSON.stringify(got[k])}, rows ${JSON.stringify(want[k])}`);
      }
    }
    return { orphanFiles, drift };
  } finally {
    await store.close();
    await db.$disconnect();
    await database.close();
  }
}

export async function writeSoakReport(report: SoakReport, file: string): Promise<void> {
  const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const lines = [
    `# Crash soak: ${report.minutes} minutes (seed ${report.seed})`,
    '',
    "`npm run soak -- --minutes N`: the service and, at times, its PostgreSQL SIGKILLed while ingest (with and without external ids, and a live photo's bytes sent again), PATCH, deletes and owner purges run (test/soak/soak.ts).",
    '',
    '| | |',
    '|---|---|',
    `| kills of the service | ${report.kills.service} (restart to ready, p50 ${(report.kills.restartMsP50 / 1000).toFixed(1)} s) |`,
    `| kills of PostgreSQL | ${report.kills.postgres} with the service, ${report.kills.postgresAlone} alone, with the service up |`,
    `| acknowledged writes | ${report.acknowledged.ingestJobs} ingest jobs (${report.acknowledged.images} images), ${report.acknowledged.resends} uploads of a live photo's bytes again, ${report.acknowledged.patches} PATCHes, ${report.acknowledged.deletes} deletes, ${report.acknowledged.bulkDeletes} bulk deletes, ${report.acknowledged.purges} owner purges |`,
    `| writes cut off by a kill (unknown outcome) | ${report.unacknowledged} |`,
    `| reads of deleted images while it ran | ${report.checks.deadReads} (plus ${report.checks.searches} searches and ${report.checks.listings} full listings) |`,
    `| **lost** (acknowledged, not in effect) | **${report.lost.images.length + report.lost.patches.length}** |`,
    `| **resurrected** (deleted, served again) | **${report.resurrected.length}** |`,
    `| repaired by reconcile | ${total(report.orphans.reconcileFixed)} (${JSON.stringify(report.orphans.reconcileFixed)}) |`,
    `| **orphans after reconcile** | **${total(report.orphans.afterReconcile) + report.orphans.files.length + report.orphans.payloadDrift.length}** (rows/vectors ${total(report.orphans.afterReconcile)}, files ${report.orphans.files.length}, payload drift ${report.orphans.payloadDrift.length}) |`,
    '',
  ];
  for (const [title, items] of [
    ['Lost', [...report.lost.images, ...report.lost.patches]],
    ['Resurrected', report.resurrected],
    ['Orphan files', report.orphans.files],
    ['Payload drift', report.orphans.payloadDrift],
  ] as const)
    if (items.length) lines.push(`## ${title}`, '', ...items.slice(0, 50).map((i) => `- ${i}`), '');
  await writeFile(file, lines.join('\n'));
}
