/**
 * Graphs with the real architectures and shapes of the captioner packs, random weights, for timing:
 * - vit-gpt2: ViT-B/16 at 224 px (197 tokens, 12 pre-norm layers, 768 wide) and GPT-2 small as its
 *   decoder (12 layers, 768 wide, cross-attention over the 197 image tokens, 50,257-word head);
 * - opus-mt-en-zh (Marian): 6 post-norm encoder layers and 6 decoder layers, 512 wide, 8 heads, FFN 2048,
 *   SiLU, a 65,001-word head;
 * - Qwen2-VL-2B: the vision tower at 336 px (576 patches of 14 px, 32 layers, 1280 wide, 16 heads, MLP
 *   5120, quick-GELU) and its 2×2 merger to 1536, then the language model (28 layers, 1536 wide, 12 query
 *   heads over 2 key/value heads, SwiGLU 8960, a 151,936-word head).
 * Decoders are one step of generation with the key/value cache as transformers.js runs them: `past` in,
 * `present` out, then the vocabulary head; cross-attention keys and values are computed once per caption
 * (its own graph). Left
 * out, each a small share of the compute: rotary position rotations, the causal mask (a prompt's
 * scores get one Add more), RMSNorm written as LayerNorm.
 */
import { onnx } from 'onnx-proto';
import { intsAttr } from '../scripts/lib/onnxGraph';
import { Net, type NetOptions, type Shape } from './net';

const F = onnx.TensorProto.DataType.FLOAT;

export interface EncoderShape {
  name: string;
  tokens: number;
  hidden: number;
  heads: number;
  mlp: number;
  layers: number;
  act: 'gelu' | 'quickGelu' | 'silu';
  preNorm: boolean;
  /** Flattened patches of this width come in (Qwen2-VL); else a 16 px patch convolution over 3×size×size. */
  patchInput?: number;
  imageSize?: number;
  /** Tokens in (Marian's encoder): embeddings of [batch, tokens, hidden]. */
  embedsInput?: boolean;
  /** Qwen2-VL's merger: LayerNorm, 2×2 neighbours concatenated, MLP to this width. */
  mergeTo?: number;
}

export interface DecoderShape {
  name: string;
  hidden: number;
  heads: number;
  kvHeads: number;
  mlp: number;
  layers: number;
  vocab: number;
  act: 'gelu' | 'silu' | 'swiglu';
  preNorm: boolean;
  /** Cross-attention over an encoder's states (encoder-decoder models). */
  cross: boolean;
}

export const VIT_GPT2 = {
  encoder: { name: 'vit-b16-224', tokens: 197, hidden: 768, heads: 12, mlp: 3072, layers: 12, act: 'gelu', preNorm: true, imageSize: 224 },
  decoder: { name: 'gpt2-small', hidden: 768, heads: 12, kvHeads: 12, mlp: 3072, layers: 12, vocab: 50257, act: 'gelu', preNorm: true, cross: true },
} as const satisfies { encoder: EncoderShape; decoder: DecoderShape };

export const OPUS_MT = {
  encoder: { name: 'marian-encoder', tokens: 16, hidden: 512, heads: 8, mlp: 2048, layers: 6, act: 'silu', preNorm: false, embedsInput: true },
  decoder: { name: 'marian-decoder', hidden: 512, heads: 8, kvHeads: 8, mlp: 2048, layers: 6, vocab: 65001, act: 'silu', preNorm: false, cross: true },
} as const satisfies { encoder: EncoderShape; decoder: DecoderShape };

/**
 * Florence-2-base's language model (BART-base): 6 post-norm encoder layers over the 577 image tokens and the task
 * prompt (8 tokens), 6 decoder layers with cross-attention, a 51,289-word head. Its vision tower is davitArch.ts.
 */
export const FLORENCE2 = {
  encoder: { name: 'florence2-bart-encoder', tokens: 585, hidden: 768, heads: 12, mlp: 3072, layers: 6, act: 'gelu', preNorm: false, embedsInput: true },
  decoder: {
    name: 'florence2-bart-decoder',
    hidden: 768,
    heads: 12,
    kvHeads: 12,
    mlp: 3072,
    layers: 6,
    vocab: 51289,
    act: 'gelu',
    preNorm: false,
    cross: true,
  },
} as const satisfies { encoder: EncoderShape; decoder: DecoderShape };

