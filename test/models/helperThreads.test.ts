import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * In a process of its own: the nice values of a process's threads are process-wide state, and jest's
 * own threads must not be touched.
 */
const SCRIPT = `
const { Worker } = require('node:worker_threads');
const { setHelperThreadsNice } = require(${JSON.stringify(path.resolve(__dirname, '../../src/util/priority.ts'))});
const { threadNices } = require(${JSON.stringify(path.resolve(__dirname, '../helpers/proc.ts'))});
const nices = () => Object.fromEntries(threadNices());
const helpers = Object.keys(nices()).filter((tid) => tid !== String(process.pid));
const lowered = setHelperThreadsNice(17);
const afterLowering = nices();
const worker = new Worker('require("node:worker_threads").parentPort.postMessage(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop()); setTimeout(() => {}, 500)', { eval: true });
worker.once('message', (workerTid) => {
  const workerNice = nices()[workerTid];
  const raisedAgain = setHelperThreadsNice(0);
  const final = nices();
  console.log(JSON.stringify({ lowered, helpers, afterLowering, workerTid, workerNice, raisedAgain, final, main: String(process.pid) }));
  worker.terminate();
});
`;

describe("Node's helper threads run below searches", () => {
  test('threads the process had at the first call are set, the main thread and threads started later are not', () => {
    const out = JSON.parse(execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', SCRIPT], { encoding: 'utf8' })) as {
      lowered: boolean;
      helpers: string[];
      afterLowering: Record<string, number>;
      workerTid: string;
      workerNice: number;
      raisedAgain: boolean;
      final: Record<string, number>;
      main: string;
    };
    expect(out.lowered).toBe(true);
    // V8's platform workers at least.
    expect(out.helpers.length).toBeGreaterThanOrEqual(2);
    for (const tid of out.helpers) expect([tid, out.afterLowering[tid]]).toEqual([tid, 17]);
    expect(out.afterLowering[out.main]).toBe(0);
    // A worker started by the main thread afterwards (as a search's encoder is) keeps normal priority.
    expect(out.workerNice).toBe(0);
    // A later call sets the same threads again (root may raise them; the bench compares with and without).
    if (process.getuid?.() === 0) {
      expect(out.raisedAgain).toBe(true);
      for (const tid of out.helpers) expect(out.final[tid]).toBe(0);
    }
  });
});
