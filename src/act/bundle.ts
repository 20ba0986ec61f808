/**
 * The proposal bundle: what the `propose` job (contents: read; the agent runs there) hands to the `publish`
 * job (contents: write, pull-requests: write; no agent code runs there) through an Actions artifact, in the
 * two-job setup of live mode (the shape of gh-aw's safe outputs):
 *
 *   bundle.json       the run, the base commit, the policy file's path and blob id at the base, and per change:
 *                     proposal id, title, description, type, stated and computed risk, the patch file's name and
 *                     sha256, the verify evidence and the rails' verdict of the first job
 *   proposal-<id>.patch  each change
 *
 * The publish job trusts none of it blindly: it reads the policy from the base commit itself and refuses a
 * bundle whose policy blob differs, checks every patch against its sha256 and against the proposal row in the
 * database, and judges every patch again with the rails (src/publish.ts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ProposalReport, VerifyReport } from '../records.js';
import { patchSha256 } from '../store/proposals.js';

/** The bundle format version this code writes and reads. */
export const BUNDLE_VERSION = 1;

/** File name of the bundle's index. */
export const BUNDLE_FILE = 'bundle.json';

const Hex40or64 = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a full commit id (40 or 64 hex digits)');

const VerifySchema = z.object({
  status: z.enum(['passed', 'failed', 'not-configured']),
  commands: z.array(
    z.object({
      name: z.string(),
      command: z.string(),
      exitCode: z.number().int().nullable(),
      signal: z.string().nullable(),
      timedOut: z.boolean(),
      durationMs: z.number().nonnegative(),
      stdoutTail: z.string(),
      stderrTail: z.string(),
      sandbox: z.enum(['bwrap', 'unshare', 'none']),
    }),
  ),
  reason: z.string().optional(),
});

const BundleItemSchema = z.object({
  proposalId: z.number().int().positive(),
  title: z.string().min(1),
  description: z.string(),
  type: z.string().min(1),
  riskLevel: z.number().int().min(0).max(5),
  computedRisk: z.number().int().min(0).max(5),
  effort: z.number().int().min(0).optional(),
  /** Name of the patch file beside bundle.json: `proposal-<id>.patch`. */
  patchFile: z.string().regex(/^proposal-\d+\.patch$/, 'proposal-<id>.patch'),
  patchSha256: z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits'),
  verify: VerifySchema,
  /** The first job's report of the proposal (for the pull request's body: violations, stats, provenance). */
  report: z.record(z.string(), z.unknown()),
});

const BundleSchema = z.object({
  version: z.literal(BUNDLE_VERSION),
  repository: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'owner/name'),
  runId: z.number().int().positive(),
  runDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  baseSha: Hex40or64,
  /** The policy file (relative path) and its blob id at the base commit; null blob: no file (the defaults). */
  policy: z.object({ path: z.string().min(1), blobSha: Hex40or64.nullable() }),
  toolVersion: z.string(),
  /** The reflection's insights (for the pull request's body). */
  insights: z.string(),
  logsUrl: z.string().optional(),
  items: z.array(BundleItemSchema),
});

/** The bundle's index (bundle.json). */
export type Bundle = z.infer<typeof BundleSchema>;
/** One change of a bundle. */
export type BundleItem = z.infer<typeof BundleItemSchema>;

/** A change of a bundle with its patch text, checked against its sha256. */
export interface LoadedBundleItem extends BundleItem {
  patch: string;
}

/** A bundle that cannot be used (unreadable, malformed, a patch whose hash differs); the message says which. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

/** One change to put into a bundle. */
export interface BundleEntry {
  report: ProposalReport & { id: number };
  patch: string;
  verify: VerifyReport;
}

/**
 * Writes the bundle into `dir` (created): bundle.json and one `proposal-<id>.patch` per entry.
 * @returns the paths written
 * @throws the fs error
 */
export async function writeBundle(
  dir: string,
  head: Omit<Bundle, 'version' | 'items'>,
  entries: readonly BundleEntry[],
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const items: BundleItem[] = [];
  for (const e of entries) {
    const patchFile = `proposal-${e.report.id}.patch`;
    await writeFile(join(dir, patchFile), e.patch, 'utf8');
    written.push(join(dir, patchFile));
    items.push({
      proposalId: e.report.id,
      title: e.report.title,
      description: e.report.description ?? '',
      type: e.report.type,
      riskLevel: e.report.riskLevel,
      computedRisk: e.report.computedRisk ?? e.report.riskLevel,
      ...(e.report.effort !== undefined ? { effort: e.report.effort } : {}),
      patchFile,
      patchSha256: patchSha256(e.patch),
      verify: e.verify,
      report: e.report as unknown as Record<string, unknown>,
    });
  }
  const bundle: Bundle = { version: BUNDLE_VERSION, ...head, items };
  await writeFile(join(dir, BUNDLE_FILE), JSON.stringify(bundle, null, 2) + '\n', 'utf8');
  written.push(join(dir, BUNDLE_FILE));
  return written;
}

/**
 * Reads and checks a bundle from `dir`: bundle.json against the schema, and each patch file against its
 * sha256.
 * @throws BundleError naming the file and what is wrong (missing, not JSON, a field, a hash that differs)
 */
export async function readBundle(dir: string): Promise<{ bundle: Bundle; items: LoadedBundleItem[] }> {
  const path = join(dir, BUNDLE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new BundleError(`cannot read the proposal bundle ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BundleError(`the proposal bundle ${path} is not JSON: ${(e as Error).message}`);
  }
  const parsed = BundleSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new BundleError(
      `the proposal bundle ${path} is malformed at ${first.path.join('.') || '(top)'}: ${first.message}`,
    );
  }
  const items: LoadedBundleItem[] = [];
  for (const item of parsed.data.items) {
    const file = join(dir, item.patchFile);
    let patch: string;
    try {
      patch = await readFile(file, 'utf8');
    } catch (e) {
      throw new BundleError(`cannot read ${file} of the proposal bundle: ${(e as Error).message}`);
    }
    const actual = patchSha256(patch);
    if (actual !== item.patchSha256) {
      throw new BundleError(
        `${item.patchFile} does not match the bundle: its sha256 is ${actual}, the bundle says ${item.patchSha256}`,
      );
    }
    items.push({ ...item, patch });
  }
  return { bundle: parsed.data, items };
}
