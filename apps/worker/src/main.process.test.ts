// The worker process refuses a bad configuration before doing anything: exit
// 1 with the message that names the variable and the entry (no stack trace).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [mainJs], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: 'redis://127.0.0.1:9', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

it.each([
  ['10.0.0.0/33', 'the prefix of an IPv4 range must be 0 to 32'],
  ['300.1.1.1', 'is not a valid IPv4 address'],
  ['::/129', 'the prefix of an IPv6 range must be 0 to 128'],
])('SSRF_ALLOW=%s: exit 1 with a config message naming it', async (entry, problem) => {
  const { code, stderr } = await run({ SSRF_ALLOW: `127.0.0.2/32,${entry}` });
  expect(code).toBe(1);
  expect(stderr).toMatch(/^crawlstream: Invalid SSRF_ALLOW: /);
  expect(stderr).toContain(`"${entry}"`);
  expect(stderr).toContain(problem);
  expect(stderr).not.toMatch(/TypeError|\n\s+at /);
});
