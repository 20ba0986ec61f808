/**
 * HTTP-error helpers shared by every room that reports what GitHub (or anything else) said: the gates,
 * reflection, the proposers and the adapters. Token redaction itself lives in src/secrets.ts (GitHub token
 * shapes are secrets of the run). Kept apart from client.ts, so formatting an error never loads octokit.
 */
import { redactTokens } from '../secrets.js';

/**
 * The message of anything thrown (an Error's message, or String(value) otherwise), with tokens redacted
 * and cut to `maxLength` characters (default 300) so an HTML error page cannot flood a report.
 */
export function errorMessage(error: unknown, maxLength = 300): string {
  let text: string;
  if (error instanceof Error) text = error.message;
  else if (typeof error === 'string') text = error;
  else {
    try {
      text = JSON.stringify(error) ?? String(error);
    } catch {
      text = String(error);
    }
  }
  text = redactTokens(text.replace(/\s+/g, ' ').trim()) || 'unknown error';
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/** The HTTP status of an error (an Octokit RequestError's numeric `status`); undefined when it has none. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error) {
    const status = (error as { status: unknown }).status;
    if (typeof status === 'number') return status;
  }
  return undefined;
}

/**
 * "GitHub API error: <status> <message>", or "GitHub API error: <message>" for an error without an HTTP
 * status (network); the message as `errorMessage(error, 200)` gives it (tokens redacted, one line).
 */
export function describeGitHubError(error: unknown): string {
  const status = httpStatusOf(error);
  const message = errorMessage(error, 200);
  return status !== undefined ? `GitHub API error: ${status} ${message}` : `GitHub API error: ${message}`;
}
