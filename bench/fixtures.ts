import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { gaussian, mulberry32 } from '../scripts/lib/random';
import { decodeImage } from '../src/images/decode';
import type { ImagePreprocessing, PixelTensor } from '../src/models/preprocess';

/** Standard normal samples, drawn once: picking from them costs a fraction of drawing each pixel's own. */
const NORMAL_SAMPLES = (() => {
  const rand = mulberry32(0x5eed);
  return Float64Array.from({ length: 1 << 16 }, () => gaussian(rand));
})();

/**
 * Seeded Gaussian noise, as raw RGB. libvips's own noise (sharp's `create.noise`) is seeded anew on every
 * call, so fixtures made with it, and the figures measured on them, differed from run to run.
 */
function gaussianNoise(width: number, height: number, mean: number, sigma: number, seed: number): Sharp {
  const rand = mulberry32(seed);
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, Math.round(mean + sigma * NORMAL_SAMPLES[(rand() * 65536) | 0]!)));
  return sharp(px, { raw: { width, height, channels: 3 } });
}

/** Photo-like JPEGs: blurred noise compresses like a photo (~200 KB at 2 MP), unlike flat colour or raw noise. */
export async function writePhotoLikeJpegs(dir: string, count: number, width: number, height: number, seed = 1): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const hue = (seed * 97 + i * 37) % 255;
    const noise = await gaussianNoise(width, height, 90 + (hue % 80), 30, seed * 7919 + i)
      .png()
      .toBuffer();
    const file = path.join(dir, `photo-${seed}-${i}.jpg`);
    await writeFile(file, await sharp(noise).blur(2).jpeg({ quality: 85 }).toBuffer());
    files.push(file);
  }
  return files;
}

/**
 * Distinct scenes, as far apart as different photos are at low resolution: a gradient sky and a few large
 * shapes in random colours and places, softened, with grain. (Blurred noise, above, is the same grey picture
 * at 9x8 whatever the seed: useless where the picture itself must differ.)
 */
export async function writeSceneJpegs(dir: string, count: number, width: number, height: number, seed = 1): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const rand = mulberry32(seed * 7919 + i * 104_729);
    const colour = () => `rgb(${[0, 0, 0].map(() => Math.floor(rand() * 256)).join(',')})`;
    const shapes = Array.from({ length: 6 }, () => {
      const [x, y, r] = [rand() * width, rand() * height, (0.08 + rand() * 0.25) * width];
      return rand() < 0.5
        ? `<circle cx="${x}" cy="${y}" r="${r}" fill="${colour()}"/>`
        : `<rect x="${x - r}" y="${y - r / 2}" width="${2 * r}" height="${r}" fill="${colour()}" transform="rotate(${rand() * 90} ${x} ${y})"/>`;
    }).join('');
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g" x1="0" y1="0" x2="${rand().toFixed(2)}" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${shapes}</svg>`;
    const grain = await gaussianNoise(width, height, 128, 12, seed * 104_729 + i)
      .png()
      .toBuffer();
    const file = path.join(dir, `scene-${seed}-${i}.jpg`);
    await writeFile(
      file,
      await sharp(Buffer.from(svg))
        .blur(1.5)
        .composite([{ input: grain, blend: 'soft-light' }])
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    files.push(file);
  }
  return files;
}

/** The same photo as a real HEIC (HEVC), written by libheif's heif-enc (Debian: libheif-examples). */
export async function heicFromJpeg(jpegFile: string): Promise<Buffer> {
  const out = `${jpegFile}.heic`;
  await promisify(execFile)('heif-enc', ['-q', '85', '-o', out, jpegFile]);
  return readFile(out);
}

/** The encoder's input for each file, decoded as ingest decodes it. */
export function decodeTensors(files: readonly string[], prep: ImagePreprocessing): Promise<PixelTensor[]> {
  return Promise.all(files.map(async (f) => (await decodeImage(await readFile(f), prep)).tensor));
}

/** Smooth colour fields with grain, like a photo, as raw RGB (the parity test and bench:models encode it as they need). */
export function smoothPhoto(width: number, height: number, seed: number): Sharp {
  const rand = mulberry32(seed);
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin(x / (23 + 9 * c) + c) * Math.cos(y / (31 + 5 * c) - c) + (rand() - 0.5) * 40;
        px[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } });
}

/** Chinese-CLIP's transform (cn_clip: squash to 224 with bicubic, CLIP's mean and std), which parity is measured against. */
export const CHINESE_CLIP_PREP: ImagePreprocessing = {
  size: 224,
  resize: 'squash',
  interpolation: 'bicubic',
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
};

/** Black Chinese text and a hard-edged frame on white, as PNG: the worst case for resampling differences. */
export function denseTextImage(width: number, height: number): Promise<Buffer> {
  const font = Math.max(10, Math.round(height / 9));
  const lines = Array.from(
    { length: 8 },
    (_, i) =>
      `<text x="6" y="${(i + 1) * Math.round(height / 8.5)}" font-family="WenQuanYi Zen Hei" font-size="${font}" fill="#000">北京西站出口 发票金额：128元 验证码 ${i}</text>`,
  ).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/><rect x="${width / 3}" y="${height / 3}" width="${width / 5}" height="${height / 6}" fill="none" stroke="#d00" stroke-width="${Math.max(2, width / 200)}"/>${lines}</svg>`;
  return sharp(Buffer.from(svg)).flatten({ background: '#fff' }).removeAlpha().png().toBuffer();
}

export interface TextImageOptions {
  width?: number;
  height?: number;
  fontSize?: number;
  font?: string;
  /** Degrees, clockwise. */
  rotate?: number;
  background?: string;
  colour?: string;
  format?: 'png' | 'jpeg';
  quality?: number;
  /** Gaussian noise sigma (0..255 scale). */
  noise?: number;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Chinese text rendered by sharp (librsvg with the system's CJK font): screenshots, receipts, signs. */
export async function textImage(lines: readonly string[], opts: TextImageOptions = {}): Promise<Buffer> {
  const {
    width = 800,
    fontSize = 40,
    font = 'WenQuanYi Zen Hei',
    rotate = 0,
    background = 'white',
    colour = 'black',
    format = 'png',
    quality = 90,
    noise = 0,
  } = opts;
  const height = opts.height ?? Math.max(200, lines.length * fontSize * 2 + 80);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="${background}"/>
    <g transform="rotate(${rotate} ${width / 2} ${height / 2})">
    ${lines.map((l, i) => `<text x="40" y="${80 + i * fontSize * 2}" font-family="${font}" font-size="${fontSize}" fill="${colour}">${escape(l)}</text>`).join('\n')}
    </g></svg>`;
  let img = sharp(Buffer.from(svg)).removeAlpha();
  if (noise > 0) {
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    let s = 12345;
    for (let i = 0; i < data.length; i++) {
      // Box–Muller from a seeded LCG: the same noise every run.
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const u = (s + 1) / 0x80000001;
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const v = (s + 1) / 0x80000001;
      data[i] = Math.max(0, Math.min(255, data[i]! + noise * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)));
    }
    img = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  }
  return format === 'jpeg' ? img.jpeg({ quality }).toBuffer() : img.png().toBuffer();
}
