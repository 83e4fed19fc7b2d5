/**
 * Dates in Chinese queries: 去年夏天的海边, 2023年国庆, 上个月, 春节, 周末, 昨天 become a capture-date range,
 * relative to now in the caller's time zone, and the rest of the query is searched. A phrase that is not
 * understood is simply searched: a query is never refused for it.
 */

export interface QueryDates {
  /** The words that were read as a date, as written. */
  phrase: string;
  from: Date;
  to: Date;
}

/** Chinese New Year's day (正月初一); the other lunar holidays follow from their own tables. Years covered: 2015–2030. */
const SPRING_FESTIVAL: Record<number, string> = {
  2015: '02-19',
  2016: '02-08',
  2017: '01-28',
  2018: '02-16',
  2019: '02-05',
  2020: '01-25',
  2021: '02-12',
  2022: '02-01',
  2023: '01-22',
  2024: '02-10',
  2025: '01-29',
  2026: '02-17',
  2027: '02-06',
  2028: '01-26',
  2029: '02-13',
  2030: '02-03',
};
const MID_AUTUMN: Record<number, string> = {
  2015: '09-27',
  2016: '09-15',
  2017: '10-04',
  2018: '09-24',
  2019: '09-13',
  2020: '10-01',
  2021: '09-21',
  2022: '09-10',
  2023: '09-29',
  2024: '09-17',
  2025: '10-06',
  2026: '09-25',
  2027: '09-15',
  2028: '10-03',
  2029: '09-22',
  2030: '09-12',
};
const DRAGON_BOAT: Record<number, string> = {
  2015: '06-20',
  2016: '06-09',
  2017: '05-30',
  2018: '06-18',
  2019: '06-07',
  2020: '06-25',
  2021: '06-14',
  2022: '06-03',
  2023: '06-22',
  2024: '06-10',
  2025: '05-31',
  2026: '06-19',
  2027: '06-09',
  2028: '05-28',
  2029: '06-16',
  2030: '06-05',
};

/** A calendar day: year, month 1–12, day. */
type Day = [number, number, number];
/** First and last calendar day of a stretch, both included. */
type Span = [Day, Day];

const addDays = ([y, m, d]: Day, n: number): Day => {
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
};
const lastOfMonth = (y: number, m: number): Day => addDays([m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1], -1);
const dayOfWeek = ([y, m, d]: Day) => new Date(Date.UTC(y, m - 1, d)).getUTCDay();
const before = (a: Day, b: Day) => (a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2]);

function lunar(table: Record<number, string>, year: number, from: number, to: number): Span | null {
  const md = table[year];
  if (!md) return null;
  const [m, d] = md.split('-').map(Number) as [number, number];
  return [addDays([year, m, d], from), addDays([year, m, d], to)];
}

/** Each holiday's days in a year (the days off around it, where there is a custom). */
const HOLIDAYS: [RegExp, (year: number) => Span | null][] = [
  [/春节|过年|大年初一/, (y) => lunar(SPRING_FESTIVAL, y, -1, 6)],
  [/除夕|年三十/, (y) => lunar(SPRING_FESTIVAL, y, -1, -1)],
  [/元宵节?/, (y) => lunar(SPRING_FESTIVAL, y, 14, 14)],
  [/中秋节?/, (y) => lunar(MID_AUTUMN, y, -1, 1)],
  [/端午节?/, (y) => lunar(DRAGON_BOAT, y, -1, 1)],
  [
    /国庆节?|十一黄金周/,
    (y) => [
      [y, 10, 1],
      [y, 10, 7],
    ],
  ],
  [
    /元旦/,
    (y) => [
      [y, 1, 1],
      [y, 1, 1],
    ],
  ],
  [
    /清明节?/,
    (y) => [
      [y, 4, 4],
      [y, 4, 6],
    ],
  ],
  [
    /五一|劳动节/,
    (y) => [
      [y, 5, 1],
      [y, 5, 5],
    ],
  ],
  [
    /圣诞节?/,
    (y) => [
      [y, 12, 24],
      [y, 12, 25],
    ],
  ],
  [
    /情人节/,
    (y) => [
      [y, 2, 14],
      [y, 2, 14],
    ],
  ],
];

const SEASONS: [RegExp, (year: number) => Span][] = [
  [/春天|春季/, (y) => [[y, 3, 1], lastOfMonth(y, 5)]],
  [/夏天|夏季|暑假/, (y) => [[y, 6, 1], lastOfMonth(y, 8)]],
  [/秋天|秋季/, (y) => [[y, 9, 1], lastOfMonth(y, 11)]],
  [/冬天|冬季|寒假/, (y) => [[y, 12, 1], lastOfMonth(y + 1, 2)]],
];

const NUMERALS: Record<string, number> = { 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10, 十一: 11, 十二: 12 };
const monthNumber = (s: string) => (/^\d+$/.test(s) ? Number(s) : NUMERALS[s]);

