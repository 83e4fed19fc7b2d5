/**
 * Florence-2-base's vision tower for timing, with its real architecture and shapes (DaViT, as the model's
 * vision_config gives it): four stages at 768 px of 128, 256, 512 and 1024 channels and depths 1, 1, 9, 1, each
 * stage entered by a strided convolution (7×7 stride 4, then 3×3 stride 2), each depth a spatial block (window
 * attention over 12×12 windows) and a channel block (attention across channel groups), each block with a
 * depthwise 3×3 convolution before its attention and before its MLP (ratio 4). The 24×24 tokens of the last stage
 * are projected to the language model's 768, with one pooled token in front: 577 image tokens. Random weights, every
 * block its own (about 90 M, as the real tower).
 */
import { onnx } from 'onnx-proto';
import { intAttr, intsAttr } from '../scripts/lib/onnxGraph';
import { Net } from './net';

const F = onnx.TensorProto.DataType.FLOAT;

export const DAVIT = {
  imageSize: 768,
  dims: [128, 256, 512, 1024],
  depths: [1, 1, 9, 1],
  heads: [4, 8, 16, 32],
  groups: [4, 8, 16, 32],
  window: 12,
  patch: [
    { kernel: 7, stride: 4, pad: 3 },
    { kernel: 3, stride: 2, pad: 1 },
    { kernel: 3, stride: 2, pad: 1 },
    { kernel: 3, stride: 2, pad: 1 },
  ],
  projectTo: 768,
} as const;

/** x + depthwise 3×3 convolution of x, on [1, H, W, C] tokens (DaViT's conv_at_attn / conv_at_ffn). */
function convResidual(n: Net, x: string, h: number, c: number): string {
  const nchw = n.transpose(x, [0, 3, 1, 2]);
  const conv = n.declare(
    n.g.op('Conv', [nchw, n.weight([c, 1, 3, 3])], [intsAttr('kernel_shape', [3, 3]), intsAttr('pads', [1, 1, 1, 1]), intAttr('group', c)]),
    [1, c, h, h],
  );
  return n.binary('Add', x, n.transpose(conv, [0, 2, 3, 1]));
}

function mlp(n: Net, x: string, c: number): string {
  return n.binary('Add', x, n.linear(n.gelu(n.linear(n.layerNorm(x, 1e-5), c, 4 * c)), 4 * c, c));
}

/** Window attention: the [1, H, W, C] tokens cut into 12×12 windows, each attended over by `heads` heads. */
function spatialBlock(n: Net, x: string, h: number, c: number, heads: number): string {
  const w = DAVIT.window;
  const windows = (h / w) ** 2;
  let y = convResidual(n, x, h, c);
  const cut = n.reshape(
    n.transpose(n.reshape(n.layerNorm(y, 1e-5), [1, h / w, w, h / w, w, c], [1, h / w, w, h / w, w, c]), [0, 1, 3, 2, 4, 5]),
    [windows, w * w, c],
    [windows, w * w, c],
  );
  const headDim = c / heads;
  const split = (t: string, key = false) =>
    n.transpose(n.reshape(t, [windows, w * w, heads, headDim], [windows, w * w, heads, headDim]), key ? [0, 2, 3, 1] : [0, 2, 1, 3]);
  const [q, k, v] = [0, 1, 2].map(() => n.linear(cut, c, c));
  const attended = n.linear(n.attend(split(q!), split(k!, true), split(v!), w * w, c, true), c, c);
  const back = n.reshape(
    n.transpose(n.reshape(attended, [1, h / w, h / w, w, w, c], [1, h / w, h / w, w, w, c]), [0, 1, 3, 2, 4, 5]),
    [1, h, h, c],
    [1, h, h, c],
  );
  y = n.binary('Add', y, back);
  return mlp(n, convResidual(n, y, h, c), c);
}

/** Channel attention: channels in `groups` groups, each group's channels attending to each other over all tokens. */
function channelBlock(n: Net, x: string, h: number, c: number, groups: number): string {
  const tokens = h * h;
  const per = c / groups;
  let y = convResidual(n, x, h, c);
  const flat = n.reshape(n.layerNorm(y, 1e-5), [1, tokens, c], [1, tokens, c]);
  const grouped = (t: string) => n.transpose(n.reshape(t, [1, tokens, groups, per], [1, tokens, groups, per]), [0, 2, 1, 3]);
  const [q, k, v] = [0, 1, 2].map(() => grouped(n.linear(flat, c, c)));
  // (qᵀ k) is [per × per] per group; the tokens are the contracted dimension.
  const scores = n.matmul(n.transpose(n.binary('Mul', q!, n.scalar(1 / Math.sqrt(per))), [0, 1, 3, 2]), k!);
  const mixed = n.transpose(n.matmul(n.softmax(scores), n.transpose(v!, [0, 1, 3, 2])), [0, 1, 3, 2]);
  const merged = n.reshape(n.transpose(mixed, [0, 2, 1, 3]), [1, h, h, c], [1, h, h, c]);
  y = n.binary('Add', y, n.linear(merged, c, c));
  return mlp(n, convResidual(n, y, h, c), c);
}

export function davitGraph(seed = 23): Uint8Array {
  const n = new Net('florence2-davit', seed, { hidden: DAVIT.projectTo, heads: 12 }, { shareLayers: false });
  let x = n.input('pixel_values', F, [1, 3, DAVIT.imageSize, DAVIT.imageSize]);
  let side = DAVIT.imageSize;
  let channels = 3;
  for (let s = 0; s < 4; s++) {
    const { kernel, stride, pad } = DAVIT.patch[s]!;
    const c = DAVIT.dims[s]!;
    const nchw = s === 0 ? x : n.transpose(x, [0, 3, 1, 2]);
    side = Math.floor((side + 2 * pad - kernel) / stride) + 1;
    const conv = n.declare(
      n.g.op(
        'Conv',
        [nchw, n.weight([c, channels, kernel, kernel])],
        [intsAttr('kernel_shape', [kernel, kernel]), intsAttr('strides', [stride, stride]), intsAttr('pads', [pad, pad, pad, pad])],
      ),
      [1, c, side, side],
    );
    x = n.layerNorm(n.transpose(conv, [0, 2, 3, 1]), 1e-5);
    channels = c;
    for (let d = 0; d < DAVIT.depths[s]!; d++) {
      n.layer(() => {
        x = spatialBlock(n, x, side, c, DAVIT.heads[s]!);
        x = channelBlock(n, x, side, c, DAVIT.groups[s]!);
      });
    }
  }
  const tokens = n.reshape(x, [1, side * side, channels], [1, side * side, channels]);
  const pooled = n.declare(n.g.op('ReduceMean', [tokens], [intsAttr('axes', [1]), intAttr('keepdims', 1)]), [1, 1, channels]);
  const all = n.concat([pooled, tokens], 1, [1, side * side + 1, channels]);
  n.output(n.layerNorm(n.linear(all, channels, DAVIT.projectTo, false), 1e-5), 'image_features');
  return n.g.encode();
}
