/** One line of text found in an image, in the image's own pixel coordinates (after EXIF rotation). */
export interface OcrLine {
  text: string;
  /** Mean probability of the recognised characters, 0..1. */
  confidence: number;
  /** [left, top, right, bottom]. */
  box: [number, number, number, number];
}

/** Raw RGB pixels, 3 channels, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Runs one model inference when the caller's scheduler allows (queries go first). */
export type Schedule = <T>(run: () => Promise<T>) => Promise<T>;

/** The OCR port: reads the lines of text in an image. */
export interface TextReader {
  /** name@version of the models, recorded with every result. */
  readonly key: string;
  read(image: RgbImage, schedule?: Schedule): Promise<OcrLine[]>;
  close(): Promise<void>;
}
