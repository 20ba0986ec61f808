/** Pages whose text contains every word of the question, in name order. */
export function searchDocs(question: string, pages: Record<string, string>): string[] {
  const words = question
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length > 2);
  return Object.keys(pages)
    .filter((name) => words.every((w) => pages[name]!.toLowerCase().includes(w)))
    .sort();
}
