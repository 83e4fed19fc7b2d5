import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Services } from '../app/services';
import { authenticate, requireScope } from './auth';
import { errorHandler, notFoundHandler } from './errorHandler';
import { rateLimit, recordLatency, requestId, requestTimeout } from './middleware';
import { rejectNulCharacters } from './nulCharacters';
import { openApiDocument } from './openapi';
import { adminRoutes } from './routes/admin';
import { healthRoutes } from './routes/health';
import { workerRoutes } from './routes/workers';
import { notMeaningfulWarning } from '../models/modelPack';
import { imageRoutes, signedImageRoutes } from './routes/images';
import { UrlSigner, urlSigningSecret } from './signedUrls';
import { retrieveRoutes } from './routes/retrieve';
import { searchRoutes } from './routes/search';
import { libraryRoutes } from './routes/library';
import { duplicateRoutes } from './routes/duplicates';
import { webhookRoutes } from './routes/webhooks';
import { watchRoutes } from './routes/watches';
import { hitDecorator } from './hitShaping';
import { projectRoot } from '../util/projectRoot';

export interface AppOptions {
  version: string;
  accepting?: () => boolean;
}

export function createApp(s: Services, opts: AppOptions): Express {
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
  app.use(
    pinoHttp({
      logger: s.log,
      genReqId: requestId,
      autoLogging: { ignore: (req) => req.url === '/healthz' },
    }),
  );
  app.use(recordLatency(s.metrics));
  app.use(requestTimeout(config.REQUEST_TIMEOUT_MS));
  app.use(express.json({ limit: '1mb' }));
  app.use(rejectNulCharacters());

  const openapi = openApiDocument(limits, opts.version);
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', s.metrics.registry.contentType).send(await s.metrics.registry.metrics());
  });
  app.use(
    healthRoutes({
      pingDatabase: () => s.repos.ping(),
      store: s.store,
      modelKey: s.pack.key,
      modelWarning: notMeaningfulWarning(s.pack.manifest),
      accepting: opts.accepting ?? (() => true),
      encoders: s.encoders ? () => s.encoders!.status() : undefined,
    }),
  );
  const signer = new UrlSigner(urlSigningSecret(config.ADMIN_API_KEY));
  app.use('/v1', signedImageRoutes(s.search, s.derivatives, signer));
  app.use('/v1', authenticate(s.keys, config.ADMIN_API_KEY), rateLimit(config.RATE_LIMIT_PER_MINUTE, s.metrics));
  app.use(
    '/v1/admin',
    adminRoutes(s.ingest, s.texts, (fix) => s.reconcile(fix), limits),
  );
  app.use(
    '/v1/admin',
    watchRoutes(s.watcher, (owner) => s.repos.watches.list(owner)),
  );
  app.use(
    '/v1',
    libraryRoutes(s.library, s.deletion, (owner) => s.purgeOwner(owner), limits),
  );
  app.use('/v1', webhookRoutes(s.webhooks, limits));
  app.use('/v1', duplicateRoutes(s.duplicates, signer, limits));
  app.use('/v1', workerRoutes(s.pull));
  app.use('/v1', requireScope('search'));
  app.use('/v1', searchRoutes(s.search, limits, s.pack.key, hitDecorator(s.captions, signer), s.searchMode));
  app.use('/v1', retrieveRoutes(s.search, s.texts, s.pack.text, limits));
  app.use('/v1', imageRoutes(s.search, s.derivatives, s.captions));
  const web = path.join(projectRoot(), 'web', 'dist');
  if (existsSync(web)) app.use(express.static(web, { index: 'index.html', maxAge: '1h' }));
  else app.get('/', (_req, res) => void res.status(503).json({ error: { code: 'web_not_built', message: 'the web page is not built: npm run build:web' } }));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
