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

/**
 * Lowers every thread this process has so far (Node's own: V8's platform workers, libuv's pool once
 * started), so the threads they start later inherit it too. False where that is not possible.
 */
export function lowerProcessPriority(nice: number): boolean {
  try {
    for (const tid of readdirSync('/proc/self/task')) os.setPriority(Number(tid), nice);
    return true;
  } catch {
    return false;
  }
}
