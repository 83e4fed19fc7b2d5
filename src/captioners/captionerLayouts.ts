import { ModelInstallError } from '../models/install/errors';
import type { SourceFile } from '../models/install/packSource';

/** What a model does in a captioner pack: describe the photo, or turn the description into Chinese. */
export type CaptionerRole = 'caption' | 'translate';

/** transformers.js' dtypes, each a suffix of the graph files it opens (onnx/encoder_model_q4.onnx). */
export const CAPTIONER_DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
export type CaptionerDtype = (typeof CAPTIONER_DTYPES)[number];

/** The model types each role accepts (a captioning layout runs as describers.ts drives it). */
const MODEL_TYPES: Record<string, CaptionerRole> = {
  'vision-encoder-decoder': 'caption',
  florence2: 'caption',
  qwen2_vl: 'caption',
  marian: 'translate',
};

export interface ModelConfig {
  model_type?: string;
  [key: string]: unknown;
}

/** The model's type, checked against the role it is to play. */
export function checkModelType(config: ModelConfig, role: CaptionerRole, repo: string): string {
  const type = config.model_type ?? '(none)';
  const known = MODEL_TYPES[type];
  const wanted = Object.entries(MODEL_TYPES)
    .filter(([, r]) => r === role)
    .map(([name]) => name)
    .join(', ');
  const what = role === 'caption' ? 'an image captioner' : 'a translator';
  if (known !== role) throw new ModelInstallError(`${repo} has model_type ${type}, which is not ${what} (expected one of: ${wanted})`);
  return type;
}

/**
 * The files transformers.js itself opens for this model and dtype: the graphs and their external data
 * as its ModelRegistry derives them from config.json (sessions per model type, the dtype's suffix,
 * transformers.js_config's external-data chunks), then the tokenizer, processor and chat-template files
 * the repository has. Each must be in the listing.
 */
export async function captionerFiles(listing: readonly SourceFile[], config: ModelConfig, dtype: CaptionerDtype, repo: string): Promise<SourceFile[]> {
  const { ModelRegistry } = await import('@huggingface/transformers');
  const graphs = await ModelRegistry.get_model_files(repo, { config: config as never, dtype });
  const optional = [
    'tokenizer.json',
    'tokenizer_config.json',
    'preprocessor_config.json',
    'processor_config.json',
    'chat_template.json',
    'chat_template.jinja',
  ];
  const listed = new Map(listing.map((f) => [f.path, f]));
  const wanted = [...new Set([...graphs.filter((f) => f !== 'config.json'), ...optional.filter((f) => listed.has(f))])];
  const missing = wanted.filter((f) => !listed.has(f));
  if (missing.length) {
    const dtypes = availableDtypes(listing, graphs);
    throw new ModelInstallError(
      `${repo} lacks ${missing.join(', ')}, which transformers.js opens for dtype ${dtype}` +
        (dtypes.length ? ` (dtypes it has: ${dtypes.join(', ')}; set MODELS_CAPTIONER_DTYPE)` : ''),
    );
  }
  return wanted.map((f) => listed.get(f)!);
}

const SUFFIXES: Record<CaptionerDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** Dtypes whose graphs the repository has, judged by the first graph the model needs. */
function availableDtypes(listing: readonly SourceFile[], graphs: readonly string[]): CaptionerDtype[] {
  const first = graphs.find((g) => g.endsWith('.onnx'));
  if (!first) return [];
  const base = first.replace(/(_fp16|_quantized|_int8|_uint8|_q4f16|_q4|_bnb4)?\.onnx$/, '');
  return CAPTIONER_DTYPES.filter((d) => listing.some((f) => f.path === `${base}${SUFFIXES[d]}.onnx`));
}
