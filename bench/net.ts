/**
 * A GraphBuilder for benchmark graphs with real architectures: it knows every tensor's shape and declares it
 * (so MACs can be counted), writes ops the way PyTorch's ONNX export writes them (so onnxruntime's fusions
 * apply as to the real files), and by default shares one set of weights between the layers of a stack (small
 * files, the same compute; fair for encoders, which are compute-bound, not for one-token decoding).
 */
import { randomBytes } from 'node:crypto';
import { onnx } from 'onnx-proto';
import { GraphBuilder, intAttr, intsAttr } from '../scripts/lib/onnxGraph';
import { gaussian, mulberry32 } from '../scripts/lib/random';

const F = onnx.TensorProto.DataType.FLOAT;

export type Shape = (number | string)[];

export interface NetOptions {
  /** false: every layer of a stack has its own weights (decoding one token reads them all, as a real model does). */
  shareLayers?: boolean;
  /** Linear layers in 4 bits (MatMulNBits), as the hub's q4 graphs are. */
  q4?: boolean;
}

/** A GraphBuilder that knows every tensor's shape, declares it in the graph, and so can be checked. */
export class Net {
  readonly g: GraphBuilder;
  private readonly shapes = new Map<string, Shape>();
  private readonly rand: () => number;
  /** Inside a layer, the n-th weight asked for is the n-th weight of every layer: shared, same compute. */
  private readonly layerWeights = new Map<number, string>();
  private inLayer = false;
  private layerSlot = 0;

  constructor(
    name: string,
    seed: number,
    /** The width and heads `attention` uses. */
    readonly dims: { hidden: number; heads: number },
    private readonly options: NetOptions = {},
  ) {
    this.g = new GraphBuilder(name, 14);
    this.rand = mulberry32(seed);
  }

  shape(t: string): Shape {
    const s = this.shapes.get(t);
    if (!s) throw new Error(`no shape for ${t}`);
    return s;
  }

  /** Runs one transformer layer; its weights are made by the first layer and reused by the others. */
  layer(run: () => void): void {
    this.inLayer = true;
    this.layerSlot = 0;
    run();
    this.inLayer = false;
  }

  declare(t: string, shape: Shape): string {
    return this.out(t, shape);
  }

  private out(t: string, shape: Shape): string {
    this.shapes.set(t, shape);
    this.g.valueInfo(t, F, shape);
    return t;
  }

  input(name: string, type: onnx.TensorProto.DataType, shape: Shape): string {
    this.shapes.set(name, shape);
    return this.g.input(name, type, shape);
  }

  /** Weights drawn like BERT's initialiser (normal, std 0.02). */
  weight(dims: number[], std = 0.02): string {
    if (this.inLayer && this.options.shareLayers !== false) {
      const slot = this.layerSlot++;
      const existing = this.layerWeights.get(slot);
      if (existing) return existing;
      const made = this.makeWeight(dims, std);
      this.layerWeights.set(slot, made);
      return made;
    }
    return this.makeWeight(dims, std);
  }

  private makeWeight(dims: number[], std: number): string {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = gaussian(this.rand) * std;
    const t = this.g.floatConst(data, dims);
    this.shapes.set(t, dims);
    return t;
  }

