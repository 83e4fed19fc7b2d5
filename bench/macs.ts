import { onnx } from 'onnx-proto';

/**
 * Multiply-accumulates of one run of a graph, from the shapes it declares (value_info, inputs,
 * initializers; symbolic dimensions count as 1): MatMul, MatMulInteger, Gemm and Conv, the ops
 * that carry a transformer's compute.
 */
export function countMacs(model: Uint8Array): number {
  const graph = onnx.ModelProto.decode(model).graph!;
  const shapes = new Map<string, number[]>();
  const dims = (v: onnx.IValueInfoProto) => (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? 1 : Number(d.dimValue ?? 1)));
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) shapes.set(v.name!, dims(v));
  for (const t of graph.initializer ?? []) shapes.set(t.name!, (t.dims ?? []).map(Number));
  const shape = (name: string, op: string) => {
    const s = shapes.get(name);
    if (!s) throw new Error(`${op}: no declared shape for ${name}`);
    return s;
  };
  let macs = 0;
  for (const node of graph.node ?? []) {
    const op = node.opType!;
    if (op === 'MatMul' || op === 'MatMulInteger' || op === 'Gemm') {
      const out = shape(node.output![0]!, op);
      const a = shape(node.input![0]!, op);
      const k = op === 'Gemm' && node.attribute?.some((x) => x.name === 'transA' && Number(x.i) === 1) ? a[a.length - 2]! : a[a.length - 1]!;
      macs += out.reduce((p, d) => p * d, 1) * k;
    } else if (op === 'Conv') {
      const out = shape(node.output![0]!, op);
      const w = shape(node.input![1]!, op);
      // The weight's second dimension is already in_channels / group.
      macs += out.reduce((p, d) => p * d, 1) * w.slice(1).reduce((p, d) => p * d, 1);
    }
  }
  return macs;
}
