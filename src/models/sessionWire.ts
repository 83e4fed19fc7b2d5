import * as ort from 'onnxruntime-node';
import type { SessionOptions } from './onnxSession';

/** A tensor as it crosses between threads: class instances lose their prototype when posted. */
export interface WireTensor {
  type: ort.Tensor.Type;
  data: Exclude<ort.Tensor.DataType, string[]>;
  dims: readonly number[];
}

export interface SessionHostData {
  files: string[];
  options: SessionOptions;
  /** Nice value for the worker's threads (19 lowest priority); null keeps the process's. */
  nice: number | null;
}

export type HostRequest = { type: 'run'; id: number; session: number; feeds: Record<string, WireTensor> } | { type: 'close' };

export type HostReply =
  | { type: 'ready'; niced: boolean; sessions: { inputNames: string[]; outputNames: string[] }[] }
  | { type: 'failed'; error: string }
  | { type: 'result'; id: number; outputs?: Record<string, WireTensor>; error?: string };

/**
 * `own`: copy the data into a buffer of its own, so that it can be transferred (onnxruntime's outputs
 * may be views on memory it manages).
 */
export function toWire(t: ort.Tensor, own: boolean): WireTensor {
  if (t.type === 'string') throw new Error('string tensors do not cross threads');
  const data = t.data as WireTensor['data'];
  return { type: t.type, data: own ? data.slice() : data, dims: t.dims };
}

export function fromWire(w: WireTensor): ort.Tensor {
  return new ort.Tensor(w.type, w.data, w.dims);
}
