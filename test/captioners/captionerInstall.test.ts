import { mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { captionFor, englishCaptionFor, makeTestCaptioner } from '../../scripts/test-pack/makeCaptioner';
import { makeTestTranslator } from '../../scripts/test-pack/makeTranslator';
import { makeTestFlorence2, makeTestQwen2Vl } from '../../scripts/test-pack/makeVlm';
import { captionerFiles } from '../../src/captioners/captionerLayouts';
import { captionerOptionsFromEnv } from '../../src/captioners/captionerSettings';
import { readCaptionerManifest } from '../../src/captioners/captionerManifest';
import { activeCaptionerDir, installCaptioner, type CaptionerInstallOptions } from '../../src/captioners/installCaptioner';
import { PackCaptioner } from '../../src/captioners/packCaptioner';
import { captionerArg } from '../../src/cli/modelsFetch';
import { HubSource } from '../../src/models/install/hubSource';
import type { SourceFile } from '../../src/models/install/packSource';
import { tempDir } from '../helpers/env';
import type { RepoFiles } from '../helpers/hubRepos';
import { startLoopbackHub, type HubFaults, type LoopbackHub } from '../helpers/loopbackHub';
import { startTestService, waitForJob } from '../helpers/service';

const CAPTIONER = 'Xenova/vit-gpt2-image-captioning';
const TRANSLATOR = 'Xenova/opus-mt-en-zh';

async function folderFiles(root: string): Promise<RepoFiles> {
  const out: RepoFiles = new Map();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else out.set(path.relative(root, full).split(path.sep).join('/'), await readFile(full));
    }
  };
  await walk(root);
  return out;
}

/** A repository as the hub has it: fp32 and q8 graphs side by side, as Xenova's exports are. */
async function repo(make: (dir: string, suffix: string) => Promise<void>): Promise<RepoFiles> {
  const dir = await tempDir('repo');
  await make(dir, '');
  await make(dir, '_quantized');
  return folderFiles(dir);
}

async function colourFile(dir: string, rgb: { r: number; g: number; b: number }): Promise<string> {
  const file = path.join(dir, `${rgb.r}-${rgb.g}-${rgb.b}.png`);
  await sharp({ create: { width: 64, height: 48, channels: 3, background: rgb } })
    .png()
    .toFile(file);
  return file;
}

