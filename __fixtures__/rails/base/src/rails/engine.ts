/** The agent's own safety engine: the paths it may touch. Only humans may change this file. */
export const ALLOWED_PREFIXES: readonly string[] = ['docs/', 'prompts/', 'persona/'];

/** True when the agent may write `path`. */
export function mayWrite(path: string): boolean {
  return ALLOWED_PREFIXES.some((prefix) => path.startsWith(prefix)) && !path.includes('..');
}
