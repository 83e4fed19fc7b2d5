import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelInstallError } from '../../src/models/install/errors';
import { installOptionsFromEnv } from '../../src/models/install/fetchSettings';
import { installPack } from '../../src/models/install/installPack';
import { loadModelPack } from '../../src/models/modelPack';
import { tempDir } from '../helpers/env';
import { cnClipRepo, immichRepo, ofaSys336Repo, ofaSysRepo, SIZE, splitPerTensorRepo, splitRepo, splitRepoBatchOneInside, xenovaExternalRepo, type RepoFiles } from '../helpers/hubRepos';
import { startLoopbackHub, type LoopbackHub } from '../helpers/loopbackHub';

/**
 * Installs against what the hubs and exporters really publish (cn_clip's pytorch_to_onnx.py, Immich's
 * exporter, the hub's answers), each a case the installer used to get wrong.
 */
describe('models:fetch holds for the exports people have', () => {
  let hub: LoopbackHub;
  beforeAll(async () => {
    hub = await startLoopbackHub();
    hub.add('OFA-Sys/chinese-clip-vit-base-patch16', await ofaSysRepo());
    hub.add('OFA-Sys/chinese-clip-vit-large-patch14-336px', await ofaSys336Repo());
  });
  afterAll(() => hub.close());

  const env = async (extra: Record<string, string> = {}) => ({ MODELS_ENDPOINT: hub.endpoint, MODELS_DIR: await tempDir('models'), ...extra });
  const install = async (settings: Record<string, string>, steps: string[] = []) =>
    installPack({ ...installOptionsFromEnv(settings), onStep: (m) => steps.push(m) });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('the install succeeded');
      },
      (e: unknown) => {
        expect(e).toBeInstanceOf(ModelInstallError);
        return (e as Error).message;
      },
    );
  const writeFolder = async (files: RepoFiles) => {
    const folder = await tempDir('export');
    for (const [p, data] of files) {
      await mkdir(path.dirname(path.join(folder, p)), { recursive: true });
      await writeFile(path.join(folder, p), data);
    }
    return folder;
  };

  test("a fixed batch dimension is read from the graph: cn_clip's text tower [1, 52], Immich's towers at 1; more items are run one at a time", async () => {
    hub.add('t/cn-clip', cnClipRepo());
    hub.add('t/immich', immichRepo());
    const cn = await install(await env({ MODELS_REPO: 't/cn-clip' }));
    expect([cn.manifest.text.maxBatch, cn.manifest.image.maxBatch]).toEqual([1, undefined]);
    const im = await install(await env({ MODELS_REPO: 't/immich' }));
    expect([im.manifest.text.maxBatch, im.manifest.image.maxBatch]).toEqual([1, 1]);
    for (const dir of [cn.dir, im.dir]) {
      // ENCODE_BATCH_SIZE 8, as searches, classify and ingest send: onnxruntime refused these before.
      const pack = await loadModelPack(dir, { batchSize: 8, intraOpThreads: 1, interOpThreads: 1, maxConcurrentRuns: 1, verifyChecksums: true });
      const pixels = (v: number) => ({ data: new Float32Array(3 * SIZE * SIZE).fill(v), size: SIZE });
      expect(await pack.text.encode(['海边', '日落', '的', '海', '边'])).toHaveLength(5);
      expect(await pack.image.encode([0.1, 0.2, 0.3].map(pixels), 'background')).toHaveLength(3);
      await pack.close();
    }
  });

  test('a graph that declares an open batch but runs one item at a time is found by the smoke test and recorded as fixed at 1', async () => {
    hub.add('t/traced-at-one', splitRepoBatchOneInside());
    const steps: string[] = [];
    const { manifest } = await install(await env({ MODELS_REPO: 't/traced-at-one' }), steps);
    expect([manifest.image.maxBatch, manifest.text.maxBatch]).toEqual([1, undefined]);
    expect(steps.join('\n')).toMatch(/the image tower failed on two items at once .*; it is run one item at a time/);
  });

  test('a local cn_clip export folder installs: its vocabulary from the hub when it has none, from itself when it has it', async () => {
    const bare = await writeFolder(cnClipRepo());
    const { manifest } = await install(await env({ MODELS_SOURCE: bare }));
    expect(manifest.source).toMatchObject({ layout: 'cn-clip', revision: 'local' });
    const complete = await writeFolder(new Map([...cnClipRepo(), ...(await ofaSysRepo())]));
    const before = hub.requests.length;
    await install(await env({ MODELS_SOURCE: complete }));
    expect(hub.requests.length).toBe(before);
  });

  test("a cn_clip repository with vocab.txt but no preprocessor_config.json takes the preprocessing from the vocabulary repository", async () => {
    const files = cnClipRepo();
    files.set('vocab.txt', (await ofaSysRepo()).get('vocab.txt')!);
    hub.add('t/cn-clip-vocab', files);
    const steps: string[] = [];
    const { manifest } = await install(await env({ MODELS_REPO: 't/cn-clip-vocab' }), steps);
    expect(manifest.image.size).toBe(SIZE);
    expect(steps.join('\n')).toMatch(/listing OFA-Sys\/chinese-clip-vit-base-patch16/);
  });

  test("cn_clip's ViT-L-14-336 takes its 336 px preprocessing from its own repository; a wrong MODELS_VOCAB_REPO is named", async () => {
    hub.add('t/cn-clip-336', cnClipRepo('vit-l-14-336', 336));
    const { manifest } = await install(await env({ MODELS_REPO: 't/cn-clip-336' }));
    expect(manifest.image.size).toBe(336);
    const message = await failure(install(await env({ MODELS_REPO: 't/cn-clip-336', MODELS_VOCAB_REPO: 'OFA-Sys/chinese-clip-vit-base-patch16' })));
    expect(message).toMatch(/takes 336px images but preprocessor_config\.json from OFA-Sys\/chinese-clip-vit-base-patch16 \(MODELS_VOCAB_REPO\) says 32px: set MODELS_VOCAB_REPO/);
  });

  test('a vocabulary repository that cannot be listed says so, instead of "has none"', async () => {
    hub.add('t/cn-clip-gone-vocab', cnClipRepo('vit-h-14'));
    const message = await failure(install(await env({ MODELS_REPO: 't/cn-clip-gone-vocab', MODELS_VOCAB_REPO: 'OFA-Sys/not-there' })));
    expect(message).toMatch(/OFA-Sys\/not-there \(MODELS_VOCAB_REPO\) was not found/);
    expect(message).not.toMatch(/has none/);
  });

  test('weights in per-tensor files, and a combined graph with external data split into towers at the pack root', async () => {
    hub.add('t/per-tensor', splitPerTensorRepo());
    const perTensor = await install(await env({ MODELS_REPO: 't/per-tensor' }));
    expect(Object.keys(perTensor.manifest.files).filter((f) => f.startsWith('onnx/weights/')).sort()).toEqual(
      [...splitPerTensorRepo().keys()].filter((f) => f.startsWith('onnx/weights/')).sort(),
    );
    hub.add('t/xenova-external', await xenovaExternalRepo());
    const combined = await install(await env({ MODELS_REPO: 't/xenova-external' }));
    expect(Object.keys(combined.manifest.files)).toContain('onnx/model.onnx_data');
    for (const dir of [perTensor.dir, combined.dir]) {
      const pack = await loadModelPack(dir, { batchSize: 2, intraOpThreads: 1, interOpThreads: 1, maxConcurrentRuns: 1, verifyChecksums: true });
      expect(await pack.text.encode(['海边的日落'])).toHaveLength(1);
      await pack.close();
    }
  });

  test('every file comes from the commit the listing named, even when main moves during the install', async () => {
    const first = hub.add('t/moving', splitRepo());
    const moved = splitRepo();
    moved.set('onnx/text_model.onnx', splitRepo().get('onnx/vision_model.onnx')!);
    let movedAlready = false;
    const { manifest } = await installPack({
      ...installOptionsFromEnv(await env({ MODELS_REPO: 't/moving' })),
      onStep: (m) => {
        if (m.startsWith('layout') && !movedAlready) movedAlready = Boolean(hub.add('t/moving', moved));
      },
    });
    expect(movedAlready).toBe(true);
    expect(manifest.source!.revision).toBe(first);
    expect(hub.requests.filter((r) => r.url.startsWith('/t/moving/resolve/')).every((r) => r.url.startsWith(`/t/moving/resolve/${first}/`))).toBe(true);
  });

  test('a listing refused with 429 is tried again after Retry-After', async () => {
    hub.add('t/busy', splitRepo(), { tooManyRequests: { count: 1, retryAfterSeconds: 1 } });
    const start = hub.requests.length;
    await installPack({ ...installOptionsFromEnv(await env({ MODELS_REPO: 't/busy' })) });
    const api = hub.requests.slice(start).filter((r) => r.url.startsWith('/api/models/t/busy/'));
    expect(api.length).toBeGreaterThanOrEqual(2);
    expect(api[1]!.at - api[0]!.at).toBeGreaterThanOrEqual(900);
  });

  test('tokens are read from HF_TOKEN, HUGGING_FACE_HUB_TOKEN and the file hf auth login writes; a gated repository without one says so', async () => {
    hub.add('t/gated', splitRepo(), {}, { token: 'hf_secret' });
    expect(await failure(install(await env({ MODELS_REPO: 't/gated', HF_HOME: await tempDir('hf-empty') })))).toMatch(/t\/gated is gated .*set HF_TOKEN/);
    expect(await failure(install(await env({ MODELS_REPO: 't/gated', HF_TOKEN: 'hf_wrong' })))).toMatch(/refused the token/);
    await install(await env({ MODELS_REPO: 't/gated', HUGGING_FACE_HUB_TOKEN: 'hf_secret' }));
    const home = await tempDir('hf-home');
    await writeFile(path.join(home, 'token'), 'hf_secret\n');
    await install(await env({ MODELS_REPO: 't/gated', HF_HOME: home }));
    expect(hub.requests.filter((r) => r.url.startsWith('/api/models/t/gated/')).some((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
  });
});
