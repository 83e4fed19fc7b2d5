import type { ImageRef, ImageRepository, IngestRepository, SourceKind } from '../src/db/repositories';
import type { DerivativeStore } from '../src/images/derivativeStore';
import { ImageRejected } from '../src/images/decode';
import { phashToStored } from '../src/images/similarity';
import type { ModelInUse, ModelSource } from '../src/packs/activeModel';
import { VectorStoreError, type PointPayload, type VectorCollection, type VectorPoint } from '../src/store/vectorStore';
import { mapAsReady, withRetry } from '../src/util/async';
import { assetPointIds, externalImageId, imageId, segmentPointId, sha256Hex } from '../src/util/ids';
import type { ImagePublisher } from '../src/stages/imageEvents';
import type { Logger } from '../src/util/logger';
import { readItem, type ItemKind, type ReaderOptions } from './sources/itemReader';
import { motionBeside } from '../src/video/livePhotos';
import { imagePayload } from '../src/library/imagePayload';
import { settlePayloads } from '../src/library/payloadSync';
import { uploadName } from './sources/uploadStaging';
import { UrlFetchFailed } from './sources/urlFetch';
import { UrlNotAllowed } from '../src/net/addressGuard';
import { factsOf, segmentsFromTimes, type MediaFacts, type MediaFrames, type ReadMedia } from './media/mediaFrames';

export interface PipelineDeps {
  imageRows: ImageRepository;
  jobs: IngestRepository;
  /** The pack and collection in use; each run keeps the one it started with (the worker pauses while it changes). */
  model: ModelSource;
  derivatives: DerivativeStore;
  reader: ReaderOptions;
  /** Photos, videos, Live Photos and animations into the frames they are searched by. */
  media: MediaFrames;
  /** Frames handed to the encoder together (it runs them in its own batch size) and then written together. */
  batchSize: number;
  /** Batches encoded at once (one per remote encoder helps; the local pack takes one at a time). */
  encodeInFlight: number;
  /** Items read and decoded ahead of the encoder. */
  lookahead: number;
  storeRetries: number;
  storeRetryDelayMs: number;
  /** Where committed images are announced: OCR, duplicate grouping, captions, webhooks listen. */
  published: ImagePublisher;
  /** Longest side of the copy OCR reads, stored with each new image; null when OCR is off. */
  ocr: { readonly inputSide: number } | null;
  log: Logger;
}

export interface JobProgress {
  total: number;
  done: number;
  skipped: number;
  failed: number;
  pending: number;
}

interface WorkItem {
  itemId: string;
  source: string;
  /** The product's id for the image; it then identifies the image instead of its bytes. */
  externalId: string | null;
  /** Known for reindex items. */
  imageId: string | null;
}

interface JobContext {
  jobId: string;
  owner: string;
  albums: string[];
  kind: ItemKind;
}

/** A run's job, with the model its batches are encoded by and written for. */
interface RunContext extends JobContext {
  model: ModelInUse;
}

type Prepared =
  | {
      type: 'encode';
      item: WorkItem;
      imageId: string;
      /** The image's owner: the job's, or for a reindex job (which works for every owner) the image's own. */
      owner: string;
      sha256: string;
      bytes: number;
      media: Pick<ReadMedia, 'facts' | 'frames'>;
      meta: ImageMeta;
      /** Its place's names, for the payload: the row's for a re-index; new content has none until the place stage. */
      places: string[];
      /** What OCR will read (stored with the derivatives), when it must read this image. */
      ocrInput: Buffer | null;
      /** The movie, kept so it can play when its source will not stay on disk (uploads, URLs). */
      original: Buffer | null;
      /** Points of the asset's earlier content that its new content no longer has. */
      stalePoints: string[];
    }
  | { type: 'skipped'; item: WorkItem; imageId: string }
  | { type: 'rejected'; item: WorkItem; error: string };
type Encodable = Extract<Prepared, { type: 'encode' }>;