export const QWEN2_VL = {
  encoder: {
    name: 'qwen2-vl-vision',
    tokens: 576,
    hidden: 1280,
    heads: 16,
    mlp: 5120,
    layers: 32,
    act: 'quickGelu',
    preNorm: true,
    patchInput: 3 * 2 * 14 * 14,
    mergeTo: 1536,
  },
  decoder: { name: 'qwen2-1.5b', hidden: 1536, heads: 12, kvHeads: 2, mlp: 8960, layers: 28, vocab: 151936, act: 'swiglu', preNorm: true, cross: false },
} as const satisfies { encoder: EncoderShape; decoder: DecoderShape };

function activation(n: Net, x: string, act: EncoderShape['act']): string {
  if (act === 'gelu') return n.gelu(x);
  if (act === 'quickGelu') return n.quickGelu(x);
  return n.binary('Mul', x, n.unary('Sigmoid', x));
}

/** An encoder's whole pass: image (or token embeddings) in, last_hidden_state (or merged image features) out. */
export function encoderGraph(e: EncoderShape, options: NetOptions = {}, seed = 7): Uint8Array {
  const n = new Net(e.name, seed, { hidden: e.hidden, heads: e.heads }, options);
  let x: string;
  if (e.patchInput) {
    const patches = n.input('pixel_values', F, ['batch', e.tokens, e.patchInput]);
    x = n.linear(patches, e.patchInput, e.hidden, false);
  } else if (e.embedsInput) {
    x = n.input('inputs_embeds', F, ['batch', e.tokens, e.hidden]);
  } else {
    const size = e.imageSize!;
    const grid = size / 16;
    const pixels = n.input('pixel_values', F, ['batch', 3, size, size]);
    const conv = n.declare(n.g.op('Conv', [pixels, n.weight([e.hidden, 3, 16, 16])], [intsAttr('kernel_shape', [16, 16]), intsAttr('strides', [16, 16])]), [
      'batch',
      e.hidden,
      grid,
      grid,
    ]);
    const patches = n.transpose(n.reshape(conv, [0, e.hidden, grid * grid], ['batch', e.hidden, grid * grid]), [0, 2, 1]);
    const cls = n.binary('Add', n.binary('Mul', n.firstToken(patches), n.scalar(0)), n.weight([1, 1, e.hidden]));
    x = n.binary('Add', n.concat([cls, patches], 1, ['batch', e.tokens, e.hidden]), n.weight([1, e.tokens, e.hidden]));
  }
  for (let layer = 0; layer < e.layers; layer++) {
    n.layer(() => {
      const attn = (h: string) => n.attention(h, e.tokens, false);
      const mlp = (h: string) => n.linear(activation(n, n.linear(h, e.hidden, e.mlp), e.act), e.mlp, e.hidden);
      if (e.preNorm) {
        x = n.binary('Add', x, attn(n.layerNorm(x, 1e-6)));
        x = n.binary('Add', x, mlp(n.layerNorm(x, 1e-6)));
      } else {
        x = n.layerNorm(n.binary('Add', x, attn(x)), 1e-5);
        x = n.layerNorm(n.binary('Add', x, mlp(x)), 1e-5);
      }
    });
  }
  if (e.mergeTo) {
    const merged = n.reshape(n.layerNorm(x, 1e-6), [0, -1, 4 * e.hidden], ['batch', e.tokens / 4, 4 * e.hidden]);
    const out = n.linear(n.gelu(n.linear(merged, 4 * e.hidden, 4 * e.hidden)), 4 * e.hidden, e.mergeTo);
    n.output(out, 'image_features');
  } else {
    n.output(e.preNorm ? n.layerNorm(x, 1e-6) : x, 'last_hidden_state');
  }
  return n.g.encode();
}

/** Cross-attention keys and values of every decoder layer, from the encoder's states: once per caption. */
export function crossKvGraph(d: DecoderShape, encoderTokens: number, options: NetOptions = {}, seed = 11): Uint8Array {
  const n = new Net(`${d.name}-cross-kv`, seed, { hidden: d.hidden, heads: d.heads }, { ...options, shareLayers: false });
  const headDim = d.hidden / d.heads;
  const states = n.input('encoder_hidden_states', F, ['batch', encoderTokens, d.hidden]);
  for (let i = 0; i < d.layers; i++) {
    n.layer(() => {
      for (const kv of ['key', 'value']) n.output(n.splitHeads(n.linear(states, d.hidden, d.hidden), encoderTokens, d.heads, headDim), `cross.${i}.${kv}`);
    });
  }
  return n.g.encode();
}

