/** A name in Chinese and in English; Chinese is null where the dataset has none (outside China, below the country). */
export interface PlaceName {
  zh: string | null;
  en: string;
}

/** Where a photo was taken, by offline reverse geocoding of its GPS position. */
export interface Place {
  country: PlaceName & { code: string };
  /** The province (China only: the dataset names no first-level divisions elsewhere). */
  province: PlaceName | null;
  city: PlaceName | null;
}

/** 北京市 → 北京, 广西壮族自治区 → 广西, 内蒙古自治区 → 内蒙古: what people type. */
export function shortChineseName(name: string): string {
  const short = name.replace(/(壮族|回族|维吾尔|藏族)?(自治区|特别行政区|省|市)$/, '');
  return short.length >= 2 ? short : name;
}

/** A filter value as stored and compared: English in lower case without accents (ürümqi → urumqi), Chinese as written. */
export const placeKey = (name: string): string =>
  name
    .trim()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();

/**
 * Every name a place filter may use for this place, at every level: the Chinese name in full and short, and the
 * English name (北京市, 北京, beijing, 中国, china, …). Stored on the image and in its vector payload.
 */
export function placeNames(place: Place | null): string[] {
  if (!place) return [];
  const names = new Set<string>();
  for (const level of [place.country, place.province, place.city]) {
    if (!level) continue;
    names.add(placeKey(level.en));
    if (level.zh) {
      names.add(level.zh);
      names.add(shortChineseName(level.zh));
    }
  }
  return [...names];
}
