/**
 * The proposal bundle (src/act/bundle.ts): what the propose job writes, the publish job reads back only when
 * every patch still matches its sha256 and the index is well-formed.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_FILE, BundleError, readBundle, writeBundle, type BundleEntry } from '../src/act/bundle.js';
import { patchSha256 } from '../src/store/proposals.js';
import type { ProposalReport } from '../src/records.js';

const PATCH = 'diff --git a/docs/a.md b/docs/a.md\n--- a/docs/a.md\n+++ b/docs/a.md\n@@ -1 +1 @@\n-a\n+b\n';

function entry(id: number, patch = PATCH): BundleEntry {
  const report: ProposalReport & { id: number } = {
    id,
    title: `change ${id}`,
    type: 'prompt',
    riskLevel: 1,
    computedRisk: 1,
    description: 'why',
    proposer: 'file:x',
    status: 'evaluated',
    filesChanged: 1,
    linesAdded: 1,
    linesDeleted: 1,
    linesChanged: 2,
    verdict: 'allowed',
    blockedReasons: [],
    violations: [],
    provenance: { proposer: 'file', name: 'x', durationMs: 1 },
    patchFile: `proposal-${id}.patch`,
  };
  return { report, patch, verify: { status: 'not-configured', commands: [] } };
}

const HEAD = {
  repository: 'octo/repo',
  runId: 4,
  runDate: '2026-11-30',
  baseSha: 'a'.repeat(40),
  policy: { path: '.github/self-evolution-config.json', blobSha: 'b'.repeat(40) },
  toolVersion: '0.1.0',
  insights: 'none',
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'se-bundle-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('proposal bundle', () => {
  it('reads back what was written, with each patch and its sha256', async () => {
    await writeBundle(dir, HEAD, [entry(3), entry(5, PATCH.replace('+b', '+c'))]);
    const { bundle, items } = await readBundle(dir);
    expect(bundle).toMatchObject({ version: 1, ...HEAD });
    expect(items.map((i) => [i.proposalId, i.patchFile, i.patchSha256])).toEqual([
      [3, 'proposal-3.patch', patchSha256(PATCH)],
      [5, 'proposal-5.patch', patchSha256(PATCH.replace('+b', '+c'))],
    ]);
    expect(items[1]!.patch).toContain('+c');
  });

  it('refuses a patch altered after it was bundled, naming the file and both hashes', async () => {
    await writeBundle(dir, HEAD, [entry(3)]);
    await writeFile(join(dir, 'proposal-3.patch'), PATCH.replace('+b', '+rm -rf /'));
    const err = await readBundle(dir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BundleError);
    expect((err as Error).message).toMatch(
      /proposal-3\.patch does not match the bundle: its sha256 is [0-9a-f]{64}/,
    );
  });

  it('refuses a malformed index and says where', async () => {
    await writeBundle(dir, HEAD, [entry(3)]);
    const json = JSON.parse(await readFile(join(dir, BUNDLE_FILE), 'utf8')) as {
      items: { patchFile: string }[];
    };
    json.items[0]!.patchFile = '../../etc/passwd';
    await writeFile(join(dir, BUNDLE_FILE), JSON.stringify(json));
    await expect(readBundle(dir)).rejects.toThrow(/malformed at items\.0\.patchFile/);
    await writeFile(join(dir, BUNDLE_FILE), '{not json');
    await expect(readBundle(dir)).rejects.toThrow(/is not JSON/);
    await expect(readBundle(join(dir, 'missing'))).rejects.toThrow(/cannot read the proposal bundle/);
  });
});
