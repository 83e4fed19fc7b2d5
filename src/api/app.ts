import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Services } from '../app/services';
import type { SearchResult } from '../search/searchService';
import { authenticate, requireScope } from './auth';
import { errorHandler, notFoundHandler } from './errorHandler';
import { rateLimit, recordLatency, requestTimeout } from './middleware';
import { openApiDocument } from './openapi';
import { adminRoutes } from './routes/admin';
import { healthRoutes } from './routes/health';
import { notMeaningfulWarning } from '../models/modelPack';
import { imageRoutes, signedImageRoutes } from './routes/images';
import { UrlSigner } from './signedUrls';
import { retrieveRoutes } from './routes/retrieve';
import { searchRoutes, type HitDecorator } from './routes/search';
import type { CaptionService } from '../search/captions';
import { projectRoot } from '../util/projectRoot';

/** Derived from the operator key, so signed URLs survive restarts; random when there is none. */
function urlSigningSecret(adminKey: string | undefined): Buffer {
  return adminKey ? createHash('sha256').update(`url-signing\0${adminKey}`).digest() : randomBytes(32);
}

export interface AppOptions {
  version: string;
  accepting?: () => boolean;
}

/** Adds signed image URLs and, when asked, captions (after ranking; a missing caption says why). */
function hitDecorator(captions: CaptionService, signer: UrlSigner): HitDecorator {
  return async (result: SearchResult, opts) => {
    const made = opts.caption ? await captions.forImages(result.hits) : null;
    return result.hits.map((h) => {
      const c = made?.get(h.id);
      return {
        ...h,
        thumbnailUrl: signer.sign(`/v1/images/${h.id}/thumbnail`),
        previewUrl: signer.sign(`/v1/images/${h.id}/preview`),
        ...(c ? ('caption' in c ? { caption: c.caption } : { caption: null, captionError: c.error }) : {}),
      };
    });
  };
}

export function createApp(s: Services, opts: AppOptions): Express {
  const { config } = s;
  const limits = { queryMaxChars: config.QUERY_MAX_CHARS, searchMaxLimit: config.SEARCH_MAX_LIMIT, maxBytes: config.MAX_IMAGE_BYTES, maxFiles: config.MAX_UPLOAD_FILES };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    pinoHttp({
      logger: s.log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' },
    }),
  );
  app.use(recordLatency(s.metrics));
  app.use(requestTimeout(config.REQUEST_TIMEOUT_MS));
  app.use(express.json({ limit: '1mb' }));

  const openapi = openApiDocument(limits, opts.version);
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', s.metrics.registry.contentType).send(await s.metrics.registry.metrics());
  });
  app.use(healthRoutes({ pingDatabase: s.repos.ping, store: s.store, modelKey: s.pack.key, modelWarning: notMeaningfulWarning(s.pack.manifest), accepting: opts.accepting ?? (() => true) }));
  const signer = new UrlSigner(urlSigningSecret(config.ADMIN_API_KEY));
  app.use('/v1', signedImageRoutes(s.search, s.derivatives, signer));
  app.use('/v1', authenticate(s.keys, config.ADMIN_API_KEY), rateLimit(config.RATE_LIMIT_PER_MINUTE, s.metrics));
  app.use('/v1/admin', adminRoutes(s.ingest, s.texts, s.reconcile, limits));
  app.use('/v1', requireScope('search'));
  app.use('/v1', searchRoutes(s.search, limits, s.pack.key, hitDecorator(s.captions, signer)));
  app.use('/v1', retrieveRoutes(s.search, s.texts, s.pack.text, limits));
  app.use('/v1', imageRoutes(s.search, s.derivatives, s.captions));
  const web = path.join(projectRoot(), 'web', 'dist');
  if (existsSync(web)) app.use(express.static(web, { index: 'index.html', maxAge: '1h' }));
  else app.get('/', (_req, res) => void res.status(503).json({ error: { code: 'web_not_built', message: 'the web page is not built: npm run build:web' } }));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
