/**
 * Artifacts of a run: run.json, reflection.json, proposals.json, one .patch per proposal, one
 * .provenance.json per proposal (the full prompt, every raw answer, token usage), one .pull-request.md per
 * proposal with a pull request (opened, or previewed in a dry run), commands.jsonl and run.log,
 * written to a local directory and, on Actions, uploaded with @actions/artifact ("Artifacts
 * uploaded to GitHub Actions, 90-day retention"). @actions/artifact is imported lazily so a run that skips
 * never loads it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pullRequestFileName, renderPullRequestFile } from './pull-requests.js';
import type { RunReport } from './types.js';

/** What goes into the artifacts directory besides the report itself. */
export interface ArtifactContents {
  report: RunReport;
  /** The run's reflection (reflect/types.ts ReflectionResult), written as reflection.json as it is; null: none. */
  reflection: object | null;
  /** Patches by file name (e.g. `proposal-12.patch`). */
  patches: { file: string; content: string }[];
  /** Full provenance by file name (e.g. `proposal-12.provenance.json`), already masked. */
  provenance?: { file: string; content: unknown }[];
  /** Every shell command the runner executed or refused, one JSON object per line (commands.jsonl), masked. */
  commands?: unknown[];
  /** Masked log lines. */
  log: string[];
}

/**
 * Writes the artifacts into `dir` (created if missing) and returns the absolute paths written; a proposal
 * with a pull request (a dry run's preview included) gets `proposal-<id>.pull-request.md`.
 * @throws the fs error when the directory cannot be written
 */
export async function writeArtifacts(dir: string, contents: ArtifactContents): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['run.json', json(contents.report)],
    ['proposals.json', json(contents.report.proposals)],
    ['run.log', contents.log.join('\n') + '\n'],
  ];
  if (contents.reflection) files.push(['reflection.json', json(contents.reflection)]);
  for (const p of contents.patches) files.push([p.file, p.content]);
  for (const p of contents.provenance ?? []) files.push([p.file, json(p.content)]);
  for (const [i, p] of contents.report.proposals.entries()) {
    if (p.pullRequest) files.push([pullRequestFileName(p, i), renderPullRequestFile(p.pullRequest)]);
  }
  if (contents.commands) {
    files.push(['commands.jsonl', contents.commands.map((c) => `${JSON.stringify(c)}\n`).join('')]);
  }
  const written: string[] = [];
  for (const [name, body] of files) {
    const path = join(dir, name);
    await writeFile(path, body, 'utf8');
    written.push(path);
  }
  return written;
}

/** Uploads files as one Actions artifact. Injected into run.ts so tests need no Actions runtime. */
export type ArtifactUploader = (input: {
  name: string;
  rootDirectory: string;
  files: string[];
  /** Retention, days (config telemetry.logRetentionDays). */
  retentionDays: number;
}) => Promise<{ id?: number; size?: number }>;

/**
 * The real uploader: loads @actions/artifact on first use (dynamic import).
 * @throws the artifact client's error (e.g. not running on Actions)
 */
export const actionsArtifactUploader: ArtifactUploader = async ({
  name,
  rootDirectory,
  files,
  retentionDays,
}) => {
  const { DefaultArtifactClient } = await import('@actions/artifact');
  const client = new DefaultArtifactClient();
  const res = await client.uploadArtifact(name, files, rootDirectory, { retentionDays });
  return { id: res.id, size: res.size };
};

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
