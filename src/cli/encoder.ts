/**
 * npm run encoder — a stateless encoder service for one model pack (MODEL_DIR, like the service):
 * point API servers and ingest at it with ENCODER_URLS. Listens on HOST:ENCODER_PORT; requires
 * ENCODER_TOKEN. ORT_EXECUTION_PROVIDERS=cuda,cpu puts it on a GPU where onnxruntime has one.
 */
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config/env';
import { encodeOnce, loadModelPack } from '../models/modelPack';
import { createEncoderApp } from '../remoteEncoders/encoderServer';
import { createLogger } from '../util/logger';
import { runMain } from './runMain';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  if (!config.ENCODER_TOKEN) throw new Error('set ENCODER_TOKEN: the encoder answers only requests that carry it');
  const pack = await loadModelPack(config.modelDir, {
    batchSize: config.ENCODE_BATCH_SIZE,
    intraOpThreads: config.ORT_INTRA_OP_THREADS,
    interOpThreads: config.ORT_INTER_OP_THREADS,
    executionProviders: config.ORT_EXECUTION_PROVIDERS,
    maxConcurrentRuns: config.ENCODER_MAX_CONCURRENCY,
    backgroundRunMs: config.INGEST_ENCODE_RUN_MS,
    scheduling: config.ENCODER_SCHEDULING,
    imageNice: config.BACKGROUND_NICE,
    verifyChecksums: config.MODEL_VERIFY_CHECKSUMS,
  });
  await encodeOnce(pack);
  const server = createEncoderApp(pack, { token: config.ENCODER_TOKEN }).listen(config.ENCODER_PORT, config.HOST);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as AddressInfo;
  log.info({ url: `http://${config.HOST}:${port}`, pack: pack.key, dim: pack.image.dim }, 'encoder is listening');
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await pack.close();
  return 0;
});
