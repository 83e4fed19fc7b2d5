import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { colourImage } from './images';

const FORMATS = ['png', 'jpeg', 'webp'] as const;

/** Writes one image per test colour under `dir` (some in a sub-folder, mixed formats); returns colour -> path. */
export async function writeColourLibrary(dir: string, seed = 0): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [i, c] of COLOURS.entries()) {
    const format = FORMATS[i % FORMATS.length]!;
    const sub = i % 2 ? path.join(dir, 'nested', 'deeper') : dir;
    await mkdir(sub, { recursive: true });
    const file = path.join(sub, `${c.key}.${format === 'jpeg' ? 'jpg' : format}`);
    await writeFile(file, await colourImage(c.key, { format, seed: seed * 100 + i }));
    out.set(c.key, file);
  }
  return out;
}

/** A PNG whose header claims a huge canvas: a decompression bomb must be refused from the header alone. */
export function pngBombHeader(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
