import type { ApiKeyService } from '../auth/apiKeys';
import type { Config } from '../config/env';
import type { Repositories, WatchedFolderRow } from '../db/repositories';
import type { DuplicateService } from '../duplicates/duplicateService';
import type { DerivativeStore } from '../images/derivativeStore';
import type { ReconcileReport } from '../library/consistency';
import type { ImageDeletion } from '../library/imageDeletion';
import type { LibraryService } from '../library/libraryService';
import type { OwnerPurgeReport } from '../library/ownerPurge';
import type { ModelPack } from '../models/modelPack';
import type { Metrics } from '../observability/metrics';
import type { InstallStatus } from '../packs/installProgress';
import type { EncoderPool } from '../remoteEncoders/encoderPool';
import type { PullCaptions } from '../remoteEncoders/pullCaptions';
import type { OwnerSettingsService } from '../library/ownerSettingsService';
import type { PullEncoding } from '../remoteEncoders/pullEncoding';
import type { CaptionService } from '../search/captions';
import type { SearchMode, SearchService } from '../search/searchService';
import type { TextCorpus } from '../search/textCorpus';
import type { VectorStore } from '../store/vectorStore';
import type { Logger } from '../util/logger';
import type { WebhookService } from '../webhooks/webhookService';

/**
 * What the HTTP layer needs of ingest (the top-level ingest/ folder implements it). The API depends on
 * this port, never on ingest's modules: ingest depends on src, not the other way round.
 */
export interface IngestPort {
  /** Where ingest uploads are written as they arrive. */
  readonly uploadSpool: string;
  /** Anywhere under INGEST_ROOTS (an operator's). */
  createFolderJob(owner: string, folder: string, albums: string[], options: { externalIdsFromPaths?: boolean | undefined }): Promise<string>;
  /** Under the owner's own folder of INGEST_TENANT_ROOT (a tenant's). */
  createOwnFolderJob(owner: string, folder: string, albums: string[], options: { externalIdsFromPaths?: boolean | undefined }): Promise<string>;
  createUrlJob(owner: string, urls: readonly (string | { url: string; externalId?: string | undefined })[], albums: string[]): Promise<string>;
  createUploadJob(owner: string, files: { name: string; spooled: string; externalId?: string | undefined }[], albums: string[]): Promise<string>;
  createOcrBackfillJob(owner: string | undefined): Promise<string | null>;
  enqueue(jobId: string): void;
  /** A job's progress as the API shows it; null when there is none for this owner. */
  status(jobId: string, owner?: string): Promise<object | null>;
  list(
    filter: { owner?: string | undefined; state?: string | undefined },
    page: { offset: number; limit: number },
  ): Promise<{ jobs: object[]; nextOffset: number | null }>;
  cancel(jobId: string, owner: string | undefined): Promise<object>;
  retry(jobId: string, owner: string | undefined): Promise<object>;
}

/** Watched library folders (ingest/watch implements it). */
export interface WatcherPort {
  register(owner: string, folder: string, albums: string[], externalIdPrefix?: string): Promise<object>;
  unregister(id: string, owner: string | undefined): Promise<boolean>;
  scanNow(id: string): Promise<object | null>;
}

/** Everything the HTTP layer works with; the composition root (src/app) builds it. */
export interface ApiServices {
  config: Config;
  log: Logger;
  metrics: Metrics;
  repos: Pick<Repositories, 'ping'> & { watches: { list(owner: string | undefined): Promise<WatchedFolderRow[]> } };
  store: Pick<VectorStore, 'kind' | 'ping'>;
  readonly pack: Pick<ModelPack, 'manifest'>;
  provisioning: { readonly status: InstallStatus | null };
  readonly encoders: Pick<EncoderPool, 'status'> | null;
  pull: Pick<PullEncoding, 'lease' | 'answer'> | null;
  pullCaptions: Pick<PullCaptions, 'lease' | 'answer'> | null;
  settings: Pick<OwnerSettingsService, 'get' | 'update' | 'timeZone'>;
  keys: ApiKeyService;
  folders: { ownerRoot(owner: string): string | null };
  search: SearchService;
  searchMode: SearchMode;
  texts: TextCorpus;
  captions: CaptionService;
  library: LibraryService;
  deletion: ImageDeletion;
  derivatives: DerivativeStore;
  duplicates: DuplicateService;
  webhooks: WebhookService;
  ingest: IngestPort;
  watcher: WatcherPort;
  reconcile(fix: boolean): Promise<ReconcileReport>;
  purgeOwner(owner: string): Promise<OwnerPurgeReport>;
}
