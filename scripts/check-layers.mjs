// The layering of the workspaces, checked on every `npm run lint`: packages
// (packages/*) never depend on apps (apps/*) or on the end-to-end tests
// (tests/*), whatever the dependency kind; apps depend on tests/* only as a
// devDependency. Exits 1 naming each offending dependency.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The repository root; another one can be named (to check a checkout of another commit).
const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const KINDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

/** Every workspace: its layer (the folder of its `dir/*` pattern), name and package.json. */
function workspaces() {
  const { workspaces: patterns } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return patterns.flatMap((pattern) => {
    const match = /^([\w.-]+)\/\*$/.exec(pattern);
    if (!match) throw new Error(`check-layers: workspace pattern ${pattern} is not of the form dir/*`);
    const layer = match[1];
    return readdirSync(join(root, layer), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((entry) => {
        const path = join(layer, entry.name, 'package.json');
        let manifest;
        try {
          manifest = JSON.parse(readFileSync(join(root, path), 'utf8'));
        } catch (error) {
          if (error.code === 'ENOENT') return [];
          throw error;
        }
        return [{ layer, path, name: manifest.name, manifest }];
      });
  });
}

/** Why `from` (a workspace) may not take `to` (a workspace) as a dependency of `kind`, or undefined. */
function violation(from, to, kind) {
  if (from.layer === 'packages' && to.layer !== 'packages') return `a package depends on ${to.layer}/`;
  if (from.layer === 'apps' && to.layer === 'tests' && kind !== 'devDependencies') {
    return `an app may use ${to.layer}/ as a devDependency only`;
  }
  return undefined;
}

const all = workspaces();
const byName = new Map(all.map((workspace) => [workspace.name, workspace]));
const problems = [];
for (const from of all) {
  for (const kind of KINDS) {
    for (const name of Object.keys(from.manifest[kind] ?? {})) {
      const to = byName.get(name);
      const why = to && violation(from, to, kind);
      if (why) problems.push(`${from.path}: ${kind} ${name} (${to.layer}/): ${why}`);
    }
  }
}
if (problems.length > 0) {
  process.stderr.write(`check-layers: ${problems.length} dependenc${problems.length === 1 ? 'y breaks' : 'ies break'} the layering\n`);
  for (const problem of problems) process.stderr.write(`  ${problem}\n`);
  process.exit(1);
}
process.stdout.write(`check-layers: ${all.length} workspaces, layering holds\n`);