  fill(dims: number[], value: number): string {
    const t = this.g.floatConst(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value), dims);
    this.shapes.set(t, dims);
    return t;
  }

  scalar(value: number): string {
    return this.fill([], value);
  }

  ints(values: number[]): string {
    return this.g.int64Const(values);
  }

  private broadcast(a: Shape, b: Shape): Shape {
    const n = Math.max(a.length, b.length);
    return Array.from({ length: n }, (_, i) => {
      const x = a[a.length - n + i] ?? 1;
      const y = b[b.length - n + i] ?? 1;
      return x === 1 ? y : x;
    });
  }

  binary(op: 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow', a: string, b: string): string {
    return this.out(this.g.op(op, [a, b]), this.broadcast(this.shape(a), this.shape(b)));
  }

  unary(op: 'Sqrt' | 'Erf' | 'Sigmoid', a: string): string {
    return this.out(this.g.op(op, [a]), this.shape(a));
  }

  matmul(a: string, b: string): string {
    const sa = this.shape(a);
    const sb = this.shape(b);
    const batch = this.broadcast(sa.slice(0, -2), sb.slice(0, -2));
    return this.out(this.g.op('MatMul', [a, b]), [...batch, sa[sa.length - 2]!, sb[sb.length - 1]!]);
  }

  linear(x: string, inDim: number, outDim: number, bias = true): string {
    const y = this.options.q4 ? this.matmulNBits(x, inDim, outDim) : this.matmul(x, this.weight([inDim, outDim]));
    return bias ? this.binary('Add', y, this.fill([outDim], 0)) : y;
  }

  /**
   * x · W with W in 4 bits as the hub's q4 files store it: onnxruntime's MatMulNBits, blocks of 32 values
   * along the input, one float scale per block (random bytes: only the time is wanted). Never shared between layers.
   */
  private matmulNBits(x: string, inDim: number, outDim: number): string {
    const block = 32;
    const blocks = Math.ceil(inDim / block);
    const packed = this.g.rawConst(onnx.TensorProto.DataType.UINT8, new Uint8Array(randomBytes(outDim * blocks * (block / 2))), [outDim, blocks, block / 2]);
    const scales = this.g.floatConst(new Float32Array(outDim * blocks).fill(0.002), [outDim * blocks]);
    const y = this.g.contribOp(
      'MatMulNBits',
      [x, packed, scales],
      [intAttr('K', inDim), intAttr('N', outDim), intAttr('bits', 4), intAttr('block_size', block)],
    );
    const s = this.shape(x);
    return this.out(y, [...s.slice(0, -1), outDim]);
  }

  reduceMeanLast(x: string): string {
    const s = this.shape(x);
    return this.out(this.g.op('ReduceMean', [x], [intsAttr('axes', [-1]), intAttr('keepdims', 1)]), [...s.slice(0, -1), 1]);
  }

  /** LayerNorm as the PyTorch export writes it; onnxruntime fuses it back into one LayerNormalization. */
  layerNorm(x: string, eps: number): string {
    const dim = Number(this.shape(x).at(-1));
    const centred = this.binary('Sub', x, this.reduceMeanLast(x));
    const variance = this.reduceMeanLast(this.binary('Pow', centred, this.scalar(2)));
    const normed = this.binary('Div', centred, this.unary('Sqrt', this.binary('Add', variance, this.scalar(eps))));
    return this.binary('Add', this.binary('Mul', normed, this.fill([dim], 1)), this.fill([dim], 0));
  }

  /** GELU through Erf (BERT): x · ½ · (1 + erf(x / √2)). */
  gelu(x: string): string {
    const erf = this.unary('Erf', this.binary('Div', x, this.scalar(Math.SQRT2)));
    return this.binary('Mul', this.binary('Mul', x, this.binary('Add', erf, this.scalar(1))), this.scalar(0.5));
  }

  /** quick-GELU (CLIP's vision tower): x · sigmoid(1.702 x). */
  quickGelu(x: string): string {
    return this.binary('Mul', x, this.unary('Sigmoid', this.binary('Mul', x, this.scalar(1.702))));
  }

  reshape(x: string, dims: number[], shape: Shape): string {
    return this.out(this.g.op('Reshape', [x, this.ints(dims)]), shape);
  }

  transpose(x: string, perm: number[]): string {
    const s = this.shape(x);
    return this.out(
      this.g.op('Transpose', [x], [intsAttr('perm', perm)]),
      perm.map((p) => s[p]!),
    );
  }

  softmax(x: string): string {
    return this.out(this.g.op('Softmax', [x], [intAttr('axis', -1)]), this.shape(x));
  }

  /** [batch, seq, heads·headDim] → [batch, heads, seq, headDim] (`keyLayout`: [batch, heads, headDim, seq]). */
  splitHeads(t: string, seq: number | string, heads: number, headDim: number, keyLayout = false): string {
    return this.transpose(this.reshape(t, [0, 0, heads, headDim], ['batch', seq, heads, headDim]), keyLayout ? [0, 2, 3, 1] : [0, 2, 1, 3]);
  }

  /** Scaled dot-product attention of split heads, merged back to [batch, seq, heads·headDim]. */
  attend(q: string, kT: string, v: string, seq: number | string, width: number, scaleScores: boolean, mask?: string): string {
    let scores = this.matmul(q, kT);
    if (scaleScores) scores = this.binary('Div', scores, this.scalar(Math.sqrt(Number(this.shape(q).at(-1)))));
    if (mask) scores = this.binary('Add', scores, mask);
    const context = this.matmul(this.softmax(scores), v);
    return this.reshape(this.transpose(context, [0, 2, 1, 3]), [0, 0, width], ['batch', seq, width]);
  }

  /** Multi-head self-attention over [batch, seq, hidden]; `mask` is added to the scores. */
  attention(x: string, seq: number, scaleQuery: boolean, mask?: string): string {
    const { hidden, heads } = this.dims;
    const headDim = hidden / heads;
    let q = this.linear(x, hidden, hidden);
    if (scaleQuery) q = this.binary('Mul', q, this.scalar(1 / Math.sqrt(headDim))); // CLIP scales the query
    const k = this.linear(x, hidden, hidden);
    const v = this.linear(x, hidden, hidden);
    const context = this.attend(
      this.splitHeads(q, seq, heads, headDim),
      this.splitHeads(k, seq, heads, headDim, true),
      this.splitHeads(v, seq, heads, headDim),
      seq,
      hidden,
      !scaleQuery, // BERT scales the scores
      mask,
    );
    return this.linear(context, hidden, hidden);
  }

  concat(inputs: string[], axis: number, shape: Shape): string {
    return this.out(this.g.op('Concat', inputs, [intAttr('axis', axis)]), shape);
  }

  /** x[:, 0, :] */
  firstToken(x: string): string {
    const s = this.shape(x);
    return this.out(this.g.op('Gather', [x, this.ints([0])], [intAttr('axis', 1)]), [s[0]!, 1, s[2]!]);
  }

  squeezeTokens(x: string): string {
    const s = this.shape(x);
    return this.out(this.g.op('Reshape', [x, this.ints([-1, Number(s[2])])]), [s[0]!, s[2]!]);
  }

  output(t: string, name: string): void {
    this.g.op('Identity', [t], [], name);
    this.g.output(name, F, this.shape(t));
  }
}
