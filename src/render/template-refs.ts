/** Template files by name relative to the template directory, e.g. `vllm_runtime.liquid`. */
export type TemplateFiles = ReadonlyMap<string, string>;

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

/**
 * The file an include names, as liquidjs looks it up with `extname: ".liquid"` and bakeplan's
 * in-memory file system: `path` is the name with the extension added when it has none (what
 * liquidjs records as the including token's file), `template` the file name it reads (leading
 * `./` removed).
 */
export function includedTemplate(name: string): { path: string; template: string } {
  const path = /\.[A-Za-z0-9]+$/.test(name) ? name : `${name}.liquid`;
  return { path, template: templateName(path) };
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
