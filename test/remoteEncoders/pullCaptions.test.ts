import { mkdir, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startEncoderProcess, type EncoderProcess } from '../../bench/encoderProcess';
import { captionFor } from '../../scripts/test-pack/makeCaptioner';
import { makeTestQwen2Vl } from '../../scripts/test-pack/makeVlm';
import { CAPTIONERS_DIR } from '../../src/captioners/installCaptioner';
import { writeCaptionerManifest } from '../../src/captioners/captionerManifest';
import { ImageSearchClient } from '../../src/client/imageSearchClient';
import { pointLink } from '../../src/models/install/installPack';
import { colourImage } from '../helpers/images';
import { tempDir, testEnv } from '../helpers/env';
import { startTestService, type TestService } from '../helpers/service';
import { eventually } from '../helpers/webhookReceiver';

const PACK = 'qwen2-vl-test';
const VERSION = 'v1';
const MODEL = `captioner:${PACK}@${VERSION}`;

/** A models folder whose active captioner pack is the tiny Qwen2-VL (Chinese captions, no translator). */
async function captionerModels(): Promise<string> {
  const modelsDir = await tempDir('models');
  const dir = path.join(modelsDir, CAPTIONERS_DIR, PACK);
  await makeTestQwen2Vl(path.join(dir, 'caption'));
  await writeCaptionerManifest(dir, {
    name: PACK,
    version: VERSION,
    models: [{ role: 'caption', dir: 'caption', repo: 'onnx-community/Qwen2-VL-2B-Instruct', revision: 'test', modelType: 'qwen2_vl', dtype: 'fp32' }],
    language: 'zh',
    maxNewTokens: 8,
    files: [],
  });
  await pointLink(path.join(modelsDir, CAPTIONERS_DIR, 'active'), PACK);
  return modelsDir;
}

async function listen(svc: TestService): Promise<{ url: string; server: http.Server }> {
  const server = svc.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const COLOURS = ['red', 'green', 'blue'] as const;

async function ingest(svc: TestService, folder: string, colours: readonly string[]): Promise<string> {
  const dir = path.join(svc.inbox, folder);
  await mkdir(dir, { recursive: true });
  for (const [i, c] of colours.entries()) await writeFile(path.join(dir, `${c}-${i}.png`), await colourImage(c, { seed: 40 + i }));
  const job = await svc.services.ingest.createFolderJob('quinn', folder);
  await svc.services.ingest.runJob(job);
  return job;
}

/** Each image's stored caption, by the colour in its file name. */
async function captionsByColour(svc: TestService): Promise<Map<string, string | null>> {
  const rows = await svc.services.db.image.findMany({ where: { owner: 'quinn' }, select: { id: true, source: true } });
  const out = new Map<string, string | null>();
  for (const r of rows) {
    const detail = await svc.api().get(`/v1/images/${r.id}?owner=quinn`).expect(200);
    out.set(path.basename(r.source).split('-')[0]!, (detail.body as { caption: { text: string } | null }).caption?.text ?? null);
  }
  return out;
}

describe('pull workers caption: a worker with the service’s captioner pack takes the caption stage off the service', () => {
  test('while a worker asks, it captions every image (the local stage steps aside); a foreign captioner is refused; when it goes, the service captions again', async () => {
    const modelsDir = await captionerModels();
    const svc = await startTestService({
      MODELS_DIR: modelsDir,
      PULL_ENCODERS: 'on',
      PULL_POLL_MS: '20',
      PULL_CAPTION_PRESENCE_MS: '5000',
      STAGE_POLL_MS: '200',
      OCR: 'off',
      AUTO_TAGS: 'off',
    });
    const { url, server } = await listen(svc);
    let worker: EncoderProcess | null = null;
    try {
      const key = (await svc.services.keys.create('gpu-box', null, ['worker'])).key;
      const client = new ImageSearchClient({ baseUrl: url, apiKey: key });
      const env = { MODEL_DIR: testEnv('TEST_MODEL_DIR'), MODELS_DIR: modelsDir, SERVICE_URL: url, WORKER_KEY: key, PULL_POLL_MS: '20' };
      worker = await startEncoderProcess(env, 'pull worker is leasing batches');
      expect(worker.output()).toContain(MODEL);
      await eventually('the worker to ask for captions', async () => (workerAsked(svc) ? true : undefined));

      const job = await ingest(svc, 'with-worker', COLOURS);
      const done = await eventually('the worker’s captions', async () => {
        const counts = (await svc.services.stages.counts(job)).captions;
        return counts?.done === COLOURS.length ? counts : undefined;
      });
      expect(done).toEqual({ pending: 0, done: COLOURS.length, failed: 0 });
      const answered = worker
        .output()
        .split('\n')
        .filter((l) => l.includes('answered caption'));
      expect(answered).toHaveLength(COLOURS.length);
      expect(Object.fromEntries(await captionsByColour(svc))).toEqual(Object.fromEntries(COLOURS.map((c) => [c, captionFor(c)])));

      // Another captioner's worker, and an answer for an image nobody leased: refused, nothing written.
      await expect(client.leaseCaption('captioner:someone-else@1')).rejects.toMatchObject({ status: 409, code: 'captioner_mismatch' });
      const [anyImage] = await svc.services.db.image.findMany({ where: { owner: 'quinn' }, take: 1 });
      await expect(client.answerCaption(anyImage!.id, { captioner: MODEL, text: '伪造的说明' })).rejects.toMatchObject({ status: 409, code: 'lease_gone' });
      await expect(client.answerCaption(anyImage!.id, { captioner: MODEL })).rejects.toMatchObject({ status: 400, code: 'validation_error' });

      // The worker goes away: once it has been silent for PULL_CAPTION_PRESENCE_MS, the service captions itself.
      worker.child.kill('SIGKILL');
      worker = null;
      const later = await ingest(svc, 'after-worker', ['yellow']);
      await eventually('the service’s own caption', async () => ((await svc.services.stages.counts(later)).captions?.done === 1 ? true : undefined), 30_000);
      expect((await captionsByColour(svc)).get('yellow')).toBe(captionFor('yellow'));
    } finally {
      worker?.child.kill('SIGKILL');
      server.close();
      await svc.close();
      await svc.database.drop();
    }
  }, 180_000);
});

/** The service has heard from a caption worker (its presence window is open). */
function workerAsked(svc: TestService): boolean {
  return svc.services.pullCaptions?.connected() ?? false;
}
