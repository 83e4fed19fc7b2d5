import { ApiError, type Hit } from './api';

export const fileName = (source: string) => source.split(/[\\/]/).pop() ?? source;
export const message = (e: unknown) => (e instanceof ApiError && e.status === 401 ? '需要有效的 API 密钥 (API key required)' : (e as Error).message);

/** 0:04, 1:02:03 */
export function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return `${h ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(sec).padStart(2, '0')}`;
}

type Place = NonNullable<Hit['place']>;

/** Where a photo was taken, most specific first, in Chinese where there is a Chinese name: 杭州市 · 浙江省 · 中国. */
export function placeLabel(place: Place): string {
  const parts = [place.city, place.province, place.country].flatMap((p) => (p ? [p.zh ?? p.en] : []));
  return [...new Set(parts)].join(' · ');
}
