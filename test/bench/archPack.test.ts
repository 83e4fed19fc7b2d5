import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { ARCH, imageTowerGraph, quantizeMatMulWeights, textTowerGraph } from '../../bench/archPack';
import { countMacs } from '../../bench/macs';
import { dot } from '../../src/models/vectorMath';

const REFERENCE = path.resolve(__dirname, '../../../shared/reference/chinese-clip-vit-base-patch16');

/** Exposes every MatMul/Conv operand as a graph output, runs one item, and checks the declared shapes. */
async function checkDeclaredShapes(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<number> {
  const m = onnx.ModelProto.decode(model);
  const g = m.graph!;
  const constants = new Set([...g.initializer!.map((t) => t.name!), ...g.input!.map((i) => i.name!)]);
  const declared = new Map(g.valueInfo!.map((v) => [v.name!, v]));
  const names = new Set(
    g
      .node!.filter((n) => ['MatMul', 'MatMulInteger', 'Conv'].includes(n.opType!))
      .flatMap((n) => [n.input![0]!, n.output![0]!])
      .filter((t) => !constants.has(t)),
  );
  const existing = new Set(g.output!.map((o) => o.name!));
  for (const t of names) if (!existing.has(t)) g.output!.push(declared.get(t)!);
  const session = await ort.InferenceSession.create(Buffer.from(onnx.ModelProto.encode(m).finish()), { graphOptimizationLevel: 'disabled' });
  const out = await session.run(feeds);
  for (const t of names) {
    const want = declared.get(t)!.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? 1 : Number(d.dimValue ?? 1)));
    expect([t, [...out[t]!.dims]]).toEqual([t, want]);
  }
  await session.release();
  return names.size;
}

const pixels = () =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i / 7)),
    [1, 3, 224, 224],
  );
const textFeeds = () => {
  const ids = BigInt64Array.from({ length: ARCH.textLength }, (_, i) => (i === 0 ? 101n : i < 9 ? BigInt(2000 + i * 37) : i === 9 ? 102n : 0n));
  return {
    input_ids: new ort.Tensor('int64', ids, [1, ARCH.textLength]),
    attention_mask: new ort.Tensor(
      'int64',
      ids.map((v) => (v === 0n ? 0n : 1n)),
      [1, ARCH.textLength],
    ),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(ARCH.textLength), [1, ARCH.textLength]),
  };
};

async function embed(
  model: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<{ inputs: readonly ort.InferenceSession.ValueMetadata[]; output: ort.Tensor }> {
  const s = await ort.InferenceSession.create(Buffer.from(model), { graphOptimizationLevel: 'all', intraOpNumThreads: 2 });
  const out = await s.run(feeds);
  const result = { inputs: s.inputMetadata, output: out[s.outputNames[0]!]! };
  await s.release();
  return result;
}

const cosine = (a: Float32Array, b: Float32Array) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));

describe('benchmark packs with the real Chinese-CLIP ViT-B/16 architecture', () => {
  let image: Uint8Array;
  let text: Uint8Array;
  beforeAll(() => {
    image = imageTowerGraph();
    text = textTowerGraph();
  });

  test('the image tower does the compute of ViT-B/16 at 224 px: 17.6 GMAC within 5 %', async () => {
    expect(await checkDeclaredShapes(image, { pixel_values: pixels() })).toBeGreaterThan(70);
    const macs = countMacs(image);
    expect(Math.abs(macs / 17.6e9 - 1)).toBeLessThan(0.05);
  }, 120_000);

  test('the text tower does the compute of RoBERTa-wwm-base at 52 tokens: 4.47 GMAC within 5 %', async () => {
    expect(await checkDeclaredShapes(text, textFeeds())).toBeGreaterThan(70);
    // 12 layers × (4·52·768² projections + 2·12·52²·64 attention + 2·52·768·3072 FFN)
    const expected = 12 * (4 * 52 * 768 * 768 + 2 * 12 * 52 * 52 * 64 + 2 * 52 * 768 * 3072);
    expect(Math.abs(countMacs(text) / expected - 1)).toBeLessThan(0.05);
  }, 120_000);

  test('names and shapes agree with the reference config', async () => {
    const config = JSON.parse(await readFile(path.join(REFERENCE, 'config.json'), 'utf8')) as {
      projection_dim: number;
      vision_config: { patch_size: number };
      text_config: { vocab_size: number };
    };
    const prep = JSON.parse(await readFile(path.join(REFERENCE, 'preprocessor_config.json'), 'utf8')) as { size: { height: number; width: number } };
    const img = await embed(image, { pixel_values: pixels() });
    expect(img.inputs.map((i) => [i.name, i.isTensor && i.shape])).toEqual([['pixel_values', ['batch', 3, prep.size.height, prep.size.width]]]);
    expect(img.output.dims).toEqual([1, config.projection_dim]);
    const txt = await embed(text, textFeeds());
    expect(txt.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(txt.output.dims).toEqual([1, config.projection_dim]);
    const graph = onnx.ModelProto.decode(image).graph!;
    const conv = graph.node!.find((n) => n.opType === 'Conv')!;
    expect(
      graph
        .initializer!.find((t) => t.name === conv.input![1])!
        .dims!.map(Number)
        .slice(2),
    ).toEqual([config.vision_config.patch_size, config.vision_config.patch_size]);
    const textGraph = onnx.ModelProto.decode(text).graph!;
    expect(textGraph.initializer!.some((t) => Number(t.dims?.[0]) === config.text_config.vocab_size && Number(t.dims?.[1]) === ARCH.hidden)).toBe(true);
  }, 120_000);

  test('the int8 variant quantises every MatMul weight, keeps the compute, and stays close to fp32', async () => {
    for (const [fp32, feeds] of [
      [image, { pixel_values: pixels() }],
      [text, textFeeds()],
    ] as const) {
      const int8 = quantizeMatMulWeights(fp32);
      const ops = (m: Uint8Array) => onnx.ModelProto.decode(m).graph!.node!.map((n) => n.opType!);
      const weightMatMuls = onnx.ModelProto.decode(fp32).graph!.node!.filter((n) => n.opType === 'MatMul' && n.input![1]!.startsWith('c')).length;
      expect(ops(int8).filter((o) => o === 'MatMulInteger')).toHaveLength(weightMatMuls);
      expect(Math.abs(countMacs(int8) / countMacs(fp32) - 1)).toBeLessThan(0.001);
      // int8 weights are a quarter of fp32; the text tower keeps its float word embeddings (a Gather), as asked.
      expect(int8.length).toBeLessThan(fp32.length * 0.8);
      const [a, b] = [await embed(fp32, feeds), await embed(int8, feeds)];
      expect(cosine(a.output.data as Float32Array, b.output.data as Float32Array)).toBeGreaterThan(0.98);
    }
  }, 180_000);
});
