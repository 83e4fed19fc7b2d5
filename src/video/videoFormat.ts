/** Containers phones and cameras write video in; sniffed from the bytes, not trusted from names. */
export const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.webm', '.mkv', '.3gp']);

const MP4_BRANDS = new Set([
  'isom',
  'iso2',
  'iso4',
  'iso5',
  'iso6',
  'mp41',
  'mp42',
  'avc1',
  'M4V ',
  'M4VH',
  '3gp4',
  '3gp5',
  '3gp6',
  '3g2a',
  'MSNV',
  'dash',
  'mmp4',
  'f4v ',
]);

/** The video MIME type of these bytes, or null when they are not a video container we read. */
export function sniffVideo(data: Buffer): string | null {
  if (data.length < 12) return null;
  const box = data.toString('latin1', 4, 8);
  if (box === 'ftyp') {
    const brand = data.toString('latin1', 8, 12);
    if (brand === 'qt  ') return 'video/quicktime';
    return MP4_BRANDS.has(brand) ? 'video/mp4' : null;
  }
  // Old QuickTime files start straight with their atoms.
  if (['moov', 'mdat', 'wide', 'free', 'skip'].includes(box)) return 'video/quicktime';
  if (data.readUInt32BE(0) === 0x1a45dfa3) return data.subarray(0, 64).includes('webm', 0, 'latin1') ? 'video/webm' : 'video/x-matroska';
  return null;
}
