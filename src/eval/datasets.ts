import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { toScript, type ChineseScript } from '../util/chineseScript';

/** Images and the texts that describe them; a text may match several images. */
export interface EvalDataset {
  name: string;
  images: { id: string; data: Buffer }[];
  texts: { id: string; text: string; imageIds: string[] }[];
}

export class DatasetError extends Error {}

const cnClipText = z.object({
  text_id: z.union([z.number(), z.string()]),
  text: z.string().min(1),
  image_ids: z.array(z.union([z.number(), z.string()])).min(1),
});
const captionLine = z.object({ image: z.string().min(1), text: z.string().min(1) });

function jsonLines<T>(content: string, schema: z.ZodType<T>, file: string): T[] {
  return content
    .split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter(({ line }) => line)
    .map(({ line, n }) => {
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch (e) {
        throw new DatasetError(`${file}:${n}: not JSON (${(e as Error).message})`);
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new DatasetError(`${file}:${n}: ${z.prettifyError(parsed.error)}`);
      return parsed.data;
    });
}

/**
 * Chinese-CLIP's evaluation format (`{split}_imgs.tsv`: image_id TAB base64; `{split}_texts.jsonl`:
 * text_id, text, image_ids), as its MUGE, Flickr30k-CN and COCO-CN downloads ship.
 */
async function loadChineseClip(dir: string, split: string): Promise<EvalDataset> {
  const imgsFile = path.join(dir, `${split}_imgs.tsv`);
  const textsFile = path.join(dir, `${split}_texts.jsonl`);
  const images = (await readFile(imgsFile, 'utf8'))
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .map((line, i) => {
      const tab = line.indexOf('\t');
      if (tab < 1) throw new DatasetError(`${imgsFile}:${i + 1}: expected image_id<TAB>base64`);
      return { id: line.slice(0, tab).trim(), data: Buffer.from(line.slice(tab + 1).trim(), 'base64') };
    });
  const texts = jsonLines(await readFile(textsFile, 'utf8'), cnClipText, textsFile).map((t) => ({
    id: String(t.text_id),
    text: t.text,
    imageIds: t.image_ids.map(String),
  }));
  return { name: `${path.basename(dir)}/${split}`, images, texts };
}

/** A folder of images with `captions.jsonl`: one {"image": "relative/path", "text": "..."} per line. */
async function loadCaptionFolder(dir: string): Promise<EvalDataset> {
  const file = path.join(dir, 'captions.jsonl');
  const lines = jsonLines(await readFile(file, 'utf8'), captionLine, file);
  const imagePaths = [...new Set(lines.map((l) => l.image))];
  const images = await Promise.all(
    imagePaths.map(async (p) => {
      const full = path.resolve(dir, p);
      if (!full.startsWith(path.resolve(dir) + path.sep)) throw new DatasetError(`${file}: ${p} is outside the dataset folder`);
      return { id: p, data: await readFile(full).catch(() => Promise.reject(new DatasetError(`${file}: image ${p} not found`))) };
    }),
  );
  return { name: path.basename(dir), images, texts: lines.map((l, i) => ({ id: String(i), text: l.text, imageIds: [l.image] })) };
}

/** Detects the format: `{split}_imgs.tsv` + `{split}_texts.jsonl`, or `captions.jsonl`. */
export async function loadDataset(dir: string, split?: string): Promise<EvalDataset> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    throw new DatasetError(`cannot read dataset folder ${dir}: ${(e as Error).message}`);
  }
  const splits = entries.filter((f) => f.endsWith('_imgs.tsv')).map((f) => f.slice(0, -'_imgs.tsv'.length));
  if (splits.length) {
    const chosen = split ?? (splits.includes('test') ? 'test' : splits.includes('valid') ? 'valid' : splits[0]!);
    if (!splits.includes(chosen) || !entries.includes(`${chosen}_texts.jsonl`))
      throw new DatasetError(`${dir} has no ${chosen}_imgs.tsv with ${chosen}_texts.jsonl (splits: ${splits.join(', ')})`);
    return loadChineseClip(dir, chosen);
  }
  if (entries.includes('captions.jsonl')) return loadCaptionFolder(dir);
  throw new DatasetError(`${dir} is neither Chinese-CLIP's format ({split}_imgs.tsv, {split}_texts.jsonl) nor a folder with captions.jsonl`);
}

/**
 * The dataset with its texts written in one Chinese script: `traditional` asks what a pack gives people
 * who type 繁體 (Chinese-CLIP's evaluation sets are in simplified characters).
 */
export function withTextsIn(dataset: EvalDataset, script: ChineseScript): EvalDataset {
  return { ...dataset, name: `${dataset.name}, texts in ${script}`, texts: dataset.texts.map((t) => ({ ...t, text: toScript(script, t.text) })) };
}
