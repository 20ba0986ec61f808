/**
 * Errors of the facts gatherer (src/git/facts.ts and src/git/tree-facts.ts): input the facts cannot be
 * gathered from, which the user must fix (the CLI exits with code 2).
 */

/** What went wrong while gathering facts. */
export type FactsErrorKind =
  | 'patch-unreadable'
  | 'patch-too-large'
  | 'path-encoding'
  | 'bad-revision'
  | 'no-merge-base'
  | 'not-a-repository'
  | 'git-output';

/**
 * Input the facts cannot be gathered from: the user must fix it (the CLI exits with code 2). `kind` says
 * which problem; the message names the bad value and what would work.
 */
export class FactsError extends Error {
  override readonly name: string = 'FactsError';
  readonly kind: FactsErrorKind;
  constructor(kind: FactsErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** A patch that cannot be used: larger than MAX_PATCH_BYTES, or not readable by git (the message quotes git). */
export class PatchError extends FactsError {
  override readonly name = 'PatchError';
}

/** A revision that is not a commit of the repository, or two commits without a common ancestor. */
export class RevisionError extends FactsError {
  override readonly name = 'RevisionError';
}
