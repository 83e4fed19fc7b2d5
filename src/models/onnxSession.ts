import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { fromFloat16Bits } from './float16';

export interface SessionOptions {
  /** 0: one per core (see intraOpThreadsFor). */
  intraOpThreads: number;
  interOpThreads: number;
  /** onnxruntime execution providers in order of preference (the first that loads is used); default cpu. */
  executionProviders?: string[];
}

/**
 * onnxruntime-node 1.30 runs a session asked for 0 intra-op threads (its "default") on one thread on these
 * 2-core machines: PP-OCR's detection at 1280 × 960 took 358 ms with 0 and 275 with 2, and ingest's encoder
 * likewise. So 0 is said to it as the number of cores.
 */
function intraOpThreadsFor(requested: number): number {
  return requested > 0 ? requested : availableParallelism();
}

/**
 * A session on the first of `executionProviders` that loads: onnxruntime refuses the whole list when
 * one provider's library is missing (CUDA on a machine without it), so each is tried in turn.
 */
export async function createSession(file: string, opts: SessionOptions): Promise<ort.InferenceSession> {
  const providers = opts.executionProviders?.length ? opts.executionProviders : ['cpu'];
  for (let i = 0; ; i++) {
    try {
      return await ort.InferenceSession.create(file, {
        executionProviders: providers.slice(i),
        graphOptimizationLevel: 'all',
        intraOpNumThreads: intraOpThreadsFor(opts.intraOpThreads),
        interOpNumThreads: opts.interOpThreads,
        executionMode: opts.interOpThreads > 1 ? 'parallel' : 'sequential',
        // Idle ORT threads would otherwise spin, taking the cores that image decoding needs while
        // ingest overlaps the two (measured in the ingest benchmark).
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
    } catch (e) {
      if (i >= providers.length - 1) throw e;
    }
  }
}

/** Reads a [N, D] float output, refusing shapes that would silently mis-slice vectors. */
export function readEmbeddings(output: ort.Tensor | undefined, name: string, rows: number, dim: number): Float32Array {
  if (!output) throw new Error(`encoder produced no output named ${name}`);
  const dims = output.dims;
  if (dims.length !== 2 || dims[0] !== rows || dims[1] !== dim) {
    throw new Error(`encoder output ${name} has shape [${dims.join(',')}], expected [${rows},${dim}]`);
  }
  if (output.type === 'float16') return fromFloat16Bits(output.data as Uint16Array);
  if (output.type !== 'float32') throw new Error(`encoder output ${name} is ${output.type}, expected float32 or float16`);
  return output.data as Float32Array;
}

export function requireInput(session: { readonly inputNames: readonly string[] }, name: string): void {
  if (!session.inputNames.includes(name)) {
    throw new Error(`encoder has no input ${name}; it has ${session.inputNames.join(', ')}`);
  }
}
