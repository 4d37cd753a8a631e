// Whether this machine has a Chromium for the renderer: CHROMIUM_PATH, or
// `chromium` (then `chromium-browser`) on PATH. The renderer resolves it the
// same way (apps/renderer chromium-path.ts); the supervisor only decides
// whether to start one, and passes the path it found on.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const HOW_TO_GET_CHROMIUM =
  'install Chromium (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary, then start again';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findChromium(configured: string | undefined, pathList: string): string | undefined {
  if (configured) return executable(configured) ? configured : undefined;
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of pathList.split(delimiter)) if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}
