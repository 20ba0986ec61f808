/**
 * Fixture directories that sandboxed commands can reach. A sandbox mounts an empty /tmp of its own, so an
 * agent script of __fixtures__/ run by absolute path is not found when the checkout itself lives under /tmp
 * (a CI clone often does). Then the directory is copied, once per test process, under /var/tmp (outside the
 * sandbox's /tmp, read-only inside it) and that copy is used; anywhere else the directory is used as it is.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where copies go: /var/tmp when it exists (not under /tmp), else the system's temporary directory. */
const COPY_BASE = existsSync('/var/tmp') ? '/var/tmp' : tmpdir();

const copies = new Map<string, string>();
let copyRoot: string | undefined;

/** True when `dir` lies under /tmp or the temporary directory (which a sandbox replaces). */
function underTmp(dir: string): boolean {
  return ['/tmp', resolve(tmpdir())].some((t) => dir === t || dir.startsWith(t + sep));
}

/**
 * The absolute path of `__fixtures__/<name>/` (with a trailing separator), or of a copy of it outside /tmp
 * when the checkout is under /tmp. The copy is removed when the process exits.
 */
export function visibleFixtures(name: string): string {
  const dir = fileURLToPath(new URL(`../../__fixtures__/${name}/`, import.meta.url));
  if (!underTmp(dir)) return dir;
  let copy = copies.get(dir);
  if (copy === undefined) {
    if (copyRoot === undefined) {
      copyRoot = mkdtempSync(join(COPY_BASE, 'se-fixtures-'));
      const root = copyRoot;
      process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    }
    copy = join(copyRoot, basename(dir)) + sep;
    cpSync(dir, copy, { recursive: true });
    copies.set(dir, copy);
  }
  return copy;
}
