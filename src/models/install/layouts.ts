import { ModelInstallError } from './errors';
import type { SourceFile } from './packSource';

/**
 * The repository layouts the hubs really publish:
 * - transformers-combined: transformers.js's export of ChineseCLIPModel (Xenova/chinese-clip-*):
 *   one graph per variant in onnx/ taking text and pixels, returning text_embeds and image_embeds;
 * - transformers-split: onnx/text_model*.onnx and onnx/vision_model*.onnx (Xenova/clip-*);
 * - cn-clip: Chinese-CLIP's own deploy export, *.img.fp32.onnx and *.txt.fp32.onnx, fp16 files with
 *   their weights in a `.extra_file` beside them, no vocabulary (that comes from a companion repo);
 * - immich: visual/model.onnx and textual/model.onnx with open_clip's config.json.
 */
export type Layout = 'transformers-combined' | 'transformers-split' | 'cn-clip' | 'immich';
export type Variant = 'fp32' | 'fp16' | 'quantized';
export const VARIANTS: readonly Variant[] = ['fp32', 'fp16', 'quantized'];

export interface PlannedFile {
  file: SourceFile;
  /** Fetched from the companion repository (cn-clip's vocabulary and preprocessing). */
  companion: boolean;
}

/** Where cn_clip's vocabulary and preprocessing come from when its export lacks them. */
export interface Companion {
  /** For messages: "OFA-Sys/chinese-clip-vit-base-patch16 (MODELS_VOCAB_REPO)". */
  label: string;
  files: readonly SourceFile[];
}

export interface InstallPlan {
  layout: Layout;
  /** Graphs and configuration; the weights a graph keeps beside it (external data) are read from the graph once fetched. */
  files: PlannedFile[];
  /** Graph paths in the repository (and in the pack before any split). */
  graphs: string[];
  /** Paths inside the pack. For a combined graph `image` and `text` name the towers the split writes. */
  image: string;
  text: string;
  combined?: string | undefined;
}

const TRANSFORMERS_SUFFIX: Record<Variant, string> = { fp32: '', fp16: '_fp16', quantized: '_quantized' };
const TRANSFORMERS_CONFIGS = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

export function detectLayout(files: readonly SourceFile[]): Layout {
  const has = (re: RegExp) => files.some((f) => re.test(f.path));
  if (has(/^visual\/model\.onnx$/) && has(/^textual\/model\.onnx$/)) return 'immich';
  if (has(/^onnx\/text_model[\w]*\.onnx$/) && has(/^onnx\/vision_model[\w]*\.onnx$/)) return 'transformers-split';
  if (has(/^onnx\/model[\w]*\.onnx$/)) return 'transformers-combined';
  if (has(/(^|\/)[^/]+\.img\.fp(32|16)\.onnx$/) && has(/(^|\/)[^/]+\.txt\.fp(32|16)\.onnx$/)) return 'cn-clip';
  throw new ModelInstallError(
    `no supported model layout among ${files.length} files (${files.slice(0, 8).map((f) => f.path).join(', ')}${files.length > 8 ? ', …' : ''}): expected onnx/model*.onnx, onnx/{text,vision}_model*.onnx, *.img.fp32.onnx + *.txt.fp32.onnx, or visual/ + textual/model.onnx`,
  );
}

function pick(files: readonly SourceFile[], want: string, repo: string, variant: Variant): SourceFile {
  const f = files.find((x) => x.path === want);
  if (!f) {
    const graphs = files.filter((x) => x.path.endsWith('.onnx')).map((x) => x.path);
    throw new ModelInstallError(`${repo} has no ${want} for variant ${variant}; its graphs are ${graphs.join(', ') || 'none'}`);
  }
  return f;
}

/** cn_clip names its graphs after the model (vit-b-16.img.fp32.onnx); that name says which Chinese-CLIP repository has its vocabulary. */
export function cnClipModelName(files: readonly SourceFile[]): string | undefined {
  return files.map((f) => f.path.match(/(?:^|\/)([^/]+)\.img\.fp(?:32|16)\.onnx$/)?.[1]).find(Boolean)?.toLowerCase();
}

/** What cn_clip's export needs from elsewhere: the vocabulary and the preprocessing, unless it has them itself. */
export const CN_CLIP_EXTRAS = ['vocab.txt', 'preprocessor_config.json'] as const;

export function planInstall(files: readonly SourceFile[], variant: Variant, repo: string, companion: Companion | null = null): InstallPlan {
  const layout = detectLayout(files);
  const main = (list: SourceFile[]): PlannedFile[] => list.map((file) => ({ file, companion: false }));
  const configs = (names: readonly string[]) => files.filter((f) => names.includes(f.path));
  switch (layout) {
    case 'transformers-combined': {
      const graph = pick(files, `onnx/model${TRANSFORMERS_SUFFIX[variant]}.onnx`, repo, variant);
      return { layout, files: main([graph, ...configs(TRANSFORMERS_CONFIGS)]), graphs: [graph.path], combined: graph.path, image: 'image_encoder.onnx', text: 'text_encoder.onnx' };
    }
    case 'transformers-split': {
      const suffix = TRANSFORMERS_SUFFIX[variant];
      const vision = pick(files, `onnx/vision_model${suffix}.onnx`, repo, variant);
      const text = pick(files, `onnx/text_model${suffix}.onnx`, repo, variant);
      return { layout, files: main([vision, text, ...configs(TRANSFORMERS_CONFIGS)]), graphs: [vision.path, text.path], image: vision.path, text: text.path };
    }
    case 'cn-clip': {
      if (variant === 'quantized') throw new ModelInstallError(`${repo} is cn_clip's own export, which has fp32 and fp16 graphs only: set MODELS_VARIANT=fp32 or fp16`);
      const precision = variant === 'fp16' ? 'fp16' : 'fp32';
      const image = files.find((f) => f.path.endsWith(`.img.${precision}.onnx`));
      const text = files.find((f) => f.path.endsWith(`.txt.${precision}.onnx`));
      if (!image || !text) throw new ModelInstallError(`${repo} has no *.img.${precision}.onnx and *.txt.${precision}.onnx pair`);
      const extras = CN_CLIP_EXTRAS.map((name) => {
        const own = files.find((f) => f.path === name);
        if (own) return { file: own, companion: false };
        const theirs = companion?.files.find((f) => f.path === name);
        if (theirs) return { file: theirs, companion: true };
        throw new ModelInstallError(
          companion
            ? `${repo} is cn_clip's export without ${name}, and ${companion.label} has none either: set MODELS_VOCAB_REPO to the Chinese-CLIP repository of this model`
            : `${repo} is cn_clip's export without ${name}: put ${CN_CLIP_EXTRAS.join(' and ')} beside its graphs, or set MODELS_VOCAB_REPO`,
        );
      });
      return { layout, files: [...main([image, text]), ...extras], graphs: [image.path, text.path], image: image.path, text: text.path };
    }
    case 'immich': {
      if (variant !== 'fp32') throw new ModelInstallError(`${repo} is an Immich model, published in fp32 only: set MODELS_VARIANT=fp32`);
      const need = ['config.json', 'visual/preprocess_cfg.json', 'textual/tokenizer.json', 'textual/tokenizer_config.json'];
      const vision = pick(files, 'visual/model.onnx', repo, variant);
      const text = pick(files, 'textual/model.onnx', repo, variant);
      for (const n of need) if (!files.some((f) => f.path === n)) throw new ModelInstallError(`${repo} has no ${n}`);
      return { layout, files: main([vision, text, ...configs(need)]), graphs: [vision.path, text.path], image: vision.path, text: text.path };
    }
  }
}
