import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { asDatabaseUnavailable } from '../db/unavailable';
import { errorBody } from '../errors/codes';
import { projectRoot } from '../util/projectRoot';
import { KeyAuthenticator } from './auth';
import { errorHandler, notFoundHandler } from '../http/errorHandler';
import { duplicateHandlers } from './handlers/duplicates';
import { settingsHandlers } from './handlers/settings';
import { healthHandlers } from './handlers/health';
import { imageHandlers } from './handlers/images';
import { ingestHandlers } from './handlers/ingest';
import { operationHandlers } from './handlers/operations';
import { searchHandlers } from './handlers/search';
import { webhookHandlers } from './handlers/webhooks';
import { hitDecorator } from './hitShaping';
import { rateLimit, recordLatency, requestId, requestTimeout } from './middleware';
import { rejectNulCharacters } from './nulCharacters';
import { openApiDocument } from './openapi';
import type { ApiServices } from './ports';
import { mountRoutes } from './router';
import { tenantView } from './serverPaths';
import { UrlSigner, urlSigningSecret } from './signedUrls';

export interface AppOptions {
  version: string;
  accepting?: () => boolean;
}

export function createApp(s: ApiServices, opts: AppOptions): Express {
  const { config } = s;
  const limits = {
    queryMaxChars: config.QUERY_MAX_CHARS,
    searchMaxLimit: config.SEARCH_MAX_LIMIT,
    maxBytes: config.MAX_IMAGE_BYTES,
    maxVideoBytes: config.MAX_VIDEO_BYTES,
    maxFiles: config.MAX_UPLOAD_FILES,
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(pinoHttp({ logger: s.log, genReqId: requestId, autoLogging: { ignore: (req) => req.url === '/healthz' } }));
  app.use(recordLatency(s.metrics));
  app.use(requestTimeout(config.REQUEST_TIMEOUT_MS));
  app.use(express.json({ limit: '1mb' }));
  app.use(rejectNulCharacters());

  const signer = new UrlSigner(urlSigningSecret(config.ADMIN_API_KEY));
  const handlers = {
    ...healthHandlers({
      pingDatabase: () => s.repos.ping(),
      store: s.store,
      model: () => s.pack.manifest,
      install: () => s.provisioning.status,
      accepting: opts.accepting ?? (() => true),
      encoders: s.encoders ? () => s.encoders!.status() : undefined,
      metrics: s.metrics,
      openapi: openApiDocument(limits, opts.version),
    }),
    ...searchHandlers({
      search: s.search,
      texts: s.texts,
      decorate: hitDecorator(s.captions, signer),
      defaultMode: s.searchMode,
      timeZoneOf: (owner) => s.settings.timeZone(owner),
    }),
    ...imageHandlers({ search: s.search, library: s.library, deletion: s.deletion, derivatives: s.derivatives, captions: s.captions }),
    ...duplicateHandlers(s.duplicates, signer),
    ...settingsHandlers(s.settings),
    ...webhookHandlers(s.webhooks),
    ...ingestHandlers(s.ingest, s.texts),
    ...operationHandlers({
      ingest: s.ingest,
      watcher: s.watcher,
      listWatches: (owner) => s.repos.watches.list(owner),
      reconcile: (fix) => s.reconcile(fix),
      purgeOwner: (owner) => s.purgeOwner(owner),
      keys: s.keys,
      pull: s.pull,
      pullCaptions: s.pullCaptions,
    }),
  };
  mountRoutes(app, handlers, {
    auth: new KeyAuthenticator(s.keys, config.ADMIN_API_KEY),
    signer,
    limits,
    rateLimit: rateLimit(config.RATE_LIMIT_PER_MINUTE, s.metrics),
    uploadSpool: s.ingest.uploadSpool,
    forTenant: tenantView((owner) => [...[s.folders.ownerRoot(owner)].filter((r) => r !== null), ...config.ingestRoots, config.dataDir]),
  });

  const web = path.join(projectRoot(), 'web', 'dist');
  if (existsSync(web)) app.use(express.static(web, { index: 'index.html', maxAge: '1h' }));
  else app.get('/', (_req, res) => void res.status(503).json(errorBody('web_not_built', 'the web page is not built: npm run build:web')));
  app.use(notFoundHandler);
  // Whatever step met the outage, the client is told to retry rather than of an internal error.
  app.use(((err, _req, _res, next) => next(asDatabaseUnavailable(err))) satisfies ErrorRequestHandler);
  app.use(errorHandler);
  return app;
}
