/**
 * npm run bench:captions — seconds per caption on this machine for each captioner pack, on graphs with
 * the real architectures and shapes (bench/captionArch.ts; random weights, so the tokens are timed, not
 * read): the encoder once, cross-attention keys and values once, then one decoder step per token with
 * the growing cache, as transformers.js' generate runs them (greedy, batch 1). vit-gpt2 in fp32 and int8
 * (every MatMul weight quantised dynamically, as the hub's _quantized / q8 files are); decoder layers each
 * with their own weights, since one token's step is bound by reading them.
 * - vit-gpt2-q8 chain: 12 English tokens, then opus-mt-en-zh: 16 tokens in, 16 Chinese tokens out;
 * - qwen2-vl q4 (MatMulNBits, 4-bit blocks of 32, as the hub's q4 files): the 336 px image (576 patches,
 *   144 image tokens) and a 20-token instruction prefilled, then 20 Chinese tokens.
 * - florence2 q8: its DaViT vision tower at 768 px (bench/davitArch.ts), BART-base over the 577 image tokens and the
 *   task prompt, 12 English tokens, then the same translator.
 * Then what the vit-gpt2 chain, run as the background caption stage, costs the service on the same cores: ingest's
 * rate, and searches while it works. Writes bench/captions-results.json and .md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { quantizeMatMulWeights } from './archPack';
import { DAVIT, davitGraph } from './davitArch';
import {
  crossKvGraph,
  decoderStepGraph,
  encoderGraph,
  FLORENCE2,
  lmHeadGraph,
  OPUS_MT,
  QWEN2_VL,
  VIT_GPT2,
  type DecoderShape,
  type EncoderShape,
} from './captionArch';
import { writePhotoLikeJpegs } from './fixtures';
import { runStandaloneBench, type Harness } from './harness';
import { listen, searchOnce } from './query';
import { median, round, summarize, timed, writeBenchResults } from './stats';
import type { ImageStage } from '../src/stages/imageStages';

/** int8: every MatMul weight quantised dynamically (the hub's q8 files); q4: MatMulNBits (its q4 files). */
type Variant = 'fp32' | 'int8' | 'q4';
const REPEATS = Number(process.env.BENCH_CAPTION_REPEATS ?? 3);

interface Model {
  /** A vision tower run before the encoder (Florence-2's DaViT); the others' encoders take the image themselves. */
  vision: ort.InferenceSession | null;
  encoder: ort.InferenceSession;
  crossKv: ort.InferenceSession | null;
  decoder: ort.InferenceSession;
  head: ort.InferenceSession;
  e: EncoderShape;
  d: DecoderShape;
}

const zeros = (dims: number[]) => new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
const noise = (dims: number[]) =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.random() - 0.5),
    dims,
  );

async function session(dir: string, name: string, bytes: Uint8Array, variant: Variant): Promise<ort.InferenceSession> {
  const file = path.join(dir, `${name}-${variant}.onnx`);
  await writeFile(file, variant === 'int8' ? quantizeMatMulWeights(bytes) : bytes);
  return ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' });
}

async function load(dir: string, spec: { encoder: EncoderShape; decoder: DecoderShape }, variant: Variant, withVision = false): Promise<Model> {
  const e = spec.encoder;
  const d = spec.decoder;
  const options = { q4: variant === 'q4' };
  const vision = withVision ? await session(dir, 'florence2-davit', davitGraph(), variant) : null;
  const encoder = await session(dir, e.name, encoderGraph(e, options), variant);
  const crossKv = d.cross ? await session(dir, `${d.name}-cross`, crossKvGraph(d, e.tokens, options), variant) : null;
  const decoder = await session(dir, d.name, decoderStepGraph(d, d.cross ? e.tokens : 0, options), variant);
  const head = await session(dir, `${d.name}-head`, lmHeadGraph(d, options), variant);
  return { vision, encoder, crossKv, decoder, head, e, d };
}