describe('models:fetch --captioner from a hub on loopback', () => {
  let hub: LoopbackHub;
  let captioner: RepoFiles;
  let translator: RepoFiles;
  beforeAll(async () => {
    hub = await startLoopbackHub();
    captioner = await repo((dir, suffix) => makeTestCaptioner(dir, 'en', suffix));
    translator = await repo((dir, suffix) => makeTestTranslator(dir, suffix));
    hub.add(CAPTIONER, captioner, { dropOnce: new Set(['onnx/decoder_model_merged_quantized.onnx']) });
    hub.add(TRANSLATOR, translator);
  }, 60_000);
  afterAll(() => hub.close());

  const options = async (env: Record<string, string> = {}, name?: string, modelsDir?: string): Promise<CaptionerInstallOptions> => {
    const dir = modelsDir ?? (await tempDir('models'));
    const opts = captionerOptionsFromEnv({ MODELS_ENDPOINT: hub.endpoint, MODELS_DIR: dir, ...env }, name);
    // Quick retries, so the faults below cost milliseconds.
    const models = opts.models.map((m) => ({
      ...m,
      source: new HubSource({ endpoint: hub.endpoint, repo: m.repo, revision: 'main', cacheDir: path.join(dir, '.downloads'), retryDelayMs: 10 }),
    }));
    return { ...opts, models };
  };

  test('the default is the fast CPU chain: an English captioner, then English→Chinese; --captioner takes a preset or a repository', async () => {
    expect(captionerArg(['--captioner'])).toEqual({ name: undefined });
    expect(captionerArg(['--captioner', 'qwen2-vl'])).toEqual({ name: 'qwen2-vl' });
    expect(captionerArg(['--variant'])).toBeNull();
    const opts = captionerOptionsFromEnv({});
    expect(opts).toMatchObject({ name: 'vit-gpt2-q8', dtype: 'q8', activate: true });
    expect(opts.models.map((m) => [m.role, m.repo])).toEqual([
      ['caption', CAPTIONER],
      ['translate', TRANSLATOR],
    ]);
    expect(opts.models[0]!.source.label).toContain('https://huggingface.co');
    expect(captionerOptionsFromEnv({}, 'qwen2-vl').models.map((m) => m.repo)).toEqual(['onnx-community/Qwen2-VL-2B-Instruct']);
    expect(() => captionerOptionsFromEnv({}, 'blip')).toThrow(/unknown captioner "blip"/);
    expect(() => captionerOptionsFromEnv({ MODELS_CAPTIONER_DTYPE: 'int3' })).toThrow(/MODELS_CAPTIONER_DTYPE/);
  });

  test('installs the chain with transformers.js’ own file list, fetches a dropped download again, captions in Chinese and keeps the English', async () => {
    const steps: string[] = [];
    const opts = await options();
    const installed = await installCaptioner({ ...opts, onStep: (m) => steps.push(m) });
    expect(installed.sample).toBe(captionFor('red'));
    expect(installed.manifest).toMatchObject({
      name: 'vit-gpt2-q8',
      language: 'zh',
      models: [
        { role: 'caption', repo: CAPTIONER, modelType: 'vision-encoder-decoder', dtype: 'q8' },
        { role: 'translate', repo: TRANSLATOR, modelType: 'marian', dtype: 'q8' },
      ],
    });
    // Only the q8 graphs, never the fp32 ones beside them; every file with its published checksum.
    const files = installed.manifest.files.map((f) => f.path);
    expect(files.filter((f) => f.endsWith('.onnx')).sort()).toEqual([
      'caption/onnx/decoder_model_merged_quantized.onnx',
      'caption/onnx/encoder_model_quantized.onnx',
      'translate/onnx/decoder_model_merged_quantized.onnx',
      'translate/onnx/encoder_model_quantized.onnx',
    ]);
    expect(files).toEqual(expect.arrayContaining(['caption/preprocessor_config.json', 'translate/tokenizer.json', 'translate/generation_config.json']));
    expect(installed.manifest.files.filter((f) => f.path.endsWith('.onnx')).every((f) => /^[0-9a-f]{64}$/.test(f.sha256 ?? ''))).toBe(true);
    // The dropped download was asked again (from where it stopped when any bytes had reached the disk) and verified.
    expect(
      hub.requests.filter((r) => r.url.includes(`${CAPTIONER}/resolve/`) && r.url.endsWith('decoder_model_merged_quantized.onnx')).length,
    ).toBeGreaterThanOrEqual(2);
    expect(steps.join('\n')).toMatch(/it wrote: 红色的图片 \(from "a red picture"\)/);
    expect(await readlink(activeCaptionerDir(opts.modelsDir))).toBe('vit-gpt2-q8');

    const pack = new PackCaptioner({ model: 'm', dir: installed.dir, ...(await readCaptionerManifest(installed.dir)) }, null);
    const blue = await pack.describe(await colourFile(await tempDir('img'), { r: 30, g: 40, b: 220 }));
    expect(blue).toEqual({ text: captionFor('blue'), original: englishCaptionFor('blue'), score: null });
  }, 60_000);

  test('a dtype the repository lacks, a bad checksum, a model of the wrong type: clear errors, and the installed pack stays as it was', async () => {
    const modelsDir = await tempDir('models');
    await installCaptioner(await options({}, undefined, modelsDir));
    const before = await readCaptionerManifest(activeCaptionerDir(modelsDir));

    await expect(installCaptioner(await options({ MODELS_CAPTIONER_DTYPE: 'q4' }, undefined, modelsDir))).rejects.toThrow(
      /lacks onnx\/encoder_model_q4\.onnx, onnx\/decoder_model_merged_q4\.onnx, which transformers\.js opens for dtype q4 \(dtypes it has: fp32, q8/,
    );
    hub.add('Xenova/opus-mt-en-zh-broken', translator, { wrongChecksum: new Set(['onnx/encoder_model_quantized.onnx']) } satisfies HubFaults);
    await expect(installCaptioner(await options({ MODELS_TRANSLATOR: 'Xenova/opus-mt-en-zh-broken' }, undefined, modelsDir))).rejects.toThrow(
      /sha256|checksum/i,
    );
    await expect(installCaptioner(await options({ MODELS_CAPTIONER: TRANSLATOR, MODELS_TRANSLATOR: 'none' }, undefined, modelsDir))).rejects.toThrow(
      /model_type marian, which is not an image captioner \(expected one of: vision-encoder-decoder, florence2, qwen2_vl\)/,
    );
    const noConfig = new Map(captioner);
    noConfig.delete('config.json');
    hub.add('someone/not-a-model', noConfig);
    await expect(installCaptioner(await options({ MODELS_CAPTIONER: 'someone/not-a-model' }, undefined, modelsDir))).rejects.toThrow(/has no config\.json/);

    expect(await readCaptionerManifest(activeCaptionerDir(modelsDir))).toEqual(before);
    expect((await readdir(path.join(modelsDir, 'captioners'))).filter((f) => f.startsWith('.staging'))).toEqual([]);
  }, 60_000);

  test('Qwen2-VL: files planned from config.json as transformers.js opens them, external data included', async () => {
    const listing = (paths: string[]): SourceFile[] => paths.map((p) => ({ path: p, size: 1 }));
    const qwen = {
      model_type: 'qwen2_vl',
      architectures: ['Qwen2VLForConditionalGeneration'],
      'transformers.js_config': { use_external_data_format: { 'decoder_model_merged.onnx': true } },
    };
    const files = await captionerFiles(
      listing([
        'config.json',
        'chat_template.json',
        'generation_config.json',
        'preprocessor_config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'onnx/embed_tokens.onnx',
        'onnx/vision_encoder.onnx',
        'onnx/decoder_model_merged.onnx',
        'onnx/decoder_model_merged.onnx_data',
        'onnx/embed_tokens_q4.onnx',
        'onnx/vision_encoder_q4.onnx',
        'onnx/decoder_model_merged_q4.onnx',
      ]),
      qwen,
      'fp32',
      'onnx-community/Qwen2-VL-2B-Instruct',
    );
    expect(files.map((f) => f.path).sort()).toEqual(
      [
        'chat_template.json',
        'generation_config.json',
        'onnx/decoder_model_merged.onnx',
        'onnx/decoder_model_merged.onnx_data',
        'onnx/embed_tokens.onnx',
        'onnx/vision_encoder.onnx',
        'preprocessor_config.json',
        'tokenizer.json',
        'tokenizer_config.json',
      ].sort(),
    );
  });

  test('Qwen2-VL installs as a pack that writes Chinese itself: the chat template, a Chinese instruction, the q4 graphs only', async () => {
    const repoName = 'onnx-community/Qwen2-VL-2B-Instruct';
    const dir = await tempDir('qwen');
    await makeTestQwen2Vl(dir, '');
    await makeTestQwen2Vl(dir, '_q4');
    hub.add(repoName, await folderFiles(dir));
    const modelsDir = await tempDir('models');
    const installed = await installCaptioner(await options({}, 'qwen2-vl', modelsDir));
    expect(installed.sample).toBe(captionFor('red'));
    expect(installed.manifest).toMatchObject({
      name: 'qwen2-vl-q4',
      language: 'zh',
      models: [{ role: 'caption', repo: repoName, modelType: 'qwen2_vl', dtype: 'q4' }],
    });
    expect(installed.manifest.files.map((f) => f.path).sort()).toEqual(
      [
        'caption/chat_template.json',
        'caption/config.json',
        'caption/generation_config.json',
        'caption/onnx/decoder_model_merged_q4.onnx',
        'caption/onnx/embed_tokens_q4.onnx',
        'caption/onnx/vision_encoder_q4.onnx',
        'caption/preprocessor_config.json',
        'caption/tokenizer.json',
        'caption/tokenizer_config.json',
      ].sort(),
    );
    const pack = new PackCaptioner({ model: 'm', dir: installed.dir, ...(await readCaptionerManifest(installed.dir)) }, null);
    const purple = await pack.describe(await colourFile(await tempDir('img'), { r: 140, g: 30, b: 190 }));
    expect(purple).toEqual({ text: captionFor('purple'), original: null, score: null });
  }, 60_000);

  test('Florence-2 installs with the translator: its caption task in English, then Chinese, the English kept', async () => {
    const dir = await tempDir('florence');
    await makeTestFlorence2(dir, '');
    await makeTestFlorence2(dir, '_quantized');
    hub.add('onnx-community/Florence-2-base-ft', await folderFiles(dir));
    const installed = await installCaptioner(await options({}, 'florence2'));
    expect(installed.manifest).toMatchObject({
      name: 'florence2-q8',
      language: 'zh',
      models: [
        { role: 'caption', modelType: 'florence2', dtype: 'q8' },
        { role: 'translate', repo: TRANSLATOR, modelType: 'marian' },
      ],
    });
    expect(
      installed.manifest.files
        .filter((f) => f.path.startsWith('caption/onnx/'))
        .map((f) => f.path)
        .sort(),
    ).toEqual([
      'caption/onnx/decoder_model_merged_quantized.onnx',
      'caption/onnx/embed_tokens_quantized.onnx',
      'caption/onnx/encoder_model_quantized.onnx',
      'caption/onnx/vision_encoder_quantized.onnx',
    ]);
    const pack = new PackCaptioner({ model: 'm', dir: installed.dir, ...(await readCaptionerManifest(installed.dir)) }, null);
    const yellow = await pack.describe(await colourFile(await tempDir('img'), { r: 240, g: 225, b: 30 }));
    expect(yellow).toEqual({ text: captionFor('yellow'), original: englishCaptionFor('yellow'), score: null });
  }, 60_000);

  test('the service captions every image with the active pack in Chinese, the English kept; the caption stage counts them', async () => {
    const modelsDir = await tempDir('models');
    const installed = await installCaptioner(await options({}, undefined, modelsDir));
    const svc = await startTestService({ MODELS_DIR: modelsDir, OCR: 'off' });
    try {
      const folder = path.join(svc.inbox, 'zoe');
      await mkdir(folder, { recursive: true });
      await colourFile(folder, { r: 30, g: 190, b: 40 });
      const started = await svc.api().post('/v1/admin/ingest').send({ owner: 'zoe', folder: 'zoe' }).expect(202);
      const status = await waitForJob(svc, started.body.jobId);
      expect(status.stages.captions).toEqual({ pending: 0, done: 1, failed: 0 });
      const [image] = (await svc.api().get('/v1/images?owner=zoe').expect(200)).body.images as { id: string }[];
      const detail = await svc.api().get(`/v1/images/${image!.id}?owner=zoe`).expect(200);
      expect(detail.body.caption).toMatchObject({
        text: captionFor('green'),
        original: englishCaptionFor('green'),
        language: 'zh',
        model: `captioner:vit-gpt2-q8@${installed.manifest.version}`,
      });
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  }, 120_000);
});
