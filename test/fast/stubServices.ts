import { tmpdir } from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import type { Services } from '../../src/app/services';
import type { Principal } from '../../src/auth/principal';
import { loadConfig } from '../../src/config/env';
import { Metrics } from '../../src/observability/metrics';
import type { SearchResult } from '../../src/search/searchService';
import { createLogger } from '../../src/util/logger';

export const ADMIN_KEY = 'fast-admin-key';
/** A tenant key pinned to owner alice with the search scope only. */
export const TENANT_KEY = 'isk_tenant-alice';

const empty: SearchResult = { hits: [], noGoodMatch: true, nextOffset: null, model: 'stub@1' };

/**
 * The API's collaborators as in-memory stand-ins: no PostgreSQL, no ONNX runtime, no index. Route
 * rules (validation, auth, owners, paging, error rendering) are checked against these in seconds;
 * the real-service tiers check the rest.
 */
export function stubServices() {
  const search = {
    byText: jest.fn(async (_q: string, _f: unknown, _p: unknown, _mode?: string) => empty),
    byVector: jest.fn(async () => empty),
    getImage: jest.fn(async (): Promise<never> => {
      throw new Error('unused');
    }),
    getImageWithText: jest.fn(async (): Promise<never> => {
      throw new Error('unused');
    }),
    vectorOf: jest.fn(async () => new Float32Array(4)),
    embedImage: jest.fn(async () => new Float32Array(4)),
  };
  const ingest = {
    createFolderJob: jest.fn(async () => '11111111-1111-4111-8111-111111111111'),
    createUrlJob: jest.fn(async () => '22222222-2222-4222-8222-222222222222'),
    createUploadJob: jest.fn(async () => '33333333-3333-4333-8333-333333333333'),
    status: jest.fn(async () => null),
    enqueue: jest.fn(),
    uploadSpool: path.join(tmpdir(), 'imagesearch-fast-upload-spool'),
  };
  const tenant: Principal = { keyId: 'tenant', owner: 'alice', scopes: new Set(['search']) };
  const stubs = {
    config: loadConfig({ ADMIN_API_KEY: ADMIN_KEY, MODEL_DIR: 'unused', LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000' }),
    log: createLogger('silent'),
    repos: { ping: async () => undefined },
    store: { kind: 'embedded', ping: async () => undefined },
    pack: { key: 'stub@1', manifest: { testOnly: false }, text: { encode: async (t: readonly string[]) => t.map(() => new Float32Array(4)) } },
    keys: { verify: async (key: string) => (key === TENANT_KEY ? tenant : null) },
    folders: { ownerRoot: () => null },
    provisioning: { status: null },
    search,
    searchMode: 'semantic',
    ingest,
    deletion: { delete: jest.fn(async () => []) },
    texts: { add: jest.fn(async () => []), retrieve: jest.fn(async () => []) },
    captions: { forImages: jest.fn(async () => new Map()) },
    settings: { timeZone: jest.fn(async () => 'Asia/Shanghai') },
    derivatives: {},
    metrics: new Metrics(),
    reconcile: jest.fn(async () => ({ missingVectors: [], orphanPoints: [], staleModel: [], stuckPending: [], reindexJobId: null })),
  };
  // Only what the routes touch is provided; the cast is confined to this test helper.
  return { services: stubs as unknown as Services, search, ingest };
}
