/**
 * A phone library's mix for OCR's cost: photos without text (scenes, and textures that look like print to a
 * detector: brick, fences, foliage) and photos with text (chat screenshots, receipts, menus, signs in a scene at
 * several text sizes), written here. Synthetic: no real photos can be had on these machines, so what a real camera
 * roll's textures cost the glimpse is not measured.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { textImage, writePhotoLikeJpegs, writeSceneJpegs } from './fixtures';

/** What is printed: receipts, signs, messages, tickets, menus, notices. */
export const TEXTS: { name: string; lines: string[] }[] = [
  { name: 'receipt', lines: ['老北京炸酱面馆', '发票金额：128元', '2024-05-01 12:30'] },
  { name: 'sign', lines: ['北京西站出口', '地铁7号线'] },
  { name: 'sms', lines: ['【银行】您的验证码是384912', '请勿泄露给他人'] },
  { name: 'ticket', lines: ['北京南站 G123 上海虹桥', '二等座 07车12F号', '票价：553.0元'] },
  { name: 'menu', lines: ['宫保鸡丁 38元', '麻婆豆腐 26元', '西红柿炒鸡蛋 22元'] },
  { name: 'notice', lines: ['停车场入口', '请出示停车卡', '营业时间 8:00-22:00'] },
];

export interface MixPhoto {
  file: string;
  kind: string;
  /** The printed lines; none for a photo without text. */
  lines: string[];
}

function mulberry(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Brick walls, fences and leaves: many small edges in rows, what a text detector is most easily fooled by. */
async function textureJpeg(kind: 'brick' | 'fence' | 'leaves', width: number, height: number, rand: () => number): Promise<Buffer> {
  const c = () => Math.floor(rand() * 200 + 30);
  let shapes = '';
  if (kind === 'brick') {
    for (let y = 0, row = 0; y < height; y += 36, row++)
      for (let x = row % 2 ? -40 : 0; x < width; x += 82)
        shapes += `<rect x="${x}" y="${y}" width="76" height="30" fill="rgb(${c()},${Math.floor(c() / 2)},${Math.floor(c() / 3)})"/>`;
  } else if (kind === 'fence') {
    for (let x = 0; x < width; x += 24) shapes += `<rect x="${x}" y="${height * 0.3}" width="12" height="${height * 0.6}" fill="rgb(${c()},${c()},${c()})"/>`;
  } else {
    for (let i = 0; i < 900; i++)
      shapes += `<ellipse cx="${rand() * width}" cy="${rand() * height}" rx="${6 + rand() * 14}" ry="${3 + rand() * 6}" transform="rotate(${rand() * 180} 0 0)" fill="rgb(${Math.floor(c() / 3)},${c()},${Math.floor(c() / 3)})"/>`;
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="rgb(${c()},${c()},${c()})"/>${shapes}</svg>`;
  return sharp(Buffer.from(svg)).blur(0.8).jpeg({ quality: 88 }).toBuffer();
}

/** Photos without text: a third scenes, a third textures, a third grain (blurred noise). */
export async function writeTextFreePhotos(dir: string, n: number, width: number, height: number, seed = 1): Promise<MixPhoto[]> {
  await mkdir(dir, { recursive: true });
  const scenes = await writeSceneJpegs(path.join(dir, 'scenes'), Math.ceil(n / 3), width, height, seed);
  const grain = await writePhotoLikeJpegs(path.join(dir, 'grain'), Math.floor(n / 3), width, height, seed);
  const rand = mulberry(seed);
  const textures: MixPhoto[] = [];
  for (let i = 0; textures.length < n - scenes.length - grain.length; i++) {
    const kind = (['brick', 'fence', 'leaves'] as const)[i % 3]!;
    const file = path.join(dir, `texture-${seed}-${i}.jpg`);
    await writeFile(file, await textureJpeg(kind, width, height, rand));
    textures.push({ file, kind, lines: [] });
  }
  return [...scenes.map((file) => ({ file, kind: 'scene', lines: [] })), ...grain.map((file) => ({ file, kind: 'grain', lines: [] })), ...textures];
}

/** A sign on a scene: a white board with the lines at `fontSize` px, somewhere in the picture. */
async function signInScene(scene: string, lines: readonly string[], fontSize: number, rand: () => number): Promise<Buffer> {
  const photo = sharp(scene);
  const { width = 1600, height = 1200 } = await photo.metadata();
  const sign = await textImage(lines, { width: Math.min(width - 40, Math.round(fontSize * 14)), fontSize, background: '#f4f1e8', colour: '#202020' });
  const meta = await sharp(sign).metadata();
  const left = Math.floor(rand() * Math.max(1, width - meta.width - 20));
  const top = Math.floor(rand() * Math.max(1, height - meta.height - 20));
  return photo
    .composite([{ input: sign, left, top }])
    .jpeg({ quality: 88 })
    .toBuffer();
}

/**
 * Photos with text, in turn: a chat screenshot (1170 × 2532, 40 px), a receipt (1080 × 1920 on a grey table,
 * 30 px), a menu (1200 × 1600, 36 px), and a sign in a scene with its text 24, 36, 56 or 90 px tall.
 */
export async function writeTextPhotos(dir: string, n: number, seed = 1): Promise<MixPhoto[]> {
  await mkdir(dir, { recursive: true });
  const rand = mulberry(seed * 31);
  const scenes = await writeSceneJpegs(path.join(dir, 'scenes'), Math.ceil(n / 4), 1600, 1200, seed + 100);
  const out: MixPhoto[] = [];
  for (let i = 0; i < n; i++) {
    const t = TEXTS[i % TEXTS.length]!;
    const other = TEXTS[(i + 1) % TEXTS.length]!;
    const kind = (['screenshot', 'receipt', 'menu', 'sign'] as const)[i % 4]!;
    const file = path.join(dir, `${kind}-${seed}-${i}.jpg`);
    let lines: string[];
    let data: Buffer;
    if (kind === 'screenshot') {
      lines = [...t.lines, ...other.lines];
      const png = await textImage(lines, { width: 1170, height: 2532, fontSize: 40, background: '#ededed', colour: '#111111' });
      data = await sharp(png).jpeg({ quality: 92 }).toBuffer();
    } else if (kind === 'receipt' || kind === 'menu') {
      lines = kind === 'menu' ? [...TEXTS[4]!.lines, ...t.lines] : t.lines;
      const [w, h, size] = kind === 'receipt' ? [1080, 1920, 30] : [1200, 1600, 36];
      const paper = await textImage(lines, { width: w - 160, height: h - 400, fontSize: size, noise: 6 });
      data = await sharp({ create: { width: w, height: h, channels: 3, background: '#6b6b6b' } })
        .composite([{ input: paper, left: 80, top: 200 }])
        .jpeg({ quality: 85 })
        .toBuffer();
    } else {
      lines = t.lines;
      data = await signInScene(scenes[Math.floor(i / 4) % scenes.length]!, lines, [24, 36, 56, 90][Math.floor(i / 4) % 4]!, rand);
    }
    await writeFile(file, data);
    out.push({ file, kind: kind === 'sign' ? `sign ${[24, 36, 56, 90][Math.floor(i / 4) % 4]} px` : kind, lines });
  }
  return out;
}