async function release(m: Model): Promise<void> {
  for (const s of [m.vision, m.encoder, m.crossKv, m.decoder, m.head]) await s?.release();
}

interface Timing {
  encodeMs: number;
  prefillMs: number;
  stepMs: number[];
}

/** One caption: encode, prefill `prompt` tokens (1 for a start token), then `tokens - 1` more steps. */
async function caption(m: Model, prompt: number, tokens: number): Promise<Timing> {
  const { e, d } = m;
  const headDim = d.hidden / d.heads;
  const t0 = performance.now();
  if (m.vision) await m.vision.run({ pixel_values: noise([1, 3, DAVIT.imageSize, DAVIT.imageSize]) });
  const encoderInput: Record<string, ort.Tensor> = e.patchInput
    ? { pixel_values: noise([1, e.tokens, e.patchInput]) }
    : e.embedsInput
      ? { inputs_embeds: noise([1, e.tokens, e.hidden]) }
      : { pixel_values: noise([1, 3, e.imageSize!, e.imageSize!]) };
  const encoded = await m.encoder.run(encoderInput);
  const cross = m.crossKv ? await m.crossKv.run({ encoder_hidden_states: encoded.last_hidden_state! }) : {};
  const t1 = performance.now();
  let past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < d.layers; i++) for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = zeros([1, d.kvHeads, 0, headDim]);
  const step = async (n: number) => {
    const out = await m.decoder.run({ inputs_embeds: noise([1, n, d.hidden]), ...past, ...cross });
    past = {};
    for (let i = 0; i < d.layers; i++) for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = out[`present.${i}.${kv}`]!;
    return (await m.head.run({ last_hidden_state: out.last_hidden_state! })).logits!;
  };
  await step(prompt);
  const t2 = performance.now();
  const stepMs: number[] = [];
  for (let t = 1; t < tokens; t++) {
    const s = performance.now();
    await step(1);
    stepMs.push(performance.now() - s);
  }
  return { encodeMs: t1 - t0, prefillMs: t2 - t1, stepMs };
}

interface Row {
  layout: string;
  variant: Variant;
  part: string;
  encodeMs: number;
  prefillMs: number;
  stepMsP50: number;
  tokens: number;
  secondsPerCaption: number;
}

async function measure(label: string, m: Model, variant: Variant, prompt: number, tokens: number): Promise<Row> {
  await caption(m, prompt, 3); // warm-up: allocations and the first run's optimisations
  const runs: Timing[] = [];
  for (let r = 0; r < REPEATS; r++) runs.push(await caption(m, prompt, tokens));
  const total = runs.map((t) => t.encodeMs + t.prefillMs + t.stepMs.reduce((a, b) => a + b, 0));
  const row: Row = {
    layout: label.split(':')[0]!,
    variant,
    part: label.split(':')[1]!,
    encodeMs: round(summarize(runs.map((t) => t.encodeMs)).p50, 0),
    prefillMs: round(summarize(runs.map((t) => t.prefillMs)).p50, 0),
    stepMsP50: round(summarize(runs.flatMap((t) => t.stepMs)).p50, 1),
    tokens,
    secondsPerCaption: round(summarize(total).p50 / 1000, 2),
  };
  console.log(JSON.stringify(row));
  await release(m);
  return row;
}

