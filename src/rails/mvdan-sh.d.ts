/**
 * The part of `mvdan-sh` (the GopherJS build of mvdan.cc/sh/v3/syntax, the parser behind shfmt) the rails use.
 * The package ships no types. Node shapes follow the Go API (https://pkg.go.dev/mvdan.cc/sh/v3/syntax): field
 * names are the Go ones, slices are JavaScript arrays, positions are objects with Line()/Col()/Offset().
 */
declare module 'mvdan-sh' {
  /** A position in the source: 1-based line and column, 0-based byte offset. */
  export interface ShPos {
    Line(): number;
    Col(): number;
    Offset(): number;
  }
  /** Any node of the syntax tree; fields depend on its type (syntax.NodeType(node)). */
  export interface ShNode {
    Pos(): ShPos;
    End(): ShPos;
    [field: string]: unknown;
  }
  /** A parse error: Error() gives "line:col: message". */
  export interface ShParseError {
    Error(): string;
  }
  export interface ShParser {
    /** Parses a whole program; throws an ShParseError on a syntax error. */
    Parse(src: string, name: string): ShNode;
  }
  export interface ShSyntax {
    NewParser(...options: unknown[]): ShParser;
    NodeType(node: unknown): string;
    /** Calls `visit` for every node, depth first in source order; `visit(null)` after a node's children. */
    Walk(node: ShNode, visit: (node: ShNode | null) => boolean): void;
    KeepComments(keep: boolean): unknown;
    Variant(lang: unknown): unknown;
    LangBash: unknown;
    LangPOSIX: unknown;
    LangMirBSDKorn: unknown;
  }
  const sh: { syntax: ShSyntax };
  export default sh;
}
