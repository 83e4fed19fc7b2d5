import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelInstallError } from '../../src/models/install/errors';
import { DEFAULT_REPO, installOptionsFromEnv } from '../../src/models/install/fetchSettings';
import { HubSource } from '../../src/models/install/hubSource';
import { installPack, type InstallOptions } from '../../src/models/install/installPack';
import { FolderSource } from '../../src/models/install/packSource';
import { loadModelPack } from '../../src/models/modelPack';
import { dot } from '../../src/models/vectorMath';
import { tempDir } from '../helpers/env';
import { cnClipRepo, DIM, immichRepo, ofaSysRepo, SIZE, splitRepo, xenovaRepo, type RepoFiles } from '../helpers/hubRepos';
import { startLoopbackHub, type HubFaults, type LoopbackHub } from '../helpers/loopbackHub';

const PACK_OPTS = { batchSize: 4, intraOpThreads: 1, interOpThreads: 1, maxConcurrentRuns: 1, verifyChecksums: true };

describe('models:fetch from a hub on loopback', () => {
  let hub: LoopbackHub;
  let xenova: RepoFiles;
  const commits: Record<string, string> = {};
  beforeAll(async () => {
    hub = await startLoopbackHub();
    xenova = await xenovaRepo();
    hub.add('Xenova/chinese-clip-vit-base-patch16', xenova, { dropOnce: new Set(['onnx/model.onnx']) });
    hub.add('eisneim/cn-clip_vit-b-16', cnClipRepo());
    hub.add('OFA-Sys/chinese-clip-vit-base-patch16', await ofaSysRepo());
    commits.split = hub.add('Xenova/clip-test-split', splitRepo());
    hub.add('immich-app/nllb-clip-test', immichRepo());
  });
  afterAll(() => hub.close());

  const install = async (repo: string, extra: Partial<InstallOptions> & { modelsDir?: string } = {}) => {
    const modelsDir = extra.modelsDir ?? (await tempDir('models'));
    const opts = installOptionsFromEnv({ MODELS_REPO: repo, MODELS_ENDPOINT: hub.endpoint, MODELS_DIR: modelsDir });
    const progress: string[] = [];
    const result = await installPack({ ...opts, ...extra, source: extra.source ?? withQuickRetries(opts.source, repo, modelsDir), onProgress: (p) => progress.push(p.file) });
    return { ...result, modelsDir, progress };
  };
  const withQuickRetries = (source: InstallOptions['source'], repo: string, modelsDir: string) =>
    source instanceof HubSource ? new HubSource({ endpoint: hub.endpoint, repo, revision: 'main', cacheDir: path.join(modelsDir, '.downloads'), retryDelayMs: 10 }) : source;

  test('with no settings the default is Chinese-CLIP ViT-B/16 fp32 from Xenova on the Hugging Face hub', () => {
    const opts = installOptionsFromEnv({});
    expect(DEFAULT_REPO).toBe('Xenova/chinese-clip-vit-base-patch16');
    expect(opts).toMatchObject({ repo: DEFAULT_REPO, variant: 'fp32', activate: true });
    expect(opts.source.label).toContain('https://huggingface.co');
    expect(() => installOptionsFromEnv({ MODELS_VARIANT: 'int4' })).toThrow(/MODELS_VARIANT/);
  });

  test('the combined Xenova graph is split into towers that depend on their own inputs only, and resumes after a dropped connection', async () => {
    const { dir, manifest, modelsDir, progress } = await install('Xenova/chinese-clip-vit-base-patch16');
    expect(manifest).toMatchObject({
      embeddingDim: DIM,
      source: { layout: 'transformers-combined', variant: 'fp32' },
      image: { file: 'image_encoder.onnx', input: 'pixel_values', output: 'image_embeds', size: SIZE, resize: 'squash', interpolation: 'bicubic', mean: [0.48145466, 0.4578275, 0.40821073] },
      text: {
        file: 'text_encoder.onnx',
        inputs: { ids: 'input_ids', mask: 'attention_mask', tokenTypes: 'token_type_ids' },
        maxLength: 52,
        script: 'simplified',
        tokenizer: { file: 'tokenizer.json', config: 'tokenizer_config.json', lowercase: true },
      },
    });
    // The dropped download resumed with a Range request after the redirect to the file store.
    expect(hub.requests.some((r) => r.url.startsWith('/store/') && r.range && r.range !== 'bytes=0-')).toBe(true);
    expect(progress).toContain('onnx/model.onnx');
    expect(await readlink(path.join(modelsDir, 'active'))).toBe(path.basename(dir));
    expect((await readdir(modelsDir)).filter((f) => f.startsWith('.staging'))).toEqual([]);

    const image = await ort.InferenceSession.create(path.join(dir, 'image_encoder.onnx'));
    const text = await ort.InferenceSession.create(path.join(dir, 'text_encoder.onnx'));
    expect(image.inputNames).toEqual(['pixel_values']);
    expect([...text.inputNames].sort()).toEqual(['attention_mask', 'input_ids', 'token_type_ids']);
    expect(text.outputNames).toEqual(['text_embeds']);

    // The towers compute exactly what the combined graph computes.
    const combined = await ort.InferenceSession.create(Buffer.from(xenova.get('onnx/model.onnx')!));
    const ids = new ort.Tensor('int64', BigInt64Array.from([101n, 3862n, 6804n, 102n]), [1, 4]);
    const ones = new ort.Tensor('int64', BigInt64Array.from([1n, 1n, 1n, 1n]), [1, 4]);
    const zeros = new ort.Tensor('int64', new BigInt64Array(4), [1, 4]);
    const pixels = new ort.Tensor('float32', Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => Math.sin(i)), [1, 3, SIZE, SIZE]);
    const whole = await combined.run({ input_ids: ids, attention_mask: ones, token_type_ids: zeros, pixel_values: pixels });
    const t = await text.run({ input_ids: ids, attention_mask: ones, token_type_ids: zeros });
    const i = await image.run({ pixel_values: pixels });
    expect(Array.from(t.text_embeds!.data as Float32Array)).toEqual(Array.from(whole.text_embeds!.data as Float32Array));
    expect(Array.from(i.image_embeds!.data as Float32Array)).toEqual(Array.from(whole.image_embeds!.data as Float32Array));
    await Promise.all([image.release(), text.release(), combined.release()]);

    const pack = await loadModelPack(dir, PACK_OPTS);
    const [v] = await pack.text.encode(['海边的日落']);
    expect(Math.sqrt(dot(v!, v!))).toBeCloseTo(1, 5);
    await pack.close();
  });

  test('MODELS_VARIANT picks the quantized graph', async () => {
    const { manifest, dir } = await install('Xenova/chinese-clip-vit-base-patch16', { variant: 'quantized' });
    expect(manifest.name).toBe('chinese-clip-vit-base-patch16-quantized');
    expect(manifest.source).toMatchObject({ variant: 'quantized' });
    expect(hub.requests.some((r) => /resolve\/[0-9a-f]{40}\/onnx\/model_quantized\.onnx/.test(r.url))).toBe(true);
    const fp32 = await install('Xenova/chinese-clip-vit-base-patch16');
    expect(manifest.version).not.toBe(fp32.manifest.version);
    expect(path.basename(dir)).toBe('chinese-clip-vit-base-patch16-quantized');
  });

  test("cn_clip's own export takes its vocabulary and preprocessing from the companion repository", async () => {
    const { manifest, dir } = await install('eisneim/cn-clip_vit-b-16');
    expect(manifest).toMatchObject({
      source: { layout: 'cn-clip' },
      image: { file: 'vit-b-16.img.fp32.onnx', input: 'image', output: 'unnorm_image_features', size: SIZE, resize: 'squash' },
      text: { file: 'vit-b-16.txt.fp32.onnx', inputs: { ids: 'text' }, maxLength: 52, script: 'simplified', tokenizer: { file: 'vocab.txt' } },
    });
    const pack = await loadModelPack(dir, PACK_OPTS);
    expect(await pack.text.encode(['海边的日落', '猫'])).toHaveLength(2);
    await pack.close();
    await expect(install('eisneim/cn-clip_vit-b-16', { variant: 'quantized' })).rejects.toThrow(/fp32 and fp16 graphs only/);
  });

  test("cn_clip's fp16 graph (keep_io_types: float32 in and out, float16 inside) keeps its weights in the .extra_file its graph names", async () => {
    const { manifest, dir } = await install('eisneim/cn-clip_vit-b-16', { variant: 'fp16' });
    expect(manifest.image).toMatchObject({ file: 'vit-b-16.img.fp16.onnx', inputType: 'float32' });
    expect(Object.keys(manifest.files)).toContain('vit-b-16.img.fp16.onnx.extra_file');
    const pack = await loadModelPack(dir, PACK_OPTS);
    const pixels = (v: number) => ({ data: new Float32Array(3 * SIZE * SIZE).fill(v), size: SIZE });
    const [a, b] = await pack.image.encode([pixels(0.5), pixels(-0.5)]);
    expect(Math.sqrt(dot(a!, a!))).toBeCloseTo(1, 3);
    expect(dot(a!, b!)).toBeLessThan(0.999);
    await pack.close();
  });

  test('a download a previous run left half-done resumes from where it stopped', async () => {
    const modelsDir = await tempDir('models');
    const graph = splitRepo().get('onnx/text_model.onnx')!;
    // Partial files are kept per commit: another commit's bytes never complete them.
    const part = path.join(modelsDir, '.downloads', 'Xenova--clip-test-split', commits.split!, 'onnx/text_model.onnx.part');
    await mkdir(path.dirname(part), { recursive: true });
    await writeFile(part, graph.subarray(0, 100));
    hub.requests.length = 0;
    await install('Xenova/clip-test-split', { modelsDir });
    expect(hub.requests.filter((r) => r.url.startsWith('/store/')).map((r) => r.range)).toContain('bytes=100-');
  });

  test('the transformers.js split layout with a shortest-edge resize and centre crop', async () => {
    const { manifest, dir } = await install('Xenova/clip-test-split');
    expect(manifest).toMatchObject({ source: { layout: 'transformers-split' }, image: { file: 'onnx/vision_model.onnx', resize: 'cover', size: SIZE }, text: { maxLength: 16, tokenizer: { file: 'tokenizer.json' } } });
    const pack = await loadModelPack(dir, PACK_OPTS);
    expect(await pack.text.encode(['a cat'])).toHaveLength(1);
    // An English CLIP: text goes to it as typed.
    expect(manifest.text.script).toBeUndefined();
    await pack.close();
  });

  test("Immich's layout: open_clip config, int32 text ids, and the NLLB language prefix", async () => {
    const { manifest, dir } = await install('immich-app/nllb-clip-test');
    expect(manifest).toMatchObject({
      source: { layout: 'immich' },
      image: { file: 'visual/model.onnx', input: 'image', output: 'embedding', resize: 'cover' },
      text: { file: 'textual/model.onnx', inputs: { ids: 'text' }, idsType: 'int32', maxLength: 16, prefix: 'zho_Hans', script: 'simplified', tokenizer: { file: 'textual/tokenizer.json' } },
    });
    const pack = await loadModelPack(dir, PACK_OPTS);
    expect(await pack.text.encode(['海边的日落'])).toHaveLength(1);
    await pack.close();
  });

  test('a local folder in any layout installs the same way (MODELS_SOURCE)', async () => {
    const folder = await tempDir('immich-src');
    for (const [p, data] of immichRepo()) {
      await mkdir(path.dirname(path.join(folder, p)), { recursive: true });
      await writeFile(path.join(folder, p), data);
    }
    const modelsDir = await tempDir('models');
    const opts = installOptionsFromEnv({ MODELS_SOURCE: folder, MODELS_DIR: modelsDir });
    expect(opts.source).toBeInstanceOf(FolderSource);
    const { manifest } = await installPack(opts);
    expect(manifest.source).toMatchObject({ layout: 'immich', revision: 'local' });
  });

  describe('failures end in a clear error and leave the active pack as it was', () => {
    const failing = async (repo: string, files: RepoFiles, faults: HubFaults, expected: RegExp) => {
      hub.add(repo, files, faults);
      const modelsDir = await tempDir('models');
      const first = await install('Xenova/clip-test-split', { modelsDir });
      const err = await install(repo, { modelsDir }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ModelInstallError);
      expect((err as Error).message).toMatch(expected);
      expect(await readlink(path.join(modelsDir, 'active'))).toBe(path.basename(first.dir));
      expect((await readdir(modelsDir)).filter((f) => f.startsWith('.staging'))).toEqual([]);
      expect(JSON.parse(await readFile(path.join(first.dir, 'manifest.json'), 'utf8'))).toMatchObject({ name: first.manifest.name });
    };

    test('an unknown repository', async () => {
      const modelsDir = await tempDir('models');
      // The hub answers 401 to anonymous callers for a mistyped name, as for a private repository.
      await expect(install('nobody/no-such-model', { modelsDir })).rejects.toThrow(
        /nobody\/no-such-model was not found on .* \(HTTP 401\), or it is private or gated: check the name, or set HF_TOKEN/,
      );
    });

    test('a truncated file', () => failing('t/truncated', splitRepo(), { truncate: new Set(['onnx/text_model.onnx']) }, /onnx\/text_model\.onnx.*truncated/));

    test('a wrong checksum', () => failing('t/bad-sum', splitRepo(), { wrongChecksum: new Set(['onnx/vision_model.onnx']) }, /checksum mismatch for onnx\/vision_model\.onnx/));

    test('a missing configuration file, named with its field', async () => {
      const files = splitRepo();
      files.delete('preprocessor_config.json');
      await failing('t/no-preprocessor', files, {}, /no preprocessor_config\.json/);
      const bad = splitRepo();
      bad.set('preprocessor_config.json', Buffer.from(JSON.stringify({ resample: 3, image_mean: [0.5, 0.5], image_std: [1, 1, 1], size: SIZE })));
      await failing('t/bad-mean', bad, {}, /preprocessor_config\.json: field image_mean is \[0\.5,0\.5\]/);
    });

    test('files that disagree with each other', async () => {
      const files = splitRepo();
      files.set('config.json', Buffer.from(JSON.stringify({ model_type: 'clip', projection_dim: 768 })));
      await failing('t/disagree', files, {}, /config\.json: projection_dim is 768 but the graphs produce 16/);
    });

    test('a variant the repository does not have', async () => {
      hub.add('t/no-fp16', splitRepo());
      const modelsDir = await tempDir('models');
      await expect(install('t/no-fp16', { modelsDir, variant: 'fp16' })).rejects.toThrow(/no onnx\/vision_model_fp16\.onnx for variant fp16/);
    });
  });
});