/** Part 1: seconds per caption of each pack, alone on the machine. */
async function perCaptionTimes(
  dir: string,
): Promise<{ rows: Row[]; chains: { layout: string; variant: Variant; secondsPerCaption: number; captionsPerHour: number }[] }> {
  const rows: Row[] = [];
  for (const variant of ['int8', 'fp32'] as const) {
    rows.push(await measure('vit-gpt2:caption', await load(dir, VIT_GPT2, variant), variant, 1, 12));
    rows.push(await measure('vit-gpt2:translate', await load(dir, OPUS_MT, variant), variant, 1, 16));
  }
  // Florence-2 in q8 (the preset), then the same translator: its English caption is about as long.
  rows.push(await measure('florence2:caption', await load(dir, FLORENCE2, 'int8', true), 'int8', 1, 12));
  rows.push(await measure('florence2:translate', await load(dir, OPUS_MT, 'int8'), 'int8', 1, 16));
  // The hub's default for Qwen2-VL is q4; its fp32 decoder (6 GB) is no CPU's model.
  rows.push(await measure('qwen2-vl:caption', await load(dir, QWEN2_VL, 'q4'), 'q4', 144 + 20, 20));
  const perCaption = (layout: string, variant: Variant) =>
    round(
      rows.filter((r) => r.layout === layout && r.variant === variant).reduce((sum, r) => sum + r.secondsPerCaption, 0),
      2,
    );
  const chains = [...new Set(rows.map((r) => `${r.layout}|${r.variant}`))].map((key) => {
    const [layout, variant] = key.split('|') as [string, Variant];
    const sec = perCaption(layout, variant);
    return { layout, variant, secondsPerCaption: sec, captionsPerHour: Math.round(3600 / sec) };
  });
  return { rows, chains };
}

const EFFECT_PHOTOS = Number(process.env.BENCH_CAPTION_PHOTOS ?? 48);
const EFFECT_ROUNDS = Number(process.env.BENCH_CAPTION_ROUNDS ?? 3);
const QUERIES = ['海边的日落', '穿红裙子的小女孩', '一只在草地上奔跑的狗', '雪山和湖泊', '城市夜景', '桌上的咖啡和书'];

/**
 * Part 2: what captioning in the background costs the service on the same cores. The int8 vit-gpt2 chain runs
 * as the caption stage runs (an image stage, background: it starts nothing while a query waits on the encoder),
 * in a service with the int8 architecture pack, OCR and auto tags off to isolate it: ingest's rate with and
 * without the stage, and searches (one at a time, 150 ms apart) while it works through the photos' captions
 * against searches once it is idle.
 */
async function effectOnService(dir: string, h: Harness) {
  const pack = h.packs.find((p) => p.label.includes('int8')) ?? h.packs[0]!;
  const [captioner, translator] = [await load(dir, VIT_GPT2, 'int8'), await load(dir, OPUS_MT, 'int8')];
  let captioned = 0;
  const stage: ImageStage = {
    name: 'captions',
    background: true,
    version: () => 'bench-vit-gpt2-int8',
    async run() {
      await caption(captioner, 1, 12);
      await caption(translator, 1, 16);
      captioned++;
    },
  };
  const photos = path.join(h.root, 'caption-photos');
  await writePhotoLikeJpegs(photos, EFFECT_PHOTOS, 1600, 1200, 21);
  const env = { ADMIN_API_KEY: 'bench', RATE_LIMIT_PER_MINUTE: '1000000', TEXT_EMBEDDING_CACHE_SIZE: '0', OCR: 'off', AUTO_TAGS: 'off', DUPLICATES: 'off' };
  const rates: Record<'without' | 'withCaptions', number[]> = { without: [], withCaptions: [] };
  const during: number[] = [];
  const idle: number[] = [];
  let captionedDuringIngest = 0;
  // Rounds alternate the two services: on this noisy machine one pair of runs can differ by half either way.
  for (let round = 0; round < EFFECT_ROUNDS; round++) {
    for (const withCaptions of [false, true]) {
      const s = await h.start(pack, env, withCaptions ? { stages: [stage] } : {});
      // The server starts the stages; a bench's service is started here. The first search encodes the auto-tag
      // vocabulary for relevance (about a minute of CPU): done first, so it overlaps neither measurement.
      await s.stages.start();
      await s.tagger.labels(s.pack);
      const server = await listen(s);
      try {
        let n = 0;
        const search = async () => (await timed(() => searchOnce(server.url, 'bench', `${QUERIES[n % QUERIES.length]} ${round}-${n++}`))).ms;
        for (let i = 0; i < 5; i++) await search();
        // The harness's PostgreSQL outlives each service: every run ingests as its own owner, after a warm-up.
        const owner = `${withCaptions ? 'with-captions' : 'without'}-${round}`;
        await s.ingest.runJob(await s.ingest.createFolderJob(`${owner}-warm-up`, photos));
        await s.stages.idle();
        captioned = 0;
        const ingestMs = (await timed(async () => s.ingest.runJob(await s.ingest.createFolderJob(owner, photos)))).ms;
        rates[withCaptions ? 'withCaptions' : 'without'].push(EFFECT_PHOTOS / (ingestMs / 1000));
        if (!withCaptions) continue;
        captionedDuringIngest += captioned;
        while (captioned < EFFECT_PHOTOS) {
          during.push(await search());
          await new Promise((r) => setTimeout(r, 150));
        }
        await s.stages.idle();
        for (let i = 0; i < 30; i++) {
          idle.push(await search());
          await new Promise((r) => setTimeout(r, 150));
        }
      } finally {
        await server.close();
        await s.close();
      }
    }
  }
  const out = {
    pack: pack.label,
    photos: EFFECT_PHOTOS,
    rounds: EFFECT_ROUNDS,
    withoutIngestImagesPerSec: round(median(rates.without), 2),
    withCaptionsIngestImagesPerSec: round(median(rates.withCaptions), 2),
    ingestRates: rates,
    captionedDuringIngest: Math.round(captionedDuringIngest / EFFECT_ROUNDS),
    searchWhileCaptioningMs: summarize(during),
    searchIdleMs: summarize(idle),
  };
  for (const m of [captioner, translator]) await release(m);
  return out;
}

