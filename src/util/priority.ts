import { readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/**
 * Lowers the calling thread's priority (Linux schedules threads, and a thread's nice value is its own
 * and passes to the threads it creates: called before onnxruntime creates its pool, it covers those
 * too). False where that is not possible.
 */
export function lowerThreadPriority(nice: number): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid)) return false;
    os.setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

/** The process's threads now, from /proc; null where there is none to read (not Linux). */
function threadIds(): number[] | null {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return null;
  }
}

/** Sets each thread's nice value; one that has exited meanwhile is no reason to fail. */
function setNice(tids: readonly number[], nice: number): boolean {
  try {
    for (const tid of tids) {
      try {
        os.setPriority(tid, nice);
      } catch (e) {
        if ((e as { info?: { code?: string } }).info?.code !== 'ESRCH') throw e;
      }
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Lowers every thread this process has so far (Node's own: V8's platform workers, libuv's pool once
 * started), so the threads they start later inherit it too. False where that is not possible.
 */
export function lowerProcessPriority(nice: number): boolean {
  const tids = threadIds();
  return tids !== null && setNice(tids, nice);
}

let helperThreads: number[] | null = null;

/**
 * Sets the nice value of Node's helper threads: V8's platform workers (garbage collection, compilation)
 * and libuv's pool if it has started. During an ingest they spend their time mostly on ingest's garbage,
 * and at the searches' priority they shared the cores with a search's encoder (measured: about 1.5 s of
 * CPU per 9 s of int8 ingest; the text tower's p95 rose from 27 to 64 ms). The threads are the ones the
 * process has at the first call, the main thread excepted; later calls set those same threads again, so a
 * thread started since — a search's encoder, which takes the main thread's priority — is never touched.
 * False where that is not possible (not Linux, or raising the priority again without the right to).
 */
export function setHelperThreadsNice(nice: number): boolean {
  helperThreads ??= threadIds()?.filter((tid) => tid !== process.pid) ?? null;
  return helperThreads !== null && setNice(helperThreads, nice);
}
