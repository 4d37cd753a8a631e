// How the supervisor's processes are stopped, shared by the supervisor and its
// watchdog: the order (the apps, then Redis), the bounds, and the messages the
// supervisor sends the watchdog.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long an app (API, worker) may take to stop after SIGTERM before it is killed. */
export const STOP_GRACE_MS = 15_000;
/** How long redis-server may take to stop after SIGTERM (it flushes its AOF) before it is killed. */
export const REDIS_STOP_MS = 10_000;

/** A process the watchdog stops if the supervisor dies: apps first, then Redis. */
export interface WatchedProcess {
  pid: number;
  role: 'app' | 'redis';
  /** Text its command line contains, so that a pid reused by another process is never signalled. */
  marker: string;
}

/** From supervisor to watchdog: one more process to watch, or "I stopped everything myself". */
export type WatchdogMessage = { watch: WatchedProcess } | { done: true };

/** Whether `pid` is a live process (a zombie counts as gone) whose command line contains `marker`. */
export function running(pid: number, marker?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const proc = `/proc/${pid}`;
  if (!existsSync(proc)) return true; // no procfs (macOS): trust the pid
  try {
    const stat = readFileSync(`${proc}/stat`, 'utf8');
    // The state follows the command name in parentheses, which may itself hold spaces or parentheses.
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return marker === undefined || readFileSync(`${proc}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false; // exited between the checks
  }
}

/** SIGTERM to every process, SIGKILL to those still running after `graceMs`; resolves once all are gone. */
export async function stopProcesses(watched: readonly WatchedProcess[], graceMs: number): Promise<void> {
  const live = watched.filter((p) => running(p.pid, p.marker));
  for (const p of live) signal(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (live.some((p) => running(p.pid, p.marker)) && Date.now() < deadline) await sleep(50);
  for (const p of live) if (running(p.pid, p.marker)) signal(p.pid, 'SIGKILL');
  while (live.some((p) => running(p.pid, p.marker))) await sleep(20);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {}
}