/** [batch, kvHeads, t, headDim] → [batch, heads, t, headDim]: each key/value head serves heads / kvHeads query heads. */
function repeatKv(n: Net, t: string, d: DecoderShape, headDim: number): string {
  if (d.kvHeads === d.heads) return t;
  const group = d.heads / d.kvHeads;
  const s = n.shape(t);
  const widened = n.declare(n.g.op('Unsqueeze', [t, n.ints([2])]), [s[0]!, d.kvHeads, 1, s[2]!, headDim]);
  const expanded = n.declare(n.g.op('Expand', [widened, n.ints([1, 1, group, 1, 1])]), [s[0]!, d.kvHeads, group, s[2]!, headDim]);
  return n.reshape(expanded, [0, d.heads, -1, headDim], [s[0]!, d.heads, s[2]!, headDim]);
}

/**
 * One generation step (or a prompt's prefill) of a decoder: inputs_embeds of the new tokens, the cache of
 * every layer, and cross-attention keys and values when it has them; logits of the last token and the
 * grown cache out.
 */
export function decoderStepGraph(d: DecoderShape, encoderTokens = 0, options: NetOptions = {}, seed = 13): Uint8Array {
  // Every layer its own weights: one token's step reads them all, and that memory traffic is most of its time.
  const n = new Net(d.name, seed, { hidden: d.hidden, heads: d.heads }, { ...options, shareLayers: false });
  const headDim = d.hidden / d.heads;
  const kvWidth = d.kvHeads * headDim;
  let x = n.input('inputs_embeds', F, ['batch', 'seq', d.hidden]);
  const norm = (t: string) => n.layerNorm(t, 1e-6);
  const residual = (t: string, block: (h: string) => string) => (d.preNorm ? n.binary('Add', t, block(norm(t))) : norm(n.binary('Add', t, block(t))));
  for (let i = 0; i < d.layers; i++) {
    n.layer(() => {
      x = residual(x, (h) => {
        const q = n.splitHeads(n.linear(h, d.hidden, d.hidden), 'seq', d.heads, headDim);
        const present = (['key', 'value'] as const).map((kv) => {
          const past = n.input(`past_key_values.${i}.${kv}`, F, ['batch', d.kvHeads, 'past', headDim]);
          const fresh = n.splitHeads(n.linear(h, d.hidden, kvWidth), 'seq', d.kvHeads, headDim);
          const grown = n.concat([past, fresh], 2, ['batch', d.kvHeads, 'total', headDim]);
          n.output(grown, `present.${i}.${kv}`);
          return repeatKv(n, grown, d, headDim);
        });
        const kT = n.transpose(present[0]!, [0, 1, 3, 2]);
        return n.linear(n.attend(q, kT, present[1]!, 'seq', d.hidden, true), d.hidden, d.hidden);
      });
      if (d.cross) {
        x = residual(x, (h) => {
          const q = n.splitHeads(n.linear(h, d.hidden, d.hidden), 'seq', d.heads, headDim);
          const [k, v] = (['key', 'value'] as const).map((kv) => n.input(`cross.${i}.${kv}`, F, ['batch', d.heads, encoderTokens, headDim]));
          return n.linear(n.attend(q, n.transpose(k!, [0, 1, 3, 2]), v!, 'seq', d.hidden, true), d.hidden, d.hidden);
        });
      }
      x = residual(x, (h) => {
        if (d.act !== 'swiglu') return n.linear(activation(n, n.linear(h, d.hidden, d.mlp), d.act), d.mlp, d.hidden);
        const gate = n.linear(h, d.hidden, d.mlp, false);
        return n.linear(n.binary('Mul', activation(n, gate, 'silu'), n.linear(h, d.hidden, d.mlp, false)), d.mlp, d.hidden, false);
      });
    });
  }
  // Only the last position's logits are needed (transformers.js asks for num_logits_to_keep = 1).
  const last = n.declare(n.g.op('Slice', [x, n.ints([-1]), n.ints([2 ** 31]), n.ints([1])]), ['batch', 1, d.hidden] as Shape);
  n.output(d.preNorm ? norm(last) : last, 'last_hidden_state');
  return n.g.encode();
}

/**
 * The vocabulary head, its own graph: the real exports end the decoder with it, but one protobuf of
 * Qwen's 28 layers and its 151,936 × 1536 head is more than onnx-proto can write here. Timed per step with the decoder.
 */
export function lmHeadGraph(d: DecoderShape, options: NetOptions = {}, seed = 17): Uint8Array {
  const n = new Net(`${d.name}-head`, seed, { hidden: d.hidden, heads: d.heads }, options);
  const x = n.input('last_hidden_state', F, ['batch', 1, d.hidden]);
  n.output(n.linear(x, d.hidden, d.vocab, false), 'logits');
  return n.g.encode();
}
