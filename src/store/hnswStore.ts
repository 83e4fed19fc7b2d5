import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { HierarchicalNSW } from 'hnswlib-node';
import { dot } from '../models/vectorMath';
import { acquireLock } from './fileLock';
import { LabelSet } from './labelSet';
import { LabelTable } from './labelTable';
import { QuantizedVectors, WASM_MEMORY_MAX_BYTES } from './quantizedVectors';
import {
  ownerList,
  payloadTest,
  VectorStoreError,
  VectorStoreFull,
  type PayloadUpdate,
  type PointFilter,
  type PointPayload,
  type ScoredPoint,
  type SearchRequest,
  type VectorCollection,
  type VectorPoint,
  type VectorStore,
} from './vectorStore';

export interface HnswSettings {
  m: number;
  efConstruction: number;
  efSearch: number;
  /**
   * A filter matching at most this many points is answered by scoring each of them (fast and exact); so is one that
   * keeps less than walkShare of the collection, however many that is.
   */
  exactSearchThreshold: number;
  /** The share of the whole graph a filter must keep to be searched by walking the graph (see WALK_SHARE). */
  walkShare: number;
  /** Log entries after which the index is snapshotted and the log truncated. */
  snapshotEvery: number;
  /**
   * Vectors kept as Float32Array for scoring a filter's best candidates exactly: reading one out of hnswlib makes a
   * JS array each time, which cost ~5 ms of a 100-photo search.
   */
  vectorCache: number;
  /**
   * The WebAssembly memory a collection's int8 vectors may take, 4 GiB at most: it caps the points a collection holds
   * (about 8.3 million at 512-d), and a write past that is refused before it is logged.
   */
  int8MemoryBytes: number;
}

interface Entry {
  id: string;
  payload: PointPayload;
}

type LogRecord =
  | { op: 'upsert'; points: { id: string; v: string; p: PointPayload }[] }
  | { op: 'payload'; points: { id: string; p: PointPayload }[] }
  | { op: 'delete'; ids: string[] };

interface SnapshotMeta {
  /** 2: the snapshot also holds quantized.bin, the int8 vectors of `points` in that order. */
  format: 1 | 2;
  dim: number;
  nextLabel: number;
  capacity: number;
  points: [label: number, id: string, payload: PointPayload][];
}

const INITIAL_CAPACITY = 1024;
/** The filter, or undefined when it sets no condition. */
const someFilter = (f: PointFilter | undefined): PointFilter | undefined => (f && Object.values(f).some((v) => v !== undefined) ? f : undefined);
/** Points drawn to estimate the share a filter keeps. */
const SHARE_SAMPLE = 200;
/**
 * The share of the whole graph a filter must keep for the walk, checking it on each point met, to beat listing the
 * kept points and scoring each (about a microsecond a point): at 100 000 points the walk took 1.4 ms keeping all,
 * 4.1 keeping a third, 11.6 a tenth and 52 a hundredth (hnswlib, ef 128, 512-d); one owner of 100 among 1M took
 * 400 ms walked at ef 512, 3.4 ms scored (npm run bench:store).
 */
const WALK_SHARE = 0.05;

export const DEFAULT_HNSW: HnswSettings = {
  m: 16,
  efConstruction: 200,
  efSearch: 128,
  exactSearchThreshold: 5000,
  walkShare: WALK_SHARE,
  snapshotEvery: 20_000,
  vectorCache: 20_000,
  int8MemoryBytes: WASM_MEMORY_MAX_BYTES,
};

/** Flushes a file (or a directory's entries) to disk: CURRENT must never name a snapshot a power cut can tear. */
async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function writeDurably(file: string, data: string | Buffer): Promise<void> {
  await writeFile(file, data);
  await syncFile(file);
}

const encodeVector = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
const decodeVector = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/**
 * Whether a filter keeping `kept` of a graph's `points` is searched by walking the graph (else its points are listed
 * and scored): it must keep more than the exact-search threshold, and at least walkShare of the whole graph.
 */
export function walksThrough(kept: number, points: number, settings: Pick<HnswSettings, 'exactSearchThreshold' | 'walkShare'>): boolean {
  return kept > settings.exactSearchThreshold && kept >= settings.walkShare * points;
}

