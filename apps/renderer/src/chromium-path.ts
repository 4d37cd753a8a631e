// Which Chromium the renderer runs: CHROMIUM_PATH, or `chromium` (then
// `chromium-browser`) on PATH. The renderer never downloads a browser. The
// supervisor (`npm start`) asks the same question through the package's
// `./chromium` export, to decide whether to start a renderer.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const HOW_TO_GET_CHROMIUM =
  'install Chromium (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium binary to launch, or undefined when there is none. `pathList` is $PATH. */
export function findChromium(configured: string | undefined, pathList: string): string | undefined {
  if (configured) return executable(configured) ? configured : undefined;
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of pathList.split(delimiter)) {
      if (dir && executable(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}