runStandaloneBench(async (h, started) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-captions-'));
  try {
    const { rows, chains } = await perCaptionTimes(dir);
    console.error('[bench] captions: effect on the service');
    const effect = await effectOnService(dir, h);
    const md = [
      '| pack | dtype | part | encoder (ms) | prefill (ms) | step p50 (ms) | tokens | s per part |',
      '|---|---|---|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.layout} | ${r.variant} | ${r.part} | ${r.encodeMs} | ${r.prefillMs} | ${r.stepMsP50} | ${r.tokens} | ${r.secondsPerCaption} |`),
      '',
      '| pack | dtype | s per caption | captions per hour (the whole machine) |',
      '|---|---|---:|---:|',
      ...chains.map((c) => `| ${c.layout} | ${c.variant} | ${c.secondsPerCaption} | ${c.captionsPerHour} |`),
      '',
      'Random weights with the real architectures and shapes (bench/captionArch.ts, bench/davitArch.ts), greedy, batch 1, p50 of ' +
        `${REPEATS} captions after a warm-up, alone on the machine.`,
      '',
      `**On the service** (${effect.pack}, ${effect.photos} photos of 1600×1200, OCR and auto tags off, the int8 vit-gpt2 chain as a background image stage; ${effect.rounds} rounds alternating the two services, ingest as the median round, searches pooled):`,
      '',
      '| | value |',
      '|---|---|',
      `| ingest without captions | ${effect.withoutIngestImagesPerSec} img/s (rounds: ${effect.ingestRates.without.map((r) => round(r, 2)).join(', ')}) |`,
      `| ingest with the caption stage working | ${effect.withCaptionsIngestImagesPerSec} img/s (rounds: ${effect.ingestRates.withCaptions.map((r) => round(r, 2)).join(', ')}; ${effect.captionedDuringIngest} photos captioned meanwhile) |`,
      `| search p50 / p95 while captioning | ${effect.searchWhileCaptioningMs.p50} / ${effect.searchWhileCaptioningMs.p95} ms (${effect.searchWhileCaptioningMs.n} searches) |`,
      `| search p50 / p95 with the stage idle | ${effect.searchIdleMs.p50} / ${effect.searchIdleMs.p95} ms |`,
      '',
    ].join('\n');
    await writeBenchResults(
      'captions',
      'Captioner packs: seconds per caption, and what captioning costs the service',
      'npm run bench:captions',
      started,
      { repeats: REPEATS, rows, chains, effect },
      md,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