/**
 * One collection: an hnswlib graph plus id/payload maps in memory, made durable by an
 * append-only log (fsynced before a write returns) and periodic snapshots. Files:
 * CURRENT (snapshot generation n), snap-n/{index.bin,meta.json}, wal-n.jsonl (writes since).
 */
class HnswCollection implements VectorCollection {
  private index: HierarchicalNSW;
  private readonly byLabel = new LabelTable<Entry>();
  private readonly byId = new Map<string, number>();
  private readonly byOwner = new Map<string, LabelSet>();
  /** Oldest first: the first key is evicted when full. */
  private readonly vectors = new Map<number, Float32Array>();
  private quantized: QuantizedVectors;
  private nextLabel = 0;
  private generation = 0;
  private logEntries = 0;
  private log: FileHandle | null = null;
  private closed = false;
  /** Set when the int8 vectors had to be made at open, so that the next start reads them. */
  private snapshotOnClose = false;
  /** Serialises writes: the log and the graph must see them in one order. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly dim: number,
    private readonly dir: string,
    private readonly settings: HnswSettings,
  ) {
    this.index = this.emptyIndex(INITIAL_CAPACITY);
    this.quantized = this.emptyQuantized(INITIAL_CAPACITY);
  }

  private emptyIndex(capacity: number): HierarchicalNSW {
    const index = new HierarchicalNSW('cosine', this.dim);
    index.initIndex({ maxElements: capacity, m: this.settings.m, efConstruction: this.settings.efConstruction, randomSeed: 100, allowReplaceDeleted: true });
    return index;
  }

  private emptyQuantized(capacity: number): QuantizedVectors {
    return new QuantizedVectors(this.dim, capacity, this.settings.int8MemoryBytes);
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const current = path.join(this.dir, 'CURRENT');
    if (existsSync(current)) {
      this.generation = Number((await readFile(current, 'utf8')).trim());
      await this.loadSnapshot(path.join(this.dir, `snap-${this.generation}`));
    }
    await this.replayLog(this.logPath(this.generation));
    this.log = await open(this.logPath(this.generation), 'a');
  }

  private logPath(gen: number): string {
    return path.join(this.dir, `wal-${gen}.jsonl`);
  }

  private async loadSnapshot(dir: string): Promise<void> {
    const meta = JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')) as SnapshotMeta;
    if (meta.dim !== this.dim) throw new VectorStoreError(`collection ${this.name} holds ${meta.dim}-d vectors, not ${this.dim}-d`);
    this.index = this.emptyIndex(meta.capacity);
    if (meta.points.length > 0) await this.index.readIndex(path.join(dir, 'index.bin'), true);
    this.index.setEf(this.settings.efSearch);
    this.nextLabel = meta.nextLabel;
    for (const [label, id, payload] of meta.points) this.remember(label, id, payload);
    const labels = meta.points.map(([label]) => label);
    this.quantized = this.emptyQuantized(Math.max(Math.ceil(labels.length * 1.1), INITIAL_CAPACITY));
    const file = path.join(dir, 'quantized.bin');
    const loaded = meta.format === 2 && existsSync(file) && this.quantized.load(await readFile(file), labels);
    // A snapshot from before format 2 (or a damaged file): made again from the graph, once; the next snapshot holds it.
    if (!loaded) {
      for (const label of labels) this.quantized.set(label, this.index.getPoint(label));
      this.snapshotOnClose = true;
    }
  }

  private async replayLog(file: string): Promise<void> {
    if (!existsSync(file)) return;
    const lines = (await readFile(file, 'utf8')).split('\n');
    for (const [i, line] of lines.entries()) {
      if (!line) continue;
      let rec: LogRecord;
      try {
        rec = JSON.parse(line) as LogRecord;
      } catch (e) {
        // Only the last line can be torn by a crash, and it was never acknowledged.
        if (i >= lines.length - 2) break;
        throw new VectorStoreError(`corrupt log ${file} at line ${i + 1}: ${(e as Error).message}`);
      }
      if (rec.op === 'upsert') this.applyUpsert(rec.points.map((p) => ({ id: p.id, vector: decodeVector(p.v), payload: p.p })));
      else if (rec.op === 'payload') this.applyPayload(rec.points.map((p) => ({ id: p.id, payload: p.p })));
      else this.applyDelete(rec.ids);
      this.logEntries++;
    }
  }

  private remember(label: number, id: string, payload: PointPayload): void {
    this.byLabel.set(label, { id, payload });
    this.byId.set(id, label);
    let owned = this.byOwner.get(payload.owner);
    if (!owned) this.byOwner.set(payload.owner, (owned = new LabelSet()));
    owned.add(label);
  }

  private forget(label: number): void {
    const entry = this.byLabel.get(label);
    if (!entry) return;
    this.vectors.delete(label);
    this.quantized.delete(label);
    this.byLabel.delete(label);
    this.byId.delete(entry.id);
    this.disown(label, entry.payload.owner);
  }

  private disown(label: number, owner: string): void {
    const owned = this.byOwner.get(owner);
    owned?.delete(label);
    if (owned?.size === 0) this.byOwner.delete(owner);
  }

  /** How many points of `points` are new: a new id given twice takes one label. */
  private freshCount(points: readonly VectorPoint[]): number {
    return new Set(points.map((p) => p.id).filter((id) => !this.byId.has(id))).size;
  }

