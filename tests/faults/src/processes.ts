// The real processes a scenario runs: the API (apps/api/dist/main.js) and
// workers (apps/worker/dist/main.js), spawned with node as `npm run start:api`
// and `npm run start:worker` run them, each on the Redis URL it is given (a
// private redis-server, or a partition proxy in front of it). Everything
// started through one `Processes` is killed by `killAll()`.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@crawlstream/redis-runner';

const apiMain = fileURLToPath(new URL('../../../apps/api/dist/main.js', import.meta.url));
const workerMain = fileURLToPath(new URL('../../../apps/worker/dist/main.js', import.meta.url));

/** How long a process may take to become ready. */
const READY_TIMEOUT_MS = 30_000;

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  /** Resident memory now, in MB (0 once gone). */
  rssMb(): number;
}

export interface ApiProc extends Proc {
  readonly base: string;
}

export interface ApiOptions {
  redisUrl: string;
  env?: Record<string, string>;
}

export interface WorkerOptions {
  redisUrl: string;
  /** WORKER_CONCURRENCY (jobs in flight in this process). */
  concurrency?: number;
  env?: Record<string, string>;
}

function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

function launch(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    pid: child.pid ?? -1,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    rssMb: () => rssMb(child.pid ?? -1),
  };
}

/** Resolves when `pattern` appears on stdout; rejects if the process exits first or the time runs out. */
function waitForOutput(proc: Proc, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${proc.name} not ready in ${READY_TIMEOUT_MS} ms: ${out.slice(-500)}`)), READY_TIMEOUT_MS);
    proc.child.stdout?.on('data', (chunk) => {
      if (out.length < 100_000) out += chunk;
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${proc.name} exited (${code}) before it was ready: ${out.slice(-500)}`));
    });
  });
}

export class Processes {
  private readonly all = new Set<Proc>();
  private workers = 0;
  private apis = 0;

  /** An API process on a free port; ready when /readyz answers 200 (Redis reached). */
  async startApi(options: ApiOptions): Promise<ApiProc> {
    const port = await freePort();
    const proc = launch(`api${++this.apis}`, [apiMain], {
      REDIS_URL: options.redisUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_MINUTE: '0',
      ...options.env,
    });
    this.track(proc);
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}) before it was ready`);
      const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`${proc.name} not ready in ${READY_TIMEOUT_MS} ms`);
      await sleep(50);
    }
    return Object.assign(proc, { base });
  }

  /** A worker process; ready when it logs "crawlstream worker ready". */
  async startWorker(options: WorkerOptions): Promise<Proc> {
    const proc = launch(`worker${++this.workers}`, ['--max-semi-space-size=64', workerMain], {
      REDIS_URL: options.redisUrl,
      SSRF_ALLOW: '127.0.0.1/32',
      WORKER_CONCURRENCY: String(options.concurrency ?? 8),
      LOG_LEVEL: 'info',
      ...options.env,
    });
    this.track(proc);
    await waitForOutput(proc, /crawlstream worker ready/);
    return proc;
  }

  private track(proc: Proc): void {
    this.all.add(proc);
    // Read stderr so a chatty process never blocks on a full pipe.
    proc.child.stderr?.resume();
    proc.child.stdout?.resume();
    proc.exited.then(() => this.all.delete(proc));
  }

  /** SIGKILL for every process still running, and wait until each is gone. */
  async killAll(): Promise<void> {
    const left = [...this.all];
    for (const proc of left) proc.kill('SIGKILL');
    await Promise.all(left.map((proc) => proc.exited));
  }
}
