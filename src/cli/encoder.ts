/**
 * npm run encoder — an encoder for one model pack (MODEL_DIR, like the service), in either or both ways:
 * - push (ENCODER_TOKEN): serves encoding on HOST:ENCODER_PORT; services point ENCODER_URLS at it;
 * - pull (SERVICE_URL and WORKER_KEY): leases ingest batches from a service with PULL_ENCODERS=on, and
 *   with a captioner pack installed here, the images the service would caption.
 * ORT_EXECUTION_PROVIDERS=cuda,cpu puts it on a GPU where onnxruntime has one.
 */
import type { AddressInfo } from 'node:net';
import { captionerFromConfig } from '../captioners/activeCaptioner';
import { loadConfig } from '../config/env';
import { encodeOnce, loadModelPack, packOptionsFrom } from '../models/modelPack';
import { createEncoderApp } from '../remoteEncoders/encoderServer';
import { PullWorker } from '../remoteEncoders/pullWorker';
import { ServiceLink } from '../remoteEncoders/serviceLink';
import { createLogger } from '../util/logger';
import { runMain } from './runMain';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
  const pull = config.SERVICE_URL && config.WORKER_KEY ? { url: config.SERVICE_URL, key: config.WORKER_KEY } : null;
  if (!config.ENCODER_TOKEN && !pull) {
    throw new Error('set ENCODER_TOKEN to serve encoding (push), or SERVICE_URL and WORKER_KEY to lease batches from a service (pull)');
  }
  const pack = await loadModelPack(config.modelDir, packOptionsFrom(config));
  await encodeOnce(pack);
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const server = config.ENCODER_TOKEN ? createEncoderApp(pack, { token: config.ENCODER_TOKEN }).listen(config.ENCODER_PORT, config.HOST) : null;
  if (server) {
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    const { port } = server.address() as AddressInfo;
    log.info({ url: `http://${config.HOST}:${port}`, pack: pack.key, dim: pack.image.dim }, 'encoder is listening');
  }
  // The captioner pack this machine has (models:fetch -- --captioner): a GPU box captions for the service.
  const captioner = pull ? captionerFromConfig(config, null) : null;
  const worker = pull ? new PullWorker(new ServiceLink(pull.url, pull.key), pack, { idleMs: config.PULL_POLL_MS }, log, captioner) : null;
  if (worker) log.info({ service: pull!.url, pack: pack.key, captioner: captioner?.model ?? null }, 'pull worker is leasing batches');
  // A refused pack ends the worker (and the process) with the service's reason.
  await Promise.race([stopped, worker?.start() ?? stopped]);
  await worker?.stop();
  if (server) await new Promise((resolve) => server.close(resolve));
  await pack.close();
  return 0;
});
