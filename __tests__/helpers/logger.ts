/** The one capturing logger of the tests. */
import type { Logger } from '../../src/deps.js';

/**
 * A Logger that keeps every message in `lines`, in order: `level message` (e.g. `warn no token`), or the
 * message alone with `levels: false`.
 */
export function recordingLogger(options: { levels?: boolean } = {}): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (message: string): void =>
      void lines.push(options.levels === false ? message : `${level} ${message}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
