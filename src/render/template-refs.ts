/** A `{% include 'x' %}`, `{% render 'x' %}` or `{% layout 'x' %}` with a literal file name, as written. */
export interface TemplateReference {
  tag: "include" | "render" | "layout";
  /** The name as written: `parts/run`, `./x.liquid`. */
  target: string;
  /** Offset of the `{%` in the text. */
  offset: number;
}

/**
 * Every tag in `text` that names another template by a literal name, found by a text scan (also
 * inside comments and branches never taken): for checks that run before anything is rendered.
 */
export function templateReferences(text: string): TemplateReference[] {
  const refs: TemplateReference[] = [];
  for (const m of text.matchAll(/\{%-?\s*(include|render|layout)\s+["']([^"']+)["']/g))
    refs.push({ tag: m[1] as TemplateReference["tag"], target: m[2]!, offset: m.index });
  return refs;
}

/** A path inside the template directory as a file name of TemplateFiles: `./a/b.liquid` -> `a/b.liquid`. */
export function templateName(path: string): string {
  return path.replace(/^(\.\/)+/, "");
}

/** 1-based line and column of `offset` in `text`. */
export function positionAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
