/**
 * The sandbox of one run: which mechanism its commands run under (or none, as configured), their default
 * network, and the paths they must not see. Chosen once, before the first command, and recorded on the run.
 */
import { sandboxSettings, type Config, type SandboxSettings } from '../config/schema.js';
import { chooseSandbox as realChooseSandbox, type SandboxChoice, type SandboxMode } from './mechanism.js';
import type { SandboxPlan, SandboxUsed } from './runner.js';
import { hiddenPathsFor, type RunPlaces } from './workspace.js';

/** A plan for the run's commands, or why they cannot run. */
export type SandboxDecision =
  { ok: true; used: SandboxUsed; plan: SandboxPlan } | { ok: false; message: string };

/**
 * Decides the sandbox of a run from the config's `sandbox` settings: mode "none" gives a plan without a tool
 * (commands run bare, recorded as 'none'); otherwise the mechanism `choose` finds working (default: probing
 * bwrap, then unshare) with the hidden paths of `places` (hiddenPathsFor) and the configured network; when none
 * works, `ok: false` with the message saying why and how to fix it. Never rejects.
 */
export async function planSandbox(
  settings: SandboxSettings,
  places: RunPlaces,
  choose: (mode: SandboxMode) => Promise<SandboxChoice> = realChooseSandbox,
): Promise<SandboxDecision> {
  const network = settings.network === 'on';
  if (settings.mode === 'none') return { ok: true, used: 'none', plan: { network, hidden: [] } };
  const choice = await choose(settings.mode);
  if (choice.mode === 'unavailable') return { ok: false, message: choice.message };
  if (choice.mode === 'none') return { ok: true, used: 'none', plan: { network, hidden: [] } };
  const hidden = await hiddenPathsFor({ ...places, extra: [...(places.extra ?? []), ...settings.hidePaths] });
  return { ok: true, used: choice.mode, plan: { tool: choice.tool, network, hidden } };
}

/**
 * The sandbox of a run's repository commands, when the run will start any (a command proposer, a
 * repository check or a verify command): planSandbox with the config's `sandbox` settings (bwrap, else unshare, or "none" as
 * configured) and the run's `places`; null when the run starts no command. Never rejects.
 */
export async function planRunSandbox(
  config: Pick<Config, 'proposers' | 'reflection' | 'sandbox' | 'verify'>,
  places: RunPlaces,
  choose?: (mode: SandboxMode) => Promise<SandboxChoice>,
): Promise<SandboxDecision | null> {
  const commands =
    config.proposers.some((p) => p.kind === 'command') ||
    config.reflection.checks.length > 0 ||
    config.verify.commands.length > 0;
  if (!commands) return null;
  return planSandbox(sandboxSettings(config.sandbox), places, choose);
}

/**
 * The log line of a run's sandbox: a warning for "none" (the commands run without isolation), otherwise the
 * mechanism, the default network and how many paths are hidden.
 */
export function sandboxNotice(
  used: SandboxUsed,
  plan: SandboxPlan,
): { level: 'warn' | 'info'; message: string } {
  return used === 'none'
    ? {
        level: 'warn',
        message: 'sandbox: none (config "sandbox": "none"): the repository\'s commands run without isolation',
      }
    : {
        level: 'info',
        message: `sandbox: ${used}, network ${plan.network ? 'on' : 'none'} by default, ${plan.hidden.length} path(s) hidden`,
      };
}