/** What the library knows of an image beyond its pixels; it goes to Postgres and to the vector payload alike. */
interface ImageMeta {
  albums: string[];
  takenAt: Date | undefined;
  favorite: boolean;
  hidden: boolean;
  archived: boolean;
  tags: string[];
  /** The stage that chose them replaces them after this write; until then row and payload keep the last ones. */
  autoTags: string[];
  camera: string | null;
  latitude: number | null;
  longitude: number | null;
}

function exifMeta(d: Pick<MediaFacts, 'camera' | 'location'>): Pick<ImageMeta, 'camera' | 'latitude' | 'longitude'> {
  return { camera: d.camera ?? null, latitude: d.location?.lat ?? null, longitude: d.location?.lon ?? null };
}

/** Thrown when the vector store stays unavailable: the job stops, its items stay pending. */
export class StoreUnavailable extends VectorStoreError {}

function isPermanent(e: unknown): boolean {
  if (e instanceof ImageRejected || e instanceof UrlNotAllowed || e instanceof UrlFetchFailed) return true;
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES';
}

/** The items, until `done` says stop when the next one is asked for. */
function* takeUntil<T>(items: readonly T[], done: () => boolean): Generator<T> {
  for (const item of items) {
    if (done()) return;
    yield item;
  }
}

/**
 * Runs the pending items of one job: read -> hash -> skip known content -> decode -> batch
 * encode -> write derivatives, metadata and vectors. The order of writes is what keeps
 * Postgres and the vector store consistent across crashes and outages: the image row is
 * written (pending) before its vector, and marked indexed only after the vector is stored.
 */
