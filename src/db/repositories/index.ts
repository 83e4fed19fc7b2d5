import { createDb, type Db } from '../prisma';
import { ApiKeyRepository } from './apiKeyRepository';
import { ImageRepository } from './imageRepository';
import { IngestRepository } from './ingestRepository';
import { TextRepository } from './textRepository';

/** Every repository over one connection pool: the only code that talks to PostgreSQL. */
export interface Repositories {
  images: ImageRepository;
  ingest: IngestRepository;
  texts: TextRepository;
  apiKeys: ApiKeyRepository;
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
    ping: async () => {
      await db.$queryRaw`SELECT 1`;
    },
    close: () => db.$disconnect(),
  };
}

export function openRepositories(databaseUrl: string): Repositories {
  return repositoriesOver(createDb(databaseUrl));
}

export type { ApiKeyRepository, ImageRepository, IngestRepository, TextRepository };
export type { ImagePatch, ImageRow, ImageSort, ImageVisibility } from './imageRepository';
export type { JobRow, PendingImage, SourceKind } from './ingestRepository';
