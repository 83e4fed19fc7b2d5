/**
 * npm run models:fetch   — installs the default model pack, Chinese-CLIP ViT-B/16, into
 * models/chinese-clip-vit-b-16 (or MODELS_DIR) and writes its manifest with sha256 sums.
 *
 * Sources, first match wins:
 *   MODELS_SOURCE=/path     copy the files from a local folder (e.g. ../shared/models/chinese-clip-vit-b-16)
 *   MODELS_ONNX_REPO=o/r    download from the Hugging Face hub: the two ONNX files from that repo,
 *                           vocab.txt from MODELS_VOCAB_REPO (default OFA-Sys/chinese-clip-vit-base-patch16)
 *
 * The ONNX files are Chinese-CLIP's own export (cn_clip/deploy/pytorch_to_onnx.py:
 * `vit-b-16.img.fp32.onnx`, input `image`; `vit-b-16.txt.fp32.onnx`, input `text`, 52 tokens).
 * Downloads are checked against the sha256 the hub publishes for LFS files.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packKey, writeManifest, type ModelManifest } from '../src/models/manifest';

const IMAGE_FILE = 'vit-b-16.img.fp32.onnx';
const TEXT_FILE = 'vit-b-16.txt.fp32.onnx';
const VOCAB_FILE = 'vocab.txt';

export function chineseClipManifest(): Omit<ModelManifest, 'files'> {
  return {
    name: 'chinese-clip-vit-b-16',
    version: '1',
    description: 'Chinese-CLIP ViT-B/16 (OFA-Sys), ONNX export of cn_clip',
    embeddingDim: 512,
    // cn_clip resizes to 224x224 without cropping, bicubic, with OpenAI CLIP's mean/std.
    image: { file: IMAGE_FILE, input: 'image', output: 'unnorm_image_features', size: 224, resize: 'squash', mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
    // The exported text tower derives its attention mask from [PAD] = 0 itself.
    text: { file: TEXT_FILE, inputs: { ids: 'text' }, output: 'unnorm_text_features', maxLength: 52, tokenizer: { file: VOCAB_FILE, lowercase: true } },
  };
}

interface HubEntry {
  path: string;
  lfs?: { oid: string; size: number };
}

async function hubListing(repo: string, revision: string): Promise<HubEntry[]> {
  const res = await fetch(`https://huggingface.co/api/models/${repo}/tree/${encodeURIComponent(revision)}`);
  if (!res.ok) throw new Error(`listing ${repo}@${revision} failed: HTTP ${res.status}`);
  return (await res.json()) as HubEntry[];
}

async function download(repo: string, revision: string, file: string, dest: string, expectedSha?: string): Promise<void> {
  const url = `https://huggingface.co/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`download of ${url} failed: HTTP ${res.status}`);
  const tmp = `${dest}.part`;
  const hash = createHash('sha256');
  const total = Number(res.headers.get('content-length') ?? 0);
  let received = 0;
  let lastReport = 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    received += chunk.length;
    if (Date.now() - lastReport > 2000) {
      lastReport = Date.now();
      process.stderr.write(`  ${file}: ${(received / 1e6).toFixed(0)}${total ? `/${(total / 1e6).toFixed(0)}` : ''} MB\n`);
    }
  });
  await pipeline(body, createWriteStream(tmp));
  const actual = hash.digest('hex');
  if (expectedSha && actual !== expectedSha) {
    await rm(tmp, { force: true });
    throw new Error(`sha256 mismatch for ${file}: the hub says ${expectedSha}, got ${actual}`);
  }
  await rename(tmp, dest);
}

export interface FetchOptions {
  outDir: string;
  source?: string | undefined;
  onnxRepo?: string | undefined;
  vocabRepo: string;
  revision: string;
}

export async function fetchChineseClip(opts: FetchOptions): Promise<ModelManifest> {
  await mkdir(opts.outDir, { recursive: true });
  if (opts.source) {
    for (const f of [IMAGE_FILE, TEXT_FILE, VOCAB_FILE]) {
      const from = path.join(opts.source, f);
      if (!existsSync(from)) throw new Error(`MODELS_SOURCE has no ${f} (${from})`);
      await copyFile(from, path.join(opts.outDir, f));
    }
  } else if (opts.onnxRepo) {
    const lfs = new Map((await hubListing(opts.onnxRepo, opts.revision)).filter((e) => e.lfs).map((e) => [e.path, e.lfs!.oid]));
    for (const f of [IMAGE_FILE, TEXT_FILE]) {
      if (!lfs.has(f)) throw new Error(`${opts.onnxRepo} has no ${f}`);
      await download(opts.onnxRepo, opts.revision, f, path.join(opts.outDir, f), lfs.get(f));
    }
    await download(opts.vocabRepo, 'main', VOCAB_FILE, path.join(opts.outDir, VOCAB_FILE));
  } else {
    throw new Error('set MODELS_SOURCE (a local folder with the files) or MODELS_ONNX_REPO (a Hugging Face repo with the ONNX export)');
  }
  return writeManifest(opts.outDir, chineseClipManifest());
}

if (require.main === module) {
  const env = process.env;
  fetchChineseClip({
    outDir: path.resolve(env.MODELS_DIR ?? 'models/chinese-clip-vit-b-16'),
    source: env.MODELS_SOURCE ? path.resolve(env.MODELS_SOURCE) : undefined,
    onnxRepo: env.MODELS_ONNX_REPO,
    vocabRepo: env.MODELS_VOCAB_REPO ?? 'OFA-Sys/chinese-clip-vit-base-patch16',
    revision: env.MODELS_REVISION ?? 'main',
  })
    .then((m) => console.log(`installed ${packKey(m)}; start with MODEL_DIR=${path.resolve(env.MODELS_DIR ?? 'models/chinese-clip-vit-b-16')}`))
    .catch((e: unknown) => {
      console.error((e as Error).message);
      process.exit(1);
    });
}
