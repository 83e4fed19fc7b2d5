/**
 * A DNG-like TIFF as cameras write them: IFD0 holds the full-size preview as a JPEG strip (reduced-resolution
 * subfile, compression 7) with the camera's tags, and a SubIFD holds the "raw" data (a tiny uncompressed
 * strip here). ExifTool reads the preview from it as PreviewImage, as from a camera's DNG.
 */
export function dngWithPreview(
  preview: Buffer | null,
  tags: { make: string; model: string; orientation?: number; width: number; height: number; takenAt?: string },
): Buffer {
  type Entry = [tag: number, type: number, values: number[] | string];
  const ascii = (s: string) => `${s}\0`;
  const rawBytes = Buffer.alloc(16 * 16 * 2, 0x40);
  // Layout: header (8) | IFD0 | IFD1 | strings and data.
  const ifd0: Entry[] = [
    [0x00fe, 4, [1]], // NewSubfileType: reduced-resolution image (the preview)
    [0x0100, 4, [tags.width]],
    [0x0101, 4, [tags.height]],
    [0x0102, 3, [8, 8, 8]],
    [0x0103, 3, [preview ? 7 : 1]], // JPEG
    [0x0106, 3, [6]], // YCbCr
    [0x010f, 2, ascii(tags.make)],
    [0x0110, 2, ascii(tags.model)],
    [0x0111, 4, [0]], // StripOffsets: patched below
    [0x0112, 3, [tags.orientation ?? 1]],
    [0x0115, 3, [3]],
    [0x0117, 4, [preview?.length ?? 0]],
    [0x014a, 4, [0]], // SubIFDs: patched below
    [0xc612, 1, [1, 4, 0, 0]], // DNGVersion 1.4
    ...(tags.takenAt ? [[0x9003, 2, `${tags.takenAt}\0`] as Entry] : []), // DateTimeOriginal, "YYYY:MM:DD hh:mm:ss"
  ];
  const ifd1: Entry[] = [
    [0x00fe, 4, [0]],
    [0x0100, 4, [16]],
    [0x0101, 4, [16]],
    [0x0102, 3, [16]],
    [0x0103, 3, [1]],
    [0x0106, 3, [32803]], // CFA
    [0x0111, 4, [0]],
    [0x0115, 3, [1]],
    [0x0117, 4, [rawBytes.length]],
  ];
  const size = (t: number) => ({ 1: 1, 2: 1, 3: 2, 4: 4 })[t] ?? 1;
  const ifdLength = (e: Entry[]) => 2 + e.length * 12 + 4;
  const ifd0At = 8;
  const ifd1At = ifd0At + ifdLength(ifd0);
  let dataAt = ifd1At + ifdLength(ifd1);
  const out: Buffer[] = [];
  const extra: Buffer[] = [];
  const place = (data: Buffer) => {
    const at = dataAt;
    extra.push(data);
    dataAt += data.length + (data.length % 2);
    if (data.length % 2) extra.push(Buffer.alloc(1));
    return at;
  };
  const rawAt = place(rawBytes);
  const previewAt = preview ? place(preview) : 0;
  ifd0.find((e) => e[0] === 0x0111)![2] = [previewAt];
  ifd0.find((e) => e[0] === 0x014a)![2] = [ifd1At];
  ifd1.find((e) => e[0] === 0x0111)![2] = [rawAt];
  const writeIfd = (entries: Entry[], next: number) => {
    const b = Buffer.alloc(ifdLength(entries));
    b.writeUInt16LE(entries.length, 0);
    entries
      .sort((a, c) => a[0] - c[0])
      .forEach(([tag, type, values], i) => {
        const at = 2 + i * 12;
        const bytes = typeof values === 'string' ? Buffer.from(values, 'latin1') : Buffer.alloc(values.length * size(type));
        if (typeof values !== 'string')
          values.forEach((v, k) => (type === 3 ? bytes.writeUInt16LE(v, k * 2) : type === 4 ? bytes.writeUInt32LE(v, k * 4) : bytes.writeUInt8(v, k)));
        b.writeUInt16LE(tag, at);
        b.writeUInt16LE(type, at + 2);
        b.writeUInt32LE(typeof values === 'string' ? bytes.length : values.length, at + 4);
        if (bytes.length <= 4) bytes.copy(b, at + 8);
        else b.writeUInt32LE(place(bytes), at + 8);
      });
    b.writeUInt32LE(next, b.length - 4);
    return b;
  };
  const header = Buffer.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]);
  out.push(header, writeIfd(ifd0, 0), writeIfd(ifd1, 0));
  return Buffer.concat([...out, ...extra]);
}
