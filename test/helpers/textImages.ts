import sharp from 'sharp';

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
