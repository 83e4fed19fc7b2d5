import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { ModelInstallError } from './errors';
import { locationOf } from './externalData';

export interface TowerSpec {
  /** The graph output this tower computes. */
  output: string;
  /** Graph inputs the tower may read; needing any other is an error. */
  allowedInputs: readonly string[];
  file: string;
}

export interface TowerSummary {
  inputs: string[];
  nodes: number;
  initializers: number;
  bytes: number;
}

/** Names a node reads, counting those its subgraphs (If, Loop, Scan bodies) take from the outer scope. */
function nodeReads(node: onnx.INodeProto): string[] {
  const reads = (node.input ?? []).filter((n) => n !== '');
  for (const attr of node.attribute ?? []) {
    for (const g of [...(attr.g ? [attr.g] : []), ...(attr.graphs ?? [])]) reads.push(...outerReads(g));
  }
  return reads;
}

function outerReads(graph: onnx.IGraphProto): string[] {
  const local = new Set<string>([...(graph.input ?? []).map((i) => i.name!), ...(graph.initializer ?? []).map((t) => t.name!)]);
  for (const n of graph.node ?? []) for (const o of n.output ?? []) local.add(o);
  return (graph.node ?? []).flatMap(nodeReads).filter((n) => !local.has(n));
}

/**
 * The part of `graph` that `output` depends on, found by walking back from it: nodes, initializers
 * and graph inputs, each kept as it was (fp16 and int8 graphs stay fp16 and int8).
 */
function subgraphFor(graph: onnx.IGraphProto, spec: TowerSpec): onnx.IGraphProto {
  const producer = new Map<string, number>();
  (graph.node ?? []).forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const inputs = new Map((graph.input ?? []).map((v) => [v.name!, v]));
  if (!(graph.output ?? []).some((o) => o.name === spec.output)) {
    throw new ModelInstallError(`the combined graph has no output ${spec.output}; it has ${(graph.output ?? []).map((o) => o.name).join(', ')}`);
  }
  const keepNodes = new Set<number>();
  const keepInit = new Set<string>();
  const keepInputs = new Set<string>();
  const stack = [spec.output];
  const seen = new Set<string>();
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const p = producer.get(name);
    if (p !== undefined) {
      if (!keepNodes.has(p)) {
        keepNodes.add(p);
        stack.push(...nodeReads(graph.node![p]!));
      }
    } else if (initializers.has(name)) keepInit.add(name);
    else if (inputs.has(name)) keepInputs.add(name);
    else throw new ModelInstallError(`the combined graph reads ${name}, which nothing produces`);
  }
  const foreign = [...keepInputs].filter((i) => !spec.allowedInputs.includes(i));
  if (foreign.length) {
    throw new ModelInstallError(`${spec.output} depends on ${foreign.join(', ')}, not only on ${spec.allowedInputs.join(', ')}: the graph cannot be split into independent towers`);
  }
  return {
    name: `${graph.name ?? 'graph'}-${spec.output}`,
    // Node order is kept: the source was topologically sorted, and so is any subset of it.
    node: (graph.node ?? []).filter((_, i) => keepNodes.has(i)),
    initializer: (graph.initializer ?? []).filter((t) => keepInit.has(t.name!)),
    sparseInitializer: [],
    input: (graph.input ?? []).filter((v) => keepInputs.has(v.name!)),
    output: (graph.output ?? []).filter((o) => o.name === spec.output),
    valueInfo: (graph.valueInfo ?? []).filter((v) => seen.has(v.name!)),
  };
}

/**
 * A tower written to another folder than the combined graph still finds the weights the graph keeps
 * outside it: each external-data location is made relative to the tower's folder.
 */
function relocated(tensors: readonly onnx.ITensorProto[], from: string, to: string): onnx.ITensorProto[] {
  if (from === to) return [...tensors];
  return tensors.map((t) => {
    const location = locationOf(t);
    if (location === undefined) return t;
    const moved = path.relative(to, path.resolve(from, location)).split(path.sep).join('/');
    return { ...t, externalData: t.externalData!.map((e) => (e.key === 'location' ? { ...e, value: moved } : e)) };
  });
}

/**
 * Splits a combined dual-encoder graph (e.g. transformers.js's ChineseCLIPModel export) into one
 * ONNX file per tower. Weights are never copied in memory: the decoded model's tensors are views
 * into the file's buffer, and each tower is encoded, written and dropped before the next.
 */
export async function splitCombinedGraph(file: string, towers: readonly TowerSpec[]): Promise<TowerSummary[]> {
  const model = onnx.ModelProto.decode(await readFile(file));
  const graph = model.graph;
  if (!graph) throw new ModelInstallError(`${file} has no graph`);
  if ((graph.sparseInitializer ?? []).length) throw new ModelInstallError(`${file} has sparse initializers, which the splitter does not handle`);
  const summaries: TowerSummary[] = [];
  for (const spec of towers) {
    const cut = subgraphFor(graph, spec);
    const sub = { ...cut, initializer: relocated(cut.initializer!, path.dirname(file), path.dirname(spec.file)) };
    const bytes = onnx.ModelProto.encode({ ...model, graph: sub }).finish();
    await writeFile(spec.file, bytes);
    summaries.push({ inputs: sub.input!.map((i) => i.name!), nodes: sub.node!.length, initializers: sub.initializer.length, bytes: bytes.length });
  }
  return summaries;
}
