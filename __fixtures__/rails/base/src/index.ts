import { greet } from './greet.js';
import { searchDocs } from './tools.js';

/** Reads one question and prints an answer. */
export function answer(question: string, pages: Record<string, string>): string {
  const hits = searchDocs(question, pages);
  if (hits.length === 0) return `${greet('there')} I do not know.`;
  return `${greet('there')} See ${hits.join(', ')}.`;
}
