/**
 * npm run bench:models — what the real-model work costs, in one run on this machine:
 * 1. image preprocessing: the previous path (shrink-on-load to the 512 px preview, libvips lanczos3
 *    to 224) against the Pillow-exact path at PREPROCESS_OVERSAMPLE 4 (default) and 1, in CPU ms per
 *    image and in mean absolute difference from the reference transform (Pillow, computed here);
 * 2. splitting a combined graph the size of Xenova's fp32 Chinese-CLIP (~754 MB): peak memory (max RSS)
 *    of a process that only splits it.
 * Writes bench/models-results.json and bench/models-results.md.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { onnx } from 'onnx-proto';
import sharp from 'sharp';
import { GraphBuilder, intAttr, intsAttr } from '../scripts/lib/onnxGraph';
import { CHINESE_CLIP_PREP, smoothPhoto } from './fixtures';
import { DEFAULT_DECODE_LIMITS, decodeImage } from '../src/images/decode';
import { rgbToChw } from '../src/models/preprocess';

const run = promisify(execFile);

/** The path before Pillow parity (as decodeImage was): one decode to the 512 px preview, then the tensor with libvips's lanczos3 and both derivatives from it. */
async function previousPath(data: Buffer): Promise<Float32Array> {
  const pv = await sharp(data)
    .rotate()
    .resize(512, 512, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .flatten({ background: '#fff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: pv.info.width, height: pv.info.height, channels: 3 as const } };
  const [t] = await Promise.all([
    sharp(pv.data, raw).resize(224, 224, { fit: 'fill' }).raw().toBuffer(),
    sharp(pv.data, raw).jpeg({ quality: 85 }).toBuffer(),
    sharp(pv.data, raw).resize(256, 256, { fit: 'inside' }).jpeg({ quality: 80 }).toBuffer(),
  ]);
  return rgbToChw(t, 224, CHINESE_CLIP_PREP.mean, CHINESE_CLIP_PREP.std);
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function measure(label: string, data: Buffer, ref: Float32Array, fn: () => Promise<Float32Array>, reps: number) {
  await fn();
  const c0 = cpuMs();
  const t0 = performance.now();
  let out: Float32Array = new Float32Array();
  for (let i = 0; i < reps; i++) out = await fn();
  const cpu = (cpuMs() - c0) / reps;
  const wall = (performance.now() - t0) / reps;
  let sum = 0;
  for (let i = 0; i < ref.length; i++) sum += Math.abs(out[i]! - ref[i]!);
  return {
    path: label,
    cpuMsPerImage: +cpu.toFixed(1),
    wallMsPerImage: +wall.toFixed(1),
    meanAbsDiffFromReference: +(sum / ref.length).toFixed(4),
    bytes: data.length,
  };
}

async function benchPreprocess(dir: string) {
  const results = [];
  for (const [w, h] of [
    [1600, 1200],
    [4032, 3024],
  ] as const) {
    const file = path.join(dir, `photo-${w}x${h}.jpg`);
    const data = await smoothPhoto(w, h, w).jpeg({ quality: 90 }).toBuffer();
    await writeFile(file, data);
    await run('/usr/bin/python3', [path.resolve(__dirname, '../test/helpers/pilReference.py'), '224', file]);
    const ref = new Float32Array((await readFile(`${file}.ref.f32`)).buffer.slice(0));
    const reps = w > 2000 ? 10 : 20;
    // Derivatives (preview, thumbnail) are made in every path; the comparison is the whole decode.
    results.push({ image: `${w}x${h} JPEG`, ...(await measure('previous (512 px preview, lanczos3)', data, ref, () => previousPath(data), reps)) });
    for (const oversample of [4, 1]) {
      results.push({
        image: `${w}x${h} JPEG`,
        ...(await measure(
          `Pillow-exact, oversample ${oversample}`,
          data,
          ref,
          async () => (await decodeImage(data, CHINESE_CLIP_PREP, { ...DEFAULT_DECODE_LIMITS, tensorOversample: oversample })).tensor.data,
          reps,
        )),
      });
    }
  }
  return results;
}

/** A combined graph with Xenova fp32 Chinese-CLIP's size (~188 M float32 weights) and its inputs and outputs. */
function bigCombinedGraph(): Uint8Array {
  const F = onnx.TensorProto.DataType.FLOAT;
  const I64 = onnx.TensorProto.DataType.INT64;
  const g = new GraphBuilder('combined-754mb');
  const weight = (rows: number, cols: number) => g.floatConst(new Float32Array(rows * cols).fill(1 / cols), [rows, cols]);
  const ids = g.input('input_ids', I64, ['batch', 'seq']);
  const mask = g.input('attention_mask', I64, ['batch', 'seq']);
  const types = g.input('token_type_ids', I64, ['batch', 'seq']);
  const pixels = g.input('pixel_values', F, ['batch', 3, 224, 224]);
  const mlp = (x: string, blocks: number) => {
    for (let i = 0; i < blocks; i++) x = g.op('MatMul', [g.op('MatMul', [x, weight(768, 3072)]), weight(3072, 768)]);
    return g.op('MatMul', [x, weight(768, 512)]);
  };
  const img = g.op('MatMul', [g.op('ReduceMean', [pixels], [intsAttr('axes', [2, 3]), intAttr('keepdims', 0)]), weight(3, 768)]);
  g.op('Identity', [mlp(img, 20)], [], 'image_embeds');
  const emb = g.op('Add', [g.op('Gather', [weight(21128, 768), ids], [intAttr('axis', 0)]), g.op('Gather', [weight(2, 768), types], [intAttr('axis', 0)])]);
  const m = g.op('Unsqueeze', [g.op('Cast', [mask], [intAttr('to', F)]), g.int64Const([2])]);
  const pooled = g.op('ReduceMean', [g.op('Mul', [emb, m])], [intsAttr('axes', [1]), intAttr('keepdims', 0)]);
  g.op('Identity', [mlp(pooled, 16)], [], 'text_embeds');
  g.op('MatMul', ['image_embeds', g.op('Transpose', ['text_embeds'], [intsAttr('perm', [1, 0])])], [], 'logits_per_image');
  g.output('text_embeds', F, ['batch', 512]);
  g.output('image_embeds', F, ['batch', 512]);
  g.output('logits_per_image', F, ['batch', 'batch']);
  return g.encode();
}

async function benchSplit(dir: string) {
  const file = path.join(dir, 'model.onnx');
  await writeFile(file, bigCombinedGraph());
  const graphBytes = (await stat(file)).size;
  const child = `
    const { splitCombinedGraph } = require(${JSON.stringify(path.resolve(__dirname, '../src/models/install/onnxSplit'))});
    const t0 = Date.now();
    splitCombinedGraph(${JSON.stringify(file)}, [
      { output: 'image_embeds', allowedInputs: ['pixel_values'], file: ${JSON.stringify(path.join(dir, 'image.onnx'))} },
      { output: 'text_embeds', allowedInputs: ['input_ids', 'attention_mask', 'token_type_ids'], file: ${JSON.stringify(path.join(dir, 'text.onnx'))} },
    ]).then((s) => console.log(JSON.stringify({ seconds: (Date.now() - t0) / 1000, maxRssBytes: process.resourceUsage().maxRSS * 1024, towers: s.map((t) => t.bytes) })));`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', child], { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; maxRssBytes: number; towers: number[] };
  return {
    graphMB: +(graphBytes / 1e6).toFixed(0),
    towerMB: r.towers.map((b) => +(b / 1e6).toFixed(0)),
    peakRssMB: +(r.maxRssBytes / 1e6).toFixed(0),
    seconds: r.seconds,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-models-'));
  try {
    const preprocess = await benchPreprocess(dir);
    const split = await benchSplit(dir);
    const results = { date: new Date().toISOString(), machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`, preprocess, split };
    await writeFile(path.resolve(__dirname, 'models-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    const md = [
      '# Model-pack benchmarks (npm run bench:models)',
      '',
      `${results.date}, ${results.machine}.`,
      '',
      '## Image preprocessing: what parity with the reference costs',
      '',
      "Decode of a photo-like JPEG to the 224×224 tensor (previews and thumbnails come from the same decode in every path), and the mean absolute difference of the tensor from Chinese-CLIP's transform computed by Pillow (normalised units).",
      '',
      '| image | path | CPU ms/image | wall ms/image | mean abs diff |',
      '|---|---|---|---|---|',
      ...preprocess.map((p) => `| ${p.image} | ${p.path} | ${p.cpuMsPerImage} | ${p.wallMsPerImage} | ${p.meanAbsDiffFromReference} |`),
      '',
      '## Splitting a combined graph of Xenova fp32 size',
      '',
      `A generated ${split.graphMB} MB combined graph split into towers of ${split.towerMB.join(' MB and ')} MB in ${split.seconds} s; peak memory of the splitting process (max RSS): ${split.peakRssMB} MB.`,
      '',
    ].join('\n');
    await writeFile(path.resolve(__dirname, 'models-results.md'), md);
    console.log(md);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