/** The year a phrase names (2023年, 去年, 今年, 前年), and the text it left. */
function yearOf(text: string, today: Day): { year: number | null; rest: string; phrase: string } {
  const m = text.match(/(20\d\d|19\d\d)年|去年|今年|前年|明年/);
  if (!m) return { year: null, rest: text, phrase: '' };
  const year = m[1] ? Number(m[1]) : today[0] + ({ 去年: -1, 今年: 0, 前年: -2, 明年: 1 } as Record<string, number>)[m[0]]!;
  return { year, rest: text.replace(m[0], ' '), phrase: m[0] };
}

/** The most recent stretch (this year's when it has begun, else last year's) when the query names no year. */
function recent(make: (year: number) => Span | null, today: Day): Span | null {
  const now = make(today[0]);
  return now && !before(today, now[0]) ? now : make(today[0] - 1);
}

/** The calendar day of `now` in `timeZone`. */
export function localDay(now: Date, timeZone: string): Day {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return [get('year'), get('month'), get('day')];
}

/** The instant a calendar day begins in `timeZone`. */
function startOf([y, m, d]: Day, timeZone: string): Date {
  const guess = Date.UTC(y, m - 1, d);
  // The zone's offset at that moment, from how the instant reads there (twice: the offset may change that day).
  let t = guess;
  for (let i = 0; i < 2; i++) {
    const [ly, lm, ld] = localDay(new Date(t), timeZone);
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(t));
    const hm = Number(parts.find((p) => p.type === 'hour')!.value) * 60 + Number(parts.find((p) => p.type === 'minute')!.value);
    const localMs = Date.UTC(ly, lm - 1, ld) + hm * 60_000;
    t = guess - (localMs - t);
  }
  return new Date(t);
}

/** Reads one date phrase in `query`; returns it with its range, and the query without it. */
export function parseQueryDates(query: string, now: Date, timeZone: string): { text: string; dates: QueryDates | null } {
  const today = localDay(now, timeZone);
  const found = (span: Span, phrase: string, rest: string) => ({
    text: rest.replace(/^[的\s]+|[的\s]+$/g, '').replace(/\s+/g, ' '),
    dates: { phrase, from: startOf(span[0], timeZone), to: new Date(startOf(addDays(span[1], 1), timeZone).getTime() - 1) },
  });
  const relative: [RegExp, () => Span][] = [
    [/今天/, () => [today, today]],
    [/昨天/, () => [addDays(today, -1), addDays(today, -1)]],
    [/前天/, () => [addDays(today, -2), addDays(today, -2)]],
    [/上个?周末/, () => lastWeekend(addDays(today, -7))],
    [/这个?周末|周末/, () => lastWeekend(today)],
    [/上个?(?:星期|周|礼拜)/, () => [addDays(monday(today), -7), addDays(monday(today), -1)]],
    [/这个?(?:星期|周|礼拜)|本周/, () => [monday(today), today]],
    [
      /上个?月/,
      () => (today[1] === 1 ? [[today[0] - 1, 12, 1], lastOfMonth(today[0] - 1, 12)] : [[today[0], today[1] - 1, 1], lastOfMonth(today[0], today[1] - 1)]),
    ],
    [/这个?月|本月/, () => [[today[0], today[1], 1], today]],
  ];
  for (const [re, span] of relative) {
    const m = query.match(re);
    if (m) return found(span(), m[0], query.replace(m[0], ' '));
  }
  const { year, rest, phrase: yearPhrase } = yearOf(query, today);
  const named = (re: RegExp, make: (y: number) => Span | null) => {
    const m = rest.match(re);
    if (!m) return null;
    const span = year !== null ? make(year) : recent(make, today);
    return span ? found(span, `${yearPhrase}${m[0]}`, rest.replace(m[0], ' ')) : null;
  };
  for (const [re, make] of [...HOLIDAYS, ...SEASONS]) {
    const hit = named(re, make);
    if (hit) return hit;
  }
  const month = rest.match(/(\d{1,2}|十[一二]?|[一二三四五六七八九])月(?:(\d{1,2})[日号])?/);
  if (month) {
    const mo = monthNumber(month[1]!);
    if (mo && mo >= 1 && mo <= 12) {
      const day = month[2] ? Number(month[2]) : null;
      const make = (y: number): Span =>
        day
          ? [
              [y, mo, day],
              [y, mo, day],
            ]
          : [[y, mo, 1], lastOfMonth(y, mo)];
      const span = year !== null ? make(year) : recent(make, today)!;
      return found(span, `${yearPhrase}${month[0]}`, rest.replace(month[0], ' '));
    }
  }
  if (year !== null && yearPhrase)
    return found(
      [
        [year, 1, 1],
        [year, 12, 31],
      ],
      yearPhrase,
      rest,
    );
  return { text: query, dates: null };
}

function monday(d: Day): Day {
  return addDays(d, -((dayOfWeek(d) + 6) % 7));
}

/** The weekend this day is in, or the last one before it. */
function lastWeekend(d: Day): Span {
  const dow = dayOfWeek(d);
  const saturday = addDays(d, dow === 6 ? 0 : dow === 0 ? -1 : -(dow + 1));
  return [saturday, addDays(saturday, 1)];
}
