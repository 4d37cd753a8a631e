// Runs the built `crawlstream` binary as a child process, as a user would,
// and collects what it printed and how it exited.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface CliRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (a signal counts as 128 + its number). */
  exited: Promise<number>;
  /** Resolves once stderr (or stdout) has printed something matching. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<RegExpExecArray>;
}

export function startCli(args: string[], env: Record<string, string> = {}): CliRun {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CRAWLSTREAM_')));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const listeners = new Set<() => void>();
  const run: CliRun = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => {
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : 9)));
    }),
    waitFor(pattern, stream = 'stderr', timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(run[stream]);
          if (match) {
            done();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern} on ${stream}; stdout: ${run.stdout}\nstderr: ${run.stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    run.stdout += chunk;
    for (const listener of [...listeners]) listener();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    run.stderr += chunk;
    for (const listener of [...listeners]) listener();
  });
  return run;
}

/** Runs the binary to its end. */
export async function cli(args: string[], env: Record<string, string> = {}) {
  const running = startCli(args, env);
  const code = await running.exited;
  return { code, stdout: running.stdout, stderr: running.stderr };
}