export class IngestPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  /**
   * `shouldStop` is asked for each image read and before each batch is written: once it says stop, the
   * batch being written is finished and nothing more is, so a shutdown loses no finished work.
   * Batch k is written (derivatives, rows, vectors) while batch k+1 is encoded: the encoder
   * would otherwise wait on Postgres and the store after every batch. Up to `encodeInFlight`
   * batches are encoded at once (remote encoders work in parallel), but they are written one at a
   * time and in order, so batches commit in order and a failure stops the ones after it.
   * Once `turnOver` says so, no further image is read, and those already read are encoded and written:
   * the rest stays pending for the job's next turn.
   */
  async run(
    job: JobContext,
    items: WorkItem[],
    onProgress?: (delta: Partial<JobProgress>) => void,
    shouldStop: () => boolean = () => false,
    turnOver: () => boolean = () => false,
  ): Promise<void> {
    const { batchSize, lookahead } = this.deps;
    const ctx: RunContext = { ...job, model: this.deps.model.current };
    const window = Math.max(1, this.deps.encodeInFlight);
    let writing: Promise<void> = Promise.resolve();
    const encoding: Promise<unknown>[] = [];
    let stopped = false;
    // Once asked to stop, stopped for good: the writes queued behind the answer must see it too.
    const halted = () => (stopped ||= shouldStop());
    let batch: Encodable[] = [];
    let batchFrames = 0;
    const flush = async (): Promise<boolean> => {
      const full = batch;
      batch = [];
      batchFrames = 0;
      const encoded = ctx.model.pack.image.encode(
        full.flatMap((p) => p.media.frames.map((f) => f.tensor)),
        'background',
      );
      const previous = writing;
      // The earlier batch's write first, even when this encode failed: a failure must not overtake it.
      writing = (async () => {
        await previous;
        const vectors = await encoded;
        // Asked again here, not only at the next flush: that waits for a whole batch to be read and decoded,
        // and a cancel answered by another instance meanwhile would see batches written after its answer.
        if (halted()) return;
        onProgress?.(await this.write(ctx, full, vectors));
      })();
      // Observed by a later flush or the final await; this keeps them from going unhandled meanwhile.
      encoded.catch(() => undefined);
      writing.catch(() => undefined);
      encoding.push(encoded);
      while (encoding.length >= window) await encoding.shift();
      await previous;
      return !halted();
    };
    try {
      for await (const p of mapAsReady(takeUntil(items, turnOver), Math.max(lookahead, 1), (item) => this.prepare(ctx, item))) {
        if (halted()) break;
        if (p.type === 'rejected') {
          await this.deps.jobs.markItemFailed(p.item.itemId, p.error);
          onProgress?.({ failed: 1 });
        } else if (p.type === 'skipped') {
          await this.deps.jobs.markItemSkipped(p.item.itemId, p.imageId);
          onProgress?.({ skipped: 1 });
        } else {
          batch.push(p);
          batchFrames += p.media.frames.length;
          if (batchFrames >= batchSize && !(await flush())) break;
        }
      }
      if (batch.length && !stopped) await flush();
    } catch (e) {
      // A failed encode or read must not return while an earlier batch is still being written.
      stopped = true;
      await writing.catch(() => undefined);
      throw e;
    }
    await writing;
  }

  private async prepare(ctx: RunContext, item: WorkItem): Promise<Prepared> {
    try {
      // Reindex items name their image (items queued by older versions named its sha256 as the source).
      const data = await readItem(ctx.kind, ctx.kind === 'reindex' ? (item.imageId ?? item.source) : item.source, this.deps.reader);
      return ctx.kind === 'reindex' ? await this.prepareReindex(item, data) : await this.prepareNew(ctx, item, data);
    } catch (e) {
      if (isPermanent(e)) return { type: 'rejected', item, error: (e as Error).message };
      throw e;
    }
  }

  /**
   * An image is known by the product's external id when it gave one (new bytes under it replace the
   * image), otherwise by its bytes; either way a known, up-to-date image is skipped.
   */
  private async prepareNew(ctx: RunContext, item: WorkItem, data: Buffer): Promise<Prepared> {
    const sha256 = sha256Hex(data);
    const ref: ImageRef = item.externalId !== null ? { externalId: item.externalId } : { id: imageId(ctx.owner, sha256) };
    const existing = await this.deps.imageRows.ingestState(ref, ctx.owner);
    const id = existing?.id ?? ('id' in ref ? ref.id : await this.freshExternalImageId(ctx.owner, ref.externalId, sha256));
    const sameBytes = existing !== null && existing.sha256 === sha256;
    const albums = [...new Set([...(existing?.albums ?? []), ...ctx.albums])];
    const upToDate = sameBytes && existing.state === 'indexed' && existing.modelPack === ctx.model.pack.key;
    if (upToDate && albums.length === existing.albums.length) return { type: 'skipped', item, imageId: id };
    // Text already read from these very bytes need not be read again; otherwise OCR's input comes from the same decode.
    const ocrSide = this.deps.ocr && !(sameBytes && existing.ocrState === 'done') ? this.deps.ocr.inputSide : undefined;
    const onDisk = ctx.kind === 'folder' || ctx.kind === 'upload' ? item.source : null;
    const motionFile = onDisk && motionBeside(onDisk);
    const motion = motionFile ? { data: await readItem(ctx.kind, motionFile, this.deps.reader), file: motionFile } : undefined;
    const media = await this.deps.media.read(data, item.source, onDisk, ocrSide, motion);
    const { facts } = media;
    // A known image keeps what its owner set (flags, tags, a corrected capture time); new content starts plain.
    const kept = existing
      ? { favorite: existing.favorite, hidden: existing.hidden, archived: existing.archived, tags: existing.tags, autoTags: existing.autoTags }
      : { favorite: false, hidden: false, archived: false, tags: [], autoTags: [] };
    const takenAt = (sameBytes ? (existing.takenAt ?? facts.takenAt) : (facts.takenAt ?? existing?.takenAt)) ?? undefined;
    const meta: ImageMeta = { albums, takenAt, ...kept, ...exifMeta(facts) };
    const nowPoints = new Set(assetPointIds({ id, segmentCount: media.frames.length - 1 }));
    return {
      type: 'encode',
      item,
      imageId: id,
      owner: ctx.owner,
      sha256,
      bytes: data.length,
      media,
      meta,
      places: [],
      ocrInput: media.ocrInput,
      original: ctx.kind === 'folder' ? null : facts.mediaType === 'video' ? data : (motion?.data ?? null),
      stalePoints: existing ? assetPointIds({ id, segmentCount: existing.segmentCount }).filter((p) => !nowPoints.has(p)) : [],
    };
  }

  /** Normally uuidv5(owner, externalId); salted with the bytes when a renamed image still holds that id. */
  private async freshExternalImageId(owner: string, externalId: string, sha256: string): Promise<string> {
    const id = externalImageId(owner, externalId);
    return (await this.deps.imageRows.idTaken(id)) ? externalImageId(owner, externalId, sha256) : id;
  }

  /** Re-encodes an asset from its stored previews, one per point (a video's frames included). */
  private async prepareReindex(item: WorkItem, data: Buffer): Promise<Prepared> {
    const image = item.imageId ? await this.deps.imageRows.findById(item.imageId) : null;
    if (!image) return { type: 'rejected', item, error: 'image no longer exists' };
    const later = assetPointIds(image).slice(1);
    const previews = [data, ...(await Promise.all(later.map((id) => this.deps.reader.derivatives.read('preview', id))))];
    const frames = await this.deps.media.reframe(previews, segmentsFromTimes(image.frameTimesMs, image.durationMs));
    const facts = factsOf(image);
    return {
      type: 'encode',
      item,
      imageId: image.id,
      owner: image.owner,
      sha256: image.sha256,
      bytes: image.bytes,
      media: { facts, frames },
      places: image.places,
      ocrInput: null,
      original: null,
      stalePoints: [],
      meta: {
        albums: image.albums,
        takenAt: image.takenAt ?? undefined,
        favorite: image.favorite,
        hidden: image.hidden,
        archived: image.archived,
        tags: image.tags,
        autoTags: image.autoTags,
        camera: image.camera,
        latitude: image.latitude,
        longitude: image.longitude,
      },
    };
  }

  /** Writes an encoded batch; returns the progress it made (photos deleted since the job was asked for are skipped). */
  private async write(ctx: RunContext, encoded: Encodable[], vectors: Float32Array[]): Promise<Partial<JobProgress>> {
    const { jobs, derivatives, log } = this.deps;
    const { pack, images: collection } = ctx.model;
    // Each photo's vectors, one per frame, before the batch is narrowed.
    let at = 0;
    const vectorsOf = new Map(encoded.map((p) => [p, p.media.frames.map(() => vectors[at++]!)]));
    // All at once: file writes queue behind sharp's decodes in libuv's pool, one by one they wait each time.
    await Promise.all(
      encoded.flatMap((p) => [
        ...p.media.frames.flatMap((f, k) => [
          derivatives.put('preview', segmentPointId(p.imageId, k), f.preview),
          derivatives.put('thumbnail', segmentPointId(p.imageId, k), f.thumbnail),
        ]),
        ...(p.ocrInput ? [derivatives.put('ocr', p.imageId, p.ocrInput)] : []),
        ...(p.original ? [derivatives.put('video', p.imageId, p.original)] : []),
      ]),
    );
    const batch = ctx.kind === 'reindex' ? encoded : await this.writeRows(ctx, encoded);
    const skipped = encoded.length - batch.length;
    if (batch.length === 0) return { skipped };
    const payloads = new Map<string, PointPayload>();
    const points: VectorPoint[] = batch.flatMap((p) => {
      const payload = imagePayload({ owner: p.owner, mediaType: p.media.facts.mediaType, places: p.places, ...p.meta });
      payloads.set(p.imageId, payload);
      return p.media.frames.map((f, index) => ({
        id: segmentPointId(p.imageId, index),
        vector: vectorsOf.get(p)![index]!,
        payload: f.segment ? { ...payload, segment: { asset: p.imageId, index, ...f.segment } } : payload,
      }));
    });
    const stale = batch.flatMap((p) => p.stalePoints);
    const pairs = batch.map((p) => ({ itemId: p.item.itemId, imageId: p.imageId }));
    try {
      await withRetry(
        async () => {
          await collection.upsert(points);
          if (stale.length) await collection.delete(stale);
        },
        this.deps.storeRetries,
        this.deps.storeRetryDelayMs,
        (e, attempt) => log.warn({ err: e.message, attempt, job: ctx.jobId }, 'vector upsert failed; retrying'),
      );
    } catch (e) {
      const error = `vector store unavailable: ${(e as Error).message}`;
      await jobs.recordStoreFailure(pairs, error);
      throw new StoreUnavailable(error);
    }
    await jobs.markIndexed(pack.key, pairs);
    await this.settle(ctx, collection, payloads);
    // Frames the asset's new content no longer has; their points are gone already.
    await Promise.all(stale.map((id) => derivatives.removeAll(id)));
    // The batch is committed; what follows it must not undo or repeat it (the bus logs a listener's failure).
    if (ctx.kind === 'reindex') await this.deps.published.reindexed(batch.map((p) => p.imageId));
    else await this.deps.published.indexed(batch.map((p) => ({ imageId: p.imageId, owner: p.owner, externalId: p.item.externalId, jobId: ctx.jobId })));
    return { done: batch.length, skipped };
  }

  /**
   * Writes the batch's image rows (pending); returns the photos written. A photo deleted since its job was asked for
   * is not: its item ends skipped, and the files just written for it go (unless a live image has them).
   */
  private async writeRows(ctx: RunContext, batch: Encodable[]): Promise<Encodable[]> {
    const { jobs, derivatives, imageRows } = this.deps;
    const written = await jobs.upsertPendingImages(
      batch.map((p) => ({
        itemId: p.item.itemId,
        id: p.imageId,
        owner: ctx.owner,
        externalId: p.item.externalId,
        sha256: p.sha256,
        sourceKind: ctx.kind as SourceKind,
        source: ctx.kind === 'upload' ? uploadName(p.item.source) : p.item.source,
        mime: p.media.facts.mime,
        width: p.media.facts.width,
        height: p.media.facts.height,
        mediaType: p.media.facts.mediaType,
        durationMs: p.media.facts.durationMs,
        videoCodec: p.media.facts.videoCodec,
        segmentCount: p.media.frames.length - 1,
        frameTimesMs: p.media.facts.frameTimesMs,
        phash: p.media.facts.phash === null ? null : phashToStored(p.media.facts.phash),
        sharpness: p.media.facts.sharpness,
        edited: p.media.facts.edited,
        bytes: p.bytes,
        ...p.meta,
        albumsAdded: [...new Set(ctx.albums)],
        takenAt: p.meta.takenAt ?? null,
        ocrState: p.ocrInput ? 'pending' : undefined,
      })),
    );
    const withdrawn = batch.filter((p) => !written.has(p.imageId));
    for (const p of withdrawn) {
      await jobs.markItemSkipped(p.item.itemId, p.imageId);
      if (!(await imageRows.findById(p.imageId)))
        await Promise.all(assetPointIds({ id: p.imageId, segmentCount: p.media.frames.length - 1 }).map((id) => derivatives.removeAll(id)));
    }
    if (withdrawn.length) this.deps.log.info({ job: ctx.jobId, images: withdrawn.length }, 'photos deleted since the job was asked for are skipped');
    return batch.filter((p) => written.has(p.imageId));
  }

  /**
   * The payloads were made from rows read before the encoding (seconds before, for a re-index of a large batch): a
   * stage that changed a row and pushed its payload meanwhile (auto tags, a place) was just overwritten, so such a
   * row's payload is written again. A failure leaves drift that reconcile finds; the batch itself is committed.
   */
  private async settle(ctx: RunContext, collection: VectorCollection, written: ReadonlyMap<string, PointPayload>): Promise<void> {
    try {
      const rewritten = await settlePayloads(this.deps.imageRows, collection, written);
      if (rewritten.length) this.deps.log.debug({ job: ctx.jobId, images: rewritten.length }, 'payloads changed during the batch written again');
    } catch (e) {
      this.deps.log.warn({ job: ctx.jobId, err: (e as Error).message }, 'payloads changed during the batch not written again');
    }
  }
}
