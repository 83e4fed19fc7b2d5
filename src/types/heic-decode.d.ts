declare module 'heic-decode' {
  interface HeicImageData {
    width: number;
    height: number;
    /** RGBA, 8 bits a channel. */
    data: Uint8ClampedArray;
  }
  interface HeicDecode {
    (input: { buffer: Uint8Array }): Promise<HeicImageData>;
    all(input: { buffer: Uint8Array }): Promise<{ width: number; height: number; decode(): Promise<HeicImageData> }[] & { dispose(): void }>;
  }
  const decode: HeicDecode;
  export = decode;
}