  private applyUpsert(points: readonly VectorPoint[]): void {
    // Deleted slots are reused first, so this over-estimates; growing early is harmless.
    const needed = this.index.getCurrentCount() + this.freshCount(points);
    if (needed > this.index.getMaxElements()) this.index.resizeIndex(Math.max(needed, this.index.getMaxElements() * 2));
    for (const p of points) {
      const existing = this.byId.get(p.id);
      const label = existing ?? this.nextLabel++;
      if (existing !== undefined) this.forget(existing);
      this.index.addPoint(Array.from(p.vector), label, existing === undefined);
      this.quantized.set(label, p.vector);
      this.remember(label, p.id, p.payload);
    }
  }

  private applyPayload(points: readonly PayloadUpdate[]): void {
    for (const { id, payload } of points) {
      const label = this.byId.get(id);
      if (label === undefined) continue;
      this.disown(label, this.byLabel.get(label)!.payload.owner);
      this.remember(label, id, payload);
    }
  }

  private applyDelete(ids: readonly string[]): void {
    for (const id of ids) {
      const label = this.byId.get(id);
      if (label === undefined) continue;
      this.index.markDelete(label);
      this.forget(label);
    }
  }

  private checkDim(points: readonly VectorPoint[]): void {
    for (const p of points) {
      if (p.vector.length !== this.dim) throw new VectorStoreError(`point ${p.id} has ${p.vector.length} dims, collection ${this.name} has ${this.dim}`);
    }
  }

  /** Refuses points the int8 memory cannot hold, before they are logged: a logged write must apply at every replay. */
  private admit(points: readonly VectorPoint[]): void {
    if (!this.quantized.roomFor(this.freshCount(points))) {
      throw new VectorStoreFull(
        `collection ${this.name} holds ${this.quantized.size} points, and no more than ${this.quantized.maxRows} fit in its int8 memory`,
      );
    }
  }

  private write(rec: LogRecord, apply: () => void, admit?: () => void): Promise<void> {
    // Refused at call time: once close() has begun, no write may slip in behind its snapshot.
    if (this.closed || !this.log) return Promise.reject(new VectorStoreError(`collection ${this.name} is closed`));
    const task = this.writes.then(async () => {
      // Read here, not at call time: a snapshot earlier in the chain may have switched logs.
      const log = this.log;
      if (!log) throw new VectorStoreError(`collection ${this.name} is closed`);
      admit?.();
      await log.appendFile(`${JSON.stringify(rec)}\n`);
      await log.datasync();
      apply();
      if (++this.logEntries >= this.settings.snapshotEvery) await this.snapshot();
    });
    this.writes = task.catch(() => undefined);
    return task;
  }

  async upsert(points: readonly VectorPoint[]): Promise<void> {
    if (points.length === 0) return;
    this.checkDim(points);
    const rec: LogRecord = { op: 'upsert', points: points.map((p) => ({ id: p.id, v: encodeVector(p.vector), p: p.payload })) };
    return this.write(
      rec,
      () => this.applyUpsert(points),
      () => this.admit(points),
    );
  }

  async setPayload(points: readonly PayloadUpdate[]): Promise<void> {
    if (points.length === 0) return;
    return this.write({ op: 'payload', points: points.map((p) => ({ id: p.id, p: p.payload })) }, () => this.applyPayload(points));
  }

  async delete(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    return this.write({ op: 'delete', ids: [...ids] }, () => this.applyDelete(ids));
  }

