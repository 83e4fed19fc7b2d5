import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { ModelInstallError } from './errors';

/** Every graph of a model: the main one and the bodies of If, Loop and Scan nodes. */
function* graphsOf(graph: onnx.IGraphProto): Generator<onnx.IGraphProto> {
  yield graph;
  for (const node of graph.node ?? []) for (const attr of node.attribute ?? []) for (const g of [...(attr.g ? [attr.g] : []), ...(attr.graphs ?? [])]) yield* graphsOf(g);
}

/** The initializers of a graph and its subgraphs, sparse ones' values included. */
export function* tensorsOf(graph: onnx.IGraphProto): Generator<onnx.ITensorProto> {
  for (const g of graphsOf(graph)) {
    yield* g.initializer ?? [];
    for (const s of g.sparseInitializer ?? []) if (s.values) yield s.values;
  }
}

export const locationOf = (t: onnx.ITensorProto): string | undefined => t.externalData?.find((e) => e.key === 'location')?.value ?? undefined;

/**
 * The files a graph keeps its weights in (ONNX external data), as repository paths: each initializer's
 * `location` is relative to the graph's folder. Read from the graph itself, so per-tensor files and any
 * naming are found, never guessed from file names.
 */
export async function externalDataOf(graphFile: string, graphRepoPath: string): Promise<string[]> {
  const model = onnx.ModelProto.decode(await readFile(graphFile));
  const dir = path.posix.dirname(graphRepoPath);
  const out = new Set<string>();
  for (const t of model.graph ? tensorsOf(model.graph) : []) {
    const location = locationOf(t);
    if (location === undefined) continue;
    const joined = path.posix.normalize(path.posix.join(dir, location.split(path.sep).join('/')));
    if (path.posix.isAbsolute(location) || joined.startsWith('../') || joined === '..')
      throw new ModelInstallError(`${graphRepoPath}: tensor ${t.name ?? '?'} keeps its data at ${location}, outside the repository`);
    out.add(joined);
  }
  return [...out];
}
