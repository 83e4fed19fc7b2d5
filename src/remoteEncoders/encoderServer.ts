import express, { type Express, type RequestHandler } from 'express';
import { errorHandler, notFoundHandler } from '../http/errorHandler';
import { AppError } from '../errors/appError';
import type { ModelPack } from '../models/modelPack';
import { floatsToBuffer, tensorsFromBuffer, HEADERS, MAX_ITEMS, PATHS, prioritySchema, textRequestSchema, type EncoderHealth } from './protocol';

export interface EncoderServerOptions {
  /** Bearer token every encode request must carry. */
  token: string;
}

/**
 * The stateless encoder service: one model pack's towers over HTTP, for API servers and ingest on
 * other machines (a GPU box). It keeps no data; queries go before ingest as in the service itself.
 */
export function createEncoderApp(pack: ModelPack, opts: EncoderServerOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const encoded = { images: 0, texts: 0 };
  const size = pack.image.preprocessing.size;
  const tensorBytes = 3 * size * size * 4;
  app.use((_req, res, next) => {
    res.setHeader(HEADERS.pack, pack.key);
    res.setHeader(HEADERS.dim, String(pack.image.dim));
    next();
  });
  app.get(PATHS.health, (_req, res) => {
    res.json({ status: 'ok', pack: pack.key, dim: pack.image.dim, imageSize: size, queued: pack.gate.pending, encoded } satisfies EncoderHealth);
  });
  const auth: RequestHandler = (req, _res, next) => {
    next(req.headers.authorization === `Bearer ${opts.token}` ? undefined : new AppError('unauthorized', 'a valid encoder token is required'));
  };
  app.post(PATHS.text, auth, express.json({ limit: '1mb' }), async (req, res) => {
    const body = textRequestSchema.parse(req.body);
    const vectors = await pack.text.encode(body.texts, body.priority);
    encoded.texts += vectors.length;
    res.json({ pack: pack.key, dim: pack.text.dim, embeddings: vectors.map((v) => Array.from(v)) });
  });
  app.post(PATHS.image, auth, express.raw({ type: 'application/octet-stream', limit: MAX_ITEMS * tensorBytes }), async (req, res) => {
    const body = req.body as unknown;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new AppError('unsupported_media_type', 'send float32 tensors as application/octet-stream');
    if (Number(req.headers[HEADERS.imageSize]) !== size) {
      throw new AppError('image_size_mismatch', `this encoder takes ${size}×${size} tensors, the request says ${String(req.headers[HEADERS.imageSize])}`);
    }
    if (body.length % tensorBytes !== 0) throw new AppError('bad_tensor_length', `the body is not a whole number of 3×${size}×${size} float32 tensors`);
    const priority = prioritySchema.parse(req.headers[HEADERS.priority]);
    const tensors = tensorsFromBuffer(body, body.length / tensorBytes, size);
    const vectors = await pack.image.encode(tensors, priority);
    encoded.images += vectors.length;
    res.type('application/octet-stream').send(floatsToBuffer(vectors));
  });
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