  /** Writes snap-(n+1), starts wal-(n+1), then flips CURRENT: a crash at any step leaves a loadable state. */
  async snapshot(): Promise<void> {
    const next = this.generation + 1;
    const dir = path.join(this.dir, `snap-${next}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    if (this.byLabel.size > 0) {
      await this.index.writeIndex(path.join(dir, 'index.bin'));
      await syncFile(path.join(dir, 'index.bin'));
    }
    const points: SnapshotMeta['points'] = [...this.byLabel.entries()].map(([label, e]) => [label, e.id, e.payload]);
    await writeDurably(path.join(dir, 'quantized.bin'), this.quantized.serialize(points.map(([label]) => label)));
    const meta: SnapshotMeta = { format: 2, dim: this.dim, nextLabel: this.nextLabel, capacity: this.index.getMaxElements(), points };
    await writeDurably(path.join(dir, 'meta.json'), JSON.stringify(meta));
    await syncFile(dir);
    const nextLog = await open(this.logPath(next), 'w');
    const tmp = path.join(this.dir, 'CURRENT.tmp');
    await writeDurably(tmp, String(next));
    await rename(tmp, path.join(this.dir, 'CURRENT'));
    await syncFile(this.dir);
    await this.log?.close();
    this.log = nextLog;
    await rm(path.join(this.dir, `snap-${this.generation}`), { recursive: true, force: true });
    await rm(this.logPath(this.generation), { force: true });
    this.generation = next;
    this.logEntries = 0;
  }

  /** Every point the filter keeps. */
  private candidates(filter: PointFilter, keeps = this.keeper(filter)): number[] {
    const out: number[] = [];
    const pools = this.pools(filter);
    if (!pools) {
      for (const label of this.byLabel.keys()) if (keeps(label)) out.push(label);
      return out;
    }
    for (const pool of pools) for (const label of pool.values()) if (keeps(label)) out.push(label);
    return out;
  }

  /** The labels a filter draws from: its owners' points, or null for the whole collection. */
  private pools(filter: PointFilter): LabelSet[] | null {
    return filter.owner === undefined ? null : ownerList(filter.owner).flatMap((o) => this.byOwner.get(o) ?? []);
  }

  /** The filter as a test of a label, made once per search: the point is there, not excluded, and passes. */
  private keeper(filter: PointFilter): (label: number) => boolean {
    const excluded = new Set(filter.excludeIds ?? []);
    const passes = payloadTest(filter);
    return (label) => {
      const e = this.byLabel.get(label);
      return e !== undefined && (excluded.size === 0 || !excluded.has(e.id)) && passes(e.payload);
    };
  }

  async search(req: SearchRequest): Promise<ScoredPoint[]> {
    if (req.vector.length !== this.dim) throw new VectorStoreError(`query has ${req.vector.length} dims, collection ${this.name} has ${this.dim}`);
    const k = (req.offset ?? 0) + req.limit;
    if (k === 0 || this.byLabel.size === 0) return [];
    const filter = someFilter(req.filter);
    const hits = filter ? this.searchFiltered(req.vector, k, filter) : this.walk(req.vector, k);
    return hits.slice(req.offset ?? 0, k);
  }

  private searchFiltered(vector: Float32Array, k: number, filter: PointFilter): ScoredPoint[] {
    const keeps = this.keeper(filter);
    if (!this.walksWell(filter, keeps)) return this.exact(vector, this.candidates(filter, keeps), k);
    const hits = this.walk(vector, k, keeps);
    // Fewer than asked: the sample over-estimated, or fewer than k points are kept. Scored one by one, then.
    return hits.length < k ? this.exact(vector, this.candidates(filter, keeps), k) : hits;
  }

  /** walksThrough, with the kept count estimated from a sample of the pool the filter draws from (the owner's points, or all). */
  private walksWell(filter: PointFilter, keeps: (label: number) => boolean): boolean {
    const pools = this.pools(filter);
    const size = pools ? pools.reduce((n, p) => n + p.size, 0) : this.byLabel.size;
    if (size <= this.settings.exactSearchThreshold) return false;
    const drawn = pools ? pools.flatMap((p) => p.sample(Math.ceil((SHARE_SAMPLE * p.size) / size))) : this.sampleLabels(SHARE_SAMPLE);
    const kept = (size * drawn.filter(keeps).length) / Math.max(1, drawn.length);
    return walksThrough(kept, this.byLabel.size, this.settings);
  }

  /** Labels drawn at random from the whole collection (a label of a deleted point is drawn again). */
  private sampleLabels(n: number): number[] {
    const out: number[] = [];
    for (let tries = 0; out.length < n && tries < n * 20; tries++) {
      const label = Math.floor(Math.random() * this.nextLabel);
      if (this.byLabel.has(label)) out.push(label);
    }
    return out;
  }

  /** The graph walk, checking `keeps` on each point it meets when given. */
  private walk(vector: Float32Array, k: number, keeps?: (label: number) => boolean): ScoredPoint[] {
    this.index.setEf(Math.max(this.settings.efSearch, k));
    const res = this.index.searchKnn(Array.from(vector), Math.min(k, this.byLabel.size), keeps);
    return res.neighbors.map((label, i) => this.hit(label, 1 - res.distances[i]!));
  }

  private hit(label: number, score: number): ScoredPoint {
    const e = this.byLabel.get(label)!;
    return { id: e.id, score, payload: e.payload };
  }

  /** The k best of `labels` by exact cosine: the int8 vectors choose the candidates, the float vectors rank them. */
  private exact(vector: Float32Array, labels: readonly number[], k: number): ScoredPoint[] {
    return this.quantized
      .mayBeBest(vector, labels, k)
      .map((label) => this.hit(label, dot(vector, this.vectorOf(label))))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
  }

  private vectorOf(label: number): Float32Array {
    const cached = this.vectors.get(label);
    if (cached) return cached;
    const v = Float32Array.from(this.index.getPoint(label));
    if (this.settings.vectorCache > 0) {
      if (this.vectors.size >= this.settings.vectorCache) this.vectors.delete(this.vectors.keys().next().value!);
      this.vectors.set(label, v);
    }
    return v;
  }

  async retrieve(ids: readonly string[]): Promise<VectorPoint[]> {
    const out: VectorPoint[] = [];
    for (const id of ids) {
      const label = this.byId.get(id);
      if (label === undefined) continue;
      out.push({ id, vector: Float32Array.from(this.index.getPoint(label)), payload: this.byLabel.get(label)!.payload });
    }
    return out;
  }

  async payloads(ids: readonly string[]): Promise<Map<string, PointPayload>> {
    const out = new Map<string, PointPayload>();
    for (const id of ids) {
      const label = this.byId.get(id);
      if (label !== undefined) out.set(id, this.byLabel.get(label)!.payload);
    }
    return out;
  }

  async count(filter?: PointFilter): Promise<number> {
    const some = someFilter(filter);
    return some ? this.candidates(some).length : this.byLabel.size;
  }

  async *listIds(pageSize = 1000): AsyncIterable<string[]> {
    const ids = [...this.byId.keys()];
    for (let i = 0; i < ids.length; i += pageSize) yield ids.slice(i, i + pageSize);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writes;
    if (this.logEntries > 0 || this.snapshotOnClose) await this.snapshot();
    await this.log?.close();
    this.log = null;
  }
}

export class HnswStore implements VectorStore {
  readonly kind = 'embedded' as const;
  private readonly collections = new Map<string, Promise<HnswCollection>>();
  private readonly unlock: () => void;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly settings: HnswSettings = DEFAULT_HNSW,
  ) {
    mkdirSync(root, { recursive: true });
    this.unlock = acquireLock(path.join(root, 'LOCK'));
  }

  collection(name: string, dim: number): Promise<VectorCollection> {
    let c = this.collections.get(name);
    if (!c) {
      const col = new HnswCollection(name, dim, path.join(this.root, name), this.settings);
      c = col.open().then(() => col);
      this.collections.set(name, c);
      c.catch(() => this.collections.delete(name));
    }
    return c.then((col) => {
      if (col.dim !== dim) throw new VectorStoreError(`collection ${name} has ${col.dim} dims, asked for ${dim}`);
      return col;
    });
  }

  async ping(): Promise<void> {
    if (this.closed) throw new VectorStoreError('the embedded index is closed');
    if (!existsSync(this.root)) throw new VectorStoreError(`index directory ${this.root} is gone`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const cols = await Promise.allSettled(this.collections.values());
    for (const c of cols) if (c.status === 'fulfilled') await c.value.close();
    this.collections.clear();
    this.unlock();
  }
}
