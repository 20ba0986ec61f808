/**
 * Types of `unicode-confusables` (https://github.com/lastcanal/unicode-confusables): the package ships its
 * declarations as `index.ts.d`, a name TypeScript does not look for. CommonJS: `module.exports = {...}`.
 */
declare module 'unicode-confusables' {
  interface ConfusablePoint {
    /** One code point of the input. */
    point: string;
    /** Its prototype in UTS #39 confusables.txt, when it has one other than itself. */
    similarTo?: string;
  }
  const unicodeConfusables: {
    isConfusing(input: string): boolean;
    confusables(input: string): ConfusablePoint[];
    rectifyConfusion(input: string): string;
  };
  export = unicodeConfusables;
}
