import { prettyLine } from '../../src/util/logger';

describe('pretty logs: one readable line per event', () => {
  test('time, level, component, message and fields; a request as method, path, status and time', () => {
    const event = {
      level: 40,
      time: '2026-12-06T05:12:03.123Z',
      service: 'imagesearch',
      component: 'packs',
      msg: 'switched model pack',
      to: 'chinese-clip@abc',
      reindexJobId: null,
    };
    expect(prettyLine(JSON.stringify(event), false)).toBe('05:12:03 WARN  [packs] switched model pack to=chinese-clip@abc reindexJobId=null\n');
    const request = {
      level: 30,
      time: '2026-12-06T05:12:04.000Z',
      req: { method: 'POST', url: '/v1/search/text' },
      res: { statusCode: 200 },
      responseTime: 12,
      msg: 'request completed',
    };
    expect(prettyLine(JSON.stringify(request), false)).toBe('05:12:04 INFO  request completed POST /v1/search/text 200 12 ms\n');
  });

  test('an error keeps its stack below; text with spaces is quoted; a line that is not JSON passes as it is', () => {
    const line = prettyLine(
      JSON.stringify({
        level: 50,
        time: '2026-12-06T05:12:05.000Z',
        msg: 'request failed',
        err: { message: 'boom', stack: 'Error: boom\n    at x' },
        note: 'two words',
      }),
      false,
    );
    expect(line).toBe('05:12:05 ERROR request failed err="boom" note="two words"\n    Error: boom\n        at x\n');
    expect(prettyLine('plain text\n', false)).toBe('plain text\n');
  });
});
