import { ocrThreading } from '../../src/config/env';

describe("OCR's workers, their threads and their share of the encoder gate's slot", () => {
  test('by default two workers share the cores out, each run taking its threads’ share of a slot', () => {
    expect(ocrThreading(0, 0, 2)).toEqual({ ocrWorkers: 2, ocrThreads: 1, ocrShare: 0.5 });
    expect(ocrThreading(0, 0, 16)).toEqual({ ocrWorkers: 2, ocrThreads: 8, ocrShare: 0.5 });
    expect(ocrThreading(0, 0, 3)).toEqual({ ocrWorkers: 2, ocrThreads: 1, ocrShare: 1 / 3 });
    expect(ocrThreading(0, 0, 1)).toEqual({ ocrWorkers: 1, ocrThreads: 1, ocrShare: 1 });
  });

  test('set, they are taken as they are; more threads than cores take a whole slot', () => {
    expect(ocrThreading(1, 0, 2)).toEqual({ ocrWorkers: 1, ocrThreads: 2, ocrShare: 1 });
    expect(ocrThreading(4, 1, 16)).toEqual({ ocrWorkers: 4, ocrThreads: 1, ocrShare: 1 / 16 });
    expect(ocrThreading(0, 8, 2)).toEqual({ ocrWorkers: 2, ocrThreads: 8, ocrShare: 1 });
  });
});
