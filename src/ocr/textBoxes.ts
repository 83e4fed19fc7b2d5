/**
 * Differentiable-binarisation post-processing (the "DB" of PP-OCR's detector) without OpenCV: the
 * probability map is thresholded, connected regions are found by flood fill, and each region's
 * bounding box is grown by the unclip distance (area × ratio / perimeter), as PaddleOCR does for
 * its polygons. Boxes are axis-aligned: screenshots, receipts and signs are upright; strongly
 * rotated text is read less well (the benchmark measures it).
 */
export interface BoxOptions {
  /** Pixel probability above which a pixel is text. */
  threshold: number;
  /** Mean probability a region needs to count as text. */
  boxThreshold: number;
  unclipRatio: number;
  /** Regions with a shorter side below this (in map pixels) are noise. */
  minSide: number;
}

export const DEFAULT_BOX_OPTIONS: BoxOptions = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, minSide: 3 };

export interface TextBox {
  left: number;
  top: number;
  right: number;
  bottom: number;
  score: number;
}

export function textBoxes(prob: Float32Array, width: number, height: number, opts: BoxOptions = DEFAULT_BOX_OPTIONS): TextBox[] {
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const boxes: TextBox[] = [];
  for (let start = 0; start < prob.length; start++) {
    if (seen[start] || prob[start]! <= opts.threshold) continue;
    let left = width;
    let top = height;
    let right = -1;
    let bottom = -1;
    let sum = 0;
    let count = 0;
    let sp = 0;
    stack[sp++] = start;
    seen[start] = 1;
    while (sp > 0) {
      const p = stack[--sp]!;
      const x = p % width;
      const y = (p - x) / width;
      sum += prob[p]!;
      count++;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (!seen[q] && prob[q]! > opts.threshold) {
            seen[q] = 1;
            stack[sp++] = q;
          }
        }
      }
    }
    const w = right - left + 1;
    const h = bottom - top + 1;
    const score = sum / count;
    if (Math.min(w, h) < opts.minSide || score < opts.boxThreshold) continue;
    const grow = (w * h * opts.unclipRatio) / (2 * (w + h));
    boxes.push({
      left: Math.max(0, left - grow),
      top: Math.max(0, top - grow),
      right: Math.min(width, right + 1 + grow),
      bottom: Math.min(height, bottom + 1 + grow),
      score,
    });
  }
  // Reading order: top to bottom, then left to right within a line.
  return boxes.sort((a, b) => (Math.abs(a.top - b.top) < Math.min(a.bottom - a.top, b.bottom - b.top) / 2 ? a.left - b.left : a.top - b.top));
}
