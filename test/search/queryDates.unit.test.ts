import { parseQueryDates } from '../../src/search/queryDates';

const NOW = new Date('2026-12-06T03:00:00Z'); // Sunday 6 December 2026, 11:00 in Shanghai
const TZ = 'Asia/Shanghai';
const range = (q: string, now = NOW, tz = TZ) => {
  const { text, dates } = parseQueryDates(q, now, tz);
  return dates ? { text, phrase: dates.phrase, from: dates.from.toISOString(), to: dates.to.toISOString() } : { text, phrase: null };
};
/** A local day's start in Shanghai (UTC+8) as an instant. */
const cn = (ymd: string) => new Date(`${ymd}T00:00:00+08:00`).toISOString();
const cnEnd = (ymd: string) => new Date(new Date(`${ymd}T00:00:00+08:00`).getTime() + 86_400_000 - 1).toISOString();

describe('dates in Chinese queries', () => {
  test('relative days, weeks and months, in the caller’s time zone', () => {
    expect(range('昨天的猫')).toEqual({ text: '猫', phrase: '昨天', from: cn('2026-12-05'), to: cnEnd('2026-12-05') });
    expect(range('周末')).toMatchObject({ text: '', from: cn('2026-12-05'), to: cnEnd('2026-12-06') });
    expect(range('上周末 公园')).toMatchObject({ text: '公园', from: cn('2026-11-28'), to: cnEnd('2026-11-29') });
    expect(range('上个月的发票')).toMatchObject({ text: '发票', from: cn('2026-11-01'), to: cnEnd('2026-11-30') });
    expect(range('上周')).toMatchObject({ from: cn('2026-11-23'), to: cnEnd('2026-11-29') });
    // Late on 5 December in New York is already the 6th in Shanghai: "yesterday" depends on where the caller is.
    expect(range('昨天', NOW, 'America/New_York')).toMatchObject({ from: new Date('2026-12-04T05:00:00Z').toISOString() });
  });

  test('years, seasons and months: named, or the most recent one', () => {
    expect(range('去年夏天的海边')).toEqual({ text: '海边', phrase: '去年夏天', from: cn('2025-06-01'), to: cnEnd('2025-08-31') });
    expect(range('2023年冬天')).toMatchObject({ from: cn('2023-12-01'), to: cnEnd('2024-02-29') });
    expect(range('夏天的西瓜')).toMatchObject({ text: '西瓜', from: cn('2026-06-01') });
    expect(range('2024年5月')).toMatchObject({ from: cn('2024-05-01'), to: cnEnd('2024-05-31') });
    expect(range('三月的樱花')).toMatchObject({ text: '樱花', from: cn('2026-03-01'), to: cnEnd('2026-03-31') });
    expect(range('12月25日')).toMatchObject({ from: cn('2025-12-25'), to: cnEnd('2025-12-25') }); // this year's has not come
    expect(range('去年')).toMatchObject({ from: cn('2025-01-01'), to: cnEnd('2025-12-31') });
  });

  test('Chinese public holidays, lunar ones from their tables', () => {
    expect(range('2023年国庆')).toMatchObject({ phrase: '2023年国庆', from: cn('2023-10-01'), to: cnEnd('2023-10-07') });
    expect(range('春节')).toMatchObject({ from: cn('2026-02-16'), to: cnEnd('2026-02-23') });
    expect(range('去年春节的饺子')).toMatchObject({ text: '饺子', from: cn('2025-01-28'), to: cnEnd('2025-02-04') });
    expect(range('2024年中秋')).toMatchObject({ from: cn('2024-09-16'), to: cnEnd('2024-09-18') });
    expect(range('端午节的粽子')).toMatchObject({ text: '粽子', from: cn('2026-06-18'), to: cnEnd('2026-06-20') });
  });

  test('a query with no date is searched as it is; a holiday of a year the tables lack is searched as words within that year', () => {
    expect(range('海边的日落')).toEqual({ text: '海边的日落', phrase: null });
    expect(range('2040年春节')).toMatchObject({ text: '春节', phrase: '2040年', from: cn('2040-01-01'), to: cnEnd('2040-12-31') });
  });
});
