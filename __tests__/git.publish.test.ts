/**
 * The git side of publishing (src/git/publish.ts) against real repositories: a commit made from a patch
 * without touching the work tree, its trailers, pushes to a bare remote that are never forced, and the token
 * handed to git through the environment only (checked in every process's argv while git talks to a server).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  commitMessage,
  commitPatch,
  credentialEnv,
  deleteRemoteBranch,
  fetchBranchMessage,
  PatchDoesNotApply,
  pushBranch,
  readTrailers,
  remoteBranchHead,
} from '../src/git/publish.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

const IDENTITY = { name: 'bot', email: 'bot@example.invalid', date: new Date('2026-11-30T02:00:00Z') };
const HASH = 'a'.repeat(64);

let repo: TempRepo;
let bare: string;
let base: string;
let patch: string;

beforeAll(async () => {
  repo = await makeTempRepo({ 'docs/a.md': 'one\ntwo\n', 'src/x.ts': 'export const x = 1;\n' });
  base = await repo.git('rev-parse', 'HEAD');
  await repo.write({ 'docs/a.md': 'one\ntwo\nthree\n', 'docs/new.md': 'new file\n' });
  await repo.git('add', '-A');
  patch = (await repo.git('diff', '--cached', '--binary')) + '\n';
  await repo.git('reset', '--quiet', '--hard', base);
  bare = await realpath(await mkdtemp(join(tmpdir(), 'se-test-bare-')));
  await repo.git('init', '--quiet', '--bare', bare);
  await repo.git('remote', 'add', 'origin', bare);
  await repo.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
});

afterAll(async () => {
  await repo.cleanup();
  await rm(bare, { recursive: true, force: true });
});

describe('commitPatch', () => {
  it('makes a commit on the base with the change, leaving the work tree, index and HEAD as they were', async () => {
    const message = commitMessage('Add a line', 'Why: because.', {
      runId: 7,
      proposalId: 12,
      patchSha256: HASH,
    });
    const sha = await commitPatch({ repoDir: repo.dir, baseSha: base, patch, message, identity: IDENTITY });
    expect(await repo.git('rev-parse', `${sha}^`)).toBe(base);
    expect(await repo.git('show', `${sha}:docs/a.md`)).toBe('one\ntwo\nthree');
    expect(await repo.git('show', `${sha}:docs/new.md`)).toBe('new file');
    expect(await repo.git('log', '-1', '--format=%an <%ae> %at', sha)).toBe(
      `bot <bot@example.invalid> ${IDENTITY.date.getTime() / 1000}`,
    );
    // nothing of the checkout moved
    expect(await repo.git('rev-parse', 'HEAD')).toBe(base);
    expect(await repo.git('status', '--porcelain')).toBe('');
    // the same input gives the same commit (a rerun makes no second, different commit)
    expect(await commitPatch({ repoDir: repo.dir, baseSha: base, patch, message, identity: IDENTITY })).toBe(
      sha,
    );
    // but another date gives another one
    const later = { ...IDENTITY, date: new Date('2026-12-01T02:00:00Z') };
    expect(await commitPatch({ repoDir: repo.dir, baseSha: base, patch, message, identity: later })).not.toBe(
      sha,
    );
  });

  it('refuses a patch that does not apply, naming the base', async () => {
    const moved = await repo.commit({ 'docs/a.md': 'something else\n' }, { message: 'move' });
    await expect(
      commitPatch({ repoDir: repo.dir, baseSha: moved, patch, message: 'x\n', identity: IDENTITY }),
    ).rejects.toThrow(PatchDoesNotApply);
    await expect(
      commitPatch({ repoDir: repo.dir, baseSha: moved, patch, message: 'x\n', identity: IDENTITY }),
    ).rejects.toThrow(`does not apply to ${moved.slice(0, 8)}`);
    await repo.git('reset', '--quiet', '--hard', base);
  });
});

describe('trailers', () => {
  it('reads back what commitMessage wrote, and nothing from a message without them', async () => {
    const msg = commitMessage('Title\nwith a newline', 'Body', {
      runId: 3,
      proposalId: 4,
      patchSha256: HASH,
    });
    expect(msg.split('\n')[0]).toBe('Title with a newline');
    expect(await readTrailers(repo.dir, msg)).toEqual({ runId: 3, proposalId: 4, patchSha256: HASH });
    expect(await readTrailers(repo.dir, 'Revert "x"\n\nThis reverts commit abc.\n')).toBeNull();
    // a trailer with a malformed hash is not ours
    expect(
      await readTrailers(
        repo.dir,
        'T\n\nSelf-Evolution-Run: 1\nSelf-Evolution-Proposal: 2\nSelf-Evolution-Patch: sha256:xyz\n',
      ),
    ).toBeNull();
  });
});

describe('pushBranch', () => {
  it('pushes a new branch, says up-to-date the second time, and never overwrites another commit', async () => {
    const access = { repoDir: repo.dir };
    const message = commitMessage('P', '', { runId: 1, proposalId: 1, patchSha256: HASH });
    const sha = await commitPatch({ repoDir: repo.dir, baseSha: base, patch, message, identity: IDENTITY });
    expect(await remoteBranchHead(access, 'self-evolution/p')).toBeNull();
    expect(await pushBranch(access, sha, 'self-evolution/p')).toEqual({ status: 'pushed' });
    expect(await remoteBranchHead(access, 'self-evolution/p')).toBe(sha);
    expect(await pushBranch(access, sha, 'self-evolution/p')).toEqual({ status: 'up-to-date' });

    const other = await commitPatch({
      repoDir: repo.dir,
      baseSha: base,
      patch,
      message: 'other\n',
      identity: IDENTITY,
    });
    const outcome = await pushBranch(access, other, 'self-evolution/p');
    expect(outcome.status).toBe('rejected');
    expect(await remoteBranchHead(access, 'self-evolution/p')).toBe(sha);

    // the branch's message can be read back from the remote, trailers included
    const fetched = await fetchBranchMessage(access, 'self-evolution/p');
    expect(fetched.sha).toBe(sha);
    expect(await readTrailers(repo.dir, fetched.message)).toEqual({
      runId: 1,
      proposalId: 1,
      patchSha256: HASH,
    });

    // deletion only while it still points where we think
    await expect(deleteRemoteBranch(access, 'self-evolution/p', other)).rejects.toThrow();
    expect(await remoteBranchHead(access, 'self-evolution/p')).toBe(sha);
    await deleteRemoteBranch(access, 'self-evolution/p', sha);
    expect(await remoteBranchHead(access, 'self-evolution/p')).toBeNull();
  });
});

describe('the token', () => {
  it('goes to an http(s) remote as a header from the environment, never in any argv, replacing a persisted one', async () => {
    const token = 'ghs_' + 'T0k3nValue'.repeat(4);
    const seen: { auth?: string; argvHits: string[]; procs: number }[] = [];
    const server = createServer((req, res) => {
      const argvHits: string[] = [];
      let procs = 0;
      // git is waiting for this answer: every git process of the push is alive now
      void (async () => {
        for (const pid of await readdir('/proc').catch(() => [] as string[])) {
          if (!/^\d+$/.test(pid)) continue;
          const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
          if (argv === '') continue;
          procs++;
          if (
            argv.includes(token) ||
            argv.includes(Buffer.from(`x-access-token:${token}`).toString('base64'))
          ) {
            argvHits.push(argv.replace(/\0/g, ' '));
          }
        }
        seen.push({ auth: req.headers.authorization, argvHits, procs });
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end('denied');
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}/o/r.git`;
    const other = await makeTempRepo({ 'a.txt': 'a\n' });
    try {
      await other.git('remote', 'add', 'origin', url);
      // what actions/checkout persists: an older header for the same origin
      await other.git(
        'config',
        `http.http://127.0.0.1:${port}/.extraheader`,
        'AUTHORIZATION: basic b2xkOm9sZA==',
      );
      const head = await other.git('rev-parse', 'HEAD');
      const err = await pushBranch({ repoDir: other.dir, token }, head, 'self-evolution/x').then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).not.toBeNull();
      expect(err!.message).not.toContain(token);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]!.auth).toBe(`basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`);
      expect(seen[0]!.procs).toBeGreaterThan(1);
      expect(seen.flatMap((s) => s.argvHits)).toEqual([]);
      // no token, no header: the user's own credentials (CLI)
      expect(await credentialEnv({ repoDir: other.dir })).toEqual({});
      // an ssh or path remote gets no header either
      await other.git('remote', 'set-url', 'origin', 'git@github.com:o/r.git');
      expect(await credentialEnv({ repoDir: other.dir, token })).toEqual({});
    } finally {
      server.close();
      await other.cleanup();
    }
  });
});
