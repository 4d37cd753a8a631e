// Processes for bench/cluster's run.mjs and sizing.mjs: the loopback site of
// bench/scale, the real API and worker (apps/*/dist/main.js), and the figures
// read from each redis-server.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const apiMain = join(root, 'apps/api/dist/main.js');
export const workerMain = join(root, 'apps/worker/dist/main.js');
/** Same V8 flags as bench/crawl's worker processes (production's). */
const NODE_FLAGS = ['--max-semi-space-size=64'];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort() {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** bench/scale's site in its own process: `sections` sections of `pages` pages, section k under /s<k>/. */
export function startSite(sections, pages) {
  const child = spawn(process.execPath, [join(root, 'bench/scale/site.mjs'), String(sections), String(pages)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve({ origin: String(chunk).trim(), child }));
    child.once('exit', (code) => reject(new Error(`site exited ${code}`)));
  });
}

/** A process of ours; with `readyText`, resolves once a stdout line contains it (stdout drained after). */
export function startProcess(main, env, readyText = null) {
  const child = spawn(process.execPath, [...NODE_FLAGS, main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  if (readyText === null) {
    child.stdout.resume();
    return Promise.resolve(child);
  }
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      if (seen === null) return;
      seen += chunk;
      if (seen.includes(readyText)) {
        seen = null;
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`${main} exited ${code}: ${stderr}`)));
  });
}

/** The API on a free loopback port (`env`: REDIS_URL and the rest), resolved once /healthz answers. */
export async function startApi(env) {
  const port = await freePort();
  const child = await startProcess(apiMain, { RATE_LIMIT_PER_MINUTE: '0', API_KEYS: '', ...env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'error' });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`API exited ${child.exitCode}`);
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) return { child, base };
    await sleep(100);
  }
  throw new Error('API did not answer /healthz');
}

/** A worker process (`env`: REDIS_URL and the rest), resolved once it logs that it is ready. */
export const startWorker = (env) => startProcess(workerMain, { SSRF_ALLOW: '127.0.0.1/32', ...env, LOG_LEVEL: 'info' }, 'worker ready');

/** Stops processes with SIGTERM and waits for them to exit. */
export async function stopAll(children) {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
}

/** Sum of `calls` over INFO commandstats: every command the node executed, scripts' inner calls included. */
export async function commandsOf(node) {
  const info = await node.info('commandstats');
  let sum = 0;
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) sum += Number(m[1]);
  return sum;
}

/** POSTs a crawl to the API; resolves with its id. */
export async function postCrawl(api, body) {
  const res = await fetch(`${api}/api/crawl-v2`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status !== 201 && res.status !== 200) throw new Error(`POST answered ${res.status}: ${JSON.stringify(json)}`);
  return json.id;
}

export const getCrawl = (api, id) => fetch(`${api}/api/crawl-v2/${id}`).then((r) => r.json());

export async function redisVersion() {
  return new Promise((resolve) => {
    const c = spawn('redis-server', ['--version']);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', () => resolve(/v=(\S+)/.exec(out)?.[1] ?? '?'));
  });
}
