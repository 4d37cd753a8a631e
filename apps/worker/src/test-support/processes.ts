// Worker processes for the process tests: spawned with node, ready when they
// print "ready", and killed after each test by whoever started them.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The real createCrawlWorker in a process of its own, production timings; argv: redisUrl prefix concurrency. */
export const launcher = fileURLToPath(new URL('./worker-process.mjs', import.meta.url));
/** The worker's entry point (`npm run start:worker`). */
export const mainJs = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export function startProcess(children: ChildProcess[], args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (/ready/.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${out}`)));
  });
}

export const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
