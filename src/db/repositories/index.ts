import { createDb, type Db } from '../prisma';
import { ApiKeyRepository } from './apiKeyRepository';
import { DuplicateRepository } from './duplicateRepository';
import { ImageRepository } from './imageRepository';
import { IngestRepository } from './ingestRepository';
import { OcrRepository } from './ocrRepository';
import { OwnerSettingsRepository } from './ownerSettingsRepository';
import { StageTaskRepository } from './stageTaskRepository';
import { TextRepository } from './textRepository';
import { WatchRepository } from './watchRepository';
import { WebhookRepository } from './webhookRepository';

/** Every repository over one connection pool: the only code that talks to PostgreSQL. */
export interface Repositories {
  images: ImageRepository;
  ingest: IngestRepository;
  texts: TextRepository;
  apiKeys: ApiKeyRepository;
  webhooks: WebhookRepository;
  watches: WatchRepository;
  ocr: OcrRepository;
  duplicates: DuplicateRepository;
  stageTasks: StageTaskRepository;
  ownerSettings: OwnerSettingsRepository;
  /** Round trip to the database, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function repositoriesOver(db: Db): Repositories {
  return {
    images: new ImageRepository(db),
    ingest: new IngestRepository(db),
    texts: new TextRepository(db),
    apiKeys: new ApiKeyRepository(db),
    webhooks: new WebhookRepository(db),
    watches: new WatchRepository(db),
    ocr: new OcrRepository(db),
    duplicates: new DuplicateRepository(db),
    stageTasks: new StageTaskRepository(db),
    ownerSettings: new OwnerSettingsRepository(db),
    ping: async () => {
      await db.$queryRaw`SELECT 1`;
    },
    close: () => db.$disconnect(),
  };
}

export function openRepositories(databaseUrl: string): Repositories {
  return repositoriesOver(createDb(databaseUrl));
}

export type {
  ApiKeyRepository,
  DuplicateRepository,
  ImageRepository,
  IngestRepository,
  OcrRepository,
  OwnerSettingsRepository,
  StageTaskRepository,
  TextRepository,
  WatchRepository,
  WebhookRepository,
};
export type { StageCounts, StageTaskRow, StageTaskState } from './stageTaskRepository';
export type { DuplicateGroupRow } from './duplicateRepository';
export type { DuplicateLink, DuplicatePoint, PointLinks } from './duplicateLinks';
export type { OcrMatch, OcrQuery, StoredLine, TextField } from './ocrRepository';
export type { ImagePatch, ImageRef, ImageRow, ImageSort, ImageVisibility, LibraryPosition } from './imageRepository';
export { positionOf } from './imageRepository';
export type { DeliveryRow, SendableDelivery, WebhookRow } from './webhookRepository';
export type { FileState, WatchedFolderRow } from './watchRepository';
export type { JobKind, JobRow, NewItem, NewJob, PendingImage, PendingItem, SourceKind } from './ingestRepository';
