import type { Sharp } from 'sharp';

/**
 * EXIF orientation (1-8) applied to pixels that carry no EXIF of their own (decoded elsewhere, handed to
 * sharp raw), as sharp's rotate() does for a JPEG. sharp mirrors before it rotates, hence 5 and 7.
 */
export function applyOrientation(image: Sharp, orientation: number): Sharp {
  switch (orientation) {
    case 2:
      return image.flop();
    case 3:
      return image.rotate(180);
    case 4:
      return image.flip();
    case 5:
      return image.rotate(270).flop();
    case 6:
      return image.rotate(90);
    case 7:
      return image.rotate(90).flop();
    case 8:
      return image.rotate(270);
    default:
      return image;
  }
}

/** Orientations 5-8 turn the image a quarter: width and height swap. */
export function swapsSides(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}
