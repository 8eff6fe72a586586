import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from "yaml";
import type { Issue, SourceLocation } from "../errors.js";

export type KeyPath = readonly (string | number)[];

/** `axes.cuda["12.9"].args.X`, `exclude[0].when` */
export function formatPath(path: KeyPath): string {
  let s = "";
  for (const seg of path) {
    if (typeof seg === "number") s += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) s += s ? `.${seg}` : seg;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

const MAX_ALIAS_COUNT = 100;

/** A parsed YAML file that can answer "where is this key path?" for error messages and provenance. */
export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /**
   * Parses YAML 1.2 (core schema); returns the problems instead of throwing. `value` is undefined
   * when the document is unusable (a syntax error, an alias bomb); with problems the document
   * survives (a duplicate key, a non-string key, a warning) it is there, so the caller can still
   * validate the rest and report every problem at once.
   */
  static parse(file: string, text: string): { source: YamlSource; value: unknown; issues: Issue[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, version: "1.2" });
    const source = new YamlSource(file, doc, lines);
    const issues: Issue[] = doc.errors.map((e) => {
      if (e.code === "DUPLICATE_KEY") {
        const key = /^["']?([^:"'\n]*)/.exec(text.slice(e.pos[0]))?.[1]?.trim() ?? "";
        const parent = source.mapPathAt(e.pos[0]);
        return {
          message: `YAML: Duplicate key "${key}": keys of a mapping must be unique; remove or merge one of them`,
          location: source.at(e.pos[0], parent ? [...parent, key] : undefined),
        };
      }
      return { message: `YAML: ${firstLine(e.message)}`, location: source.at(e.pos[0]) };
    });
    issues.push(
      ...doc.warnings.map((w) => ({ message: `YAML: ${firstLine(w.message)}`, location: source.at(w.pos[0]) })),
    );
    // A duplicate key leaves a well-formed document (toJS keeps the last value); anything else may not.
    if (doc.errors.some((e) => e.code !== "DUPLICATE_KEY")) return { source, value: undefined, issues };
    issues.push(...source.nonStringKeys());
    let value: unknown = undefined;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      // yaml throws ReferenceError "Excessive alias count indicates a resource exhaustion attack"
      // before expanding anything big; point at the first alias so the message has a position.
      let first: number | undefined;
      visit(doc, { Alias: (_key, node) => ((first = node.range?.[0]), visit.BREAK) });
      issues.push({
        message: `YAML: ${firstLine(e instanceof Error ? e.message : String(e))} (more than ${MAX_ALIAS_COUNT} alias expansions, e.g. nested anchors like a "billion laughs" bomb). Write the values out instead of nesting aliases`,
        location: first === undefined ? { file } : source.at(first),
      });
    }
    return { source, value, issues };
  }

  at(offset: number, path?: KeyPath): SourceLocation {
    const { line, col } = this.lines.linePos(offset);
    return path === undefined ? { file: this.file, line, col } : { file: this.file, line, col, path: formatPath(path) };
  }

  /** Location of the value at `path` (or of its key with `key: true`); falls back to the nearest ancestor. */
  locate(path: KeyPath, opts: { key?: boolean } = {}): SourceLocation {
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    let last: { range?: [number, number, number] | null } | undefined = node as Node | undefined;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number") {
        node = node.items[seg];
      } else {
        break;
      }
      const target = (opts.key && keyNode ? keyNode : node) as { range?: [number, number, number] } | undefined;
      if (target?.range) last = target;
      else if ((keyNode as { range?: [number, number, number] } | undefined)?.range)
        last = keyNode as { range: [number, number, number] };
    }
    const offset = last?.range?.[0] ?? 0;
    return this.at(offset, path);
  }

  /** Key path of the innermost mapping whose range holds `offset` (for errors the parser reports by offset). */
  mapPathAt(offset: number): (string | number)[] | undefined {
    let found: (string | number)[] | undefined;
    const visit = (node: unknown, path: (string | number)[]) => {
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (!range || offset < range[0] || offset >= range[1]) return;
      if (isMap(node)) {
        // A block mapping's keys share its first key's column.
        if (node.flow || this.lines.linePos(range[0]).col === this.lines.linePos(offset).col) found = path;
        for (const pair of node.items) visit(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : "?"]);
      } else if (isSeq(node)) node.items.forEach((item, i) => visit(item, [...path, i]));
    };
    visit(this.doc.contents, []);
    return found;
  }

  /** The text as written for the scalar at `path`, e.g. "3.10" for a value YAML reads as 3.1. */
  sourceText(path: KeyPath): string | undefined {
    const node = this.doc.getIn(path, true);
    return isScalar(node) ? (node.source ?? String(node.value)) : undefined;
  }

  /** `13.0:` as a map key becomes the string "13" in JavaScript; refuse any non-string key. */
  private nonStringKeys(): Issue[] {
    const issues: Issue[] = [];
    const visit = (node: unknown, path: (string | number)[]) => {
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = pair.key;
          if (isScalar(key) && typeof key.value !== "string" && key.range) {
            const text = key.source ?? String(key.value);
            issues.push({
              message: `Invalid key: YAML reads ${text} as the ${kindOf(key.value)} ${String(key.value)}. Quote it: "${text}"`,
              location: this.at(key.range[0], [...path, String(key.value)]),
            });
          }
          visit(pair.value, [...path, isScalar(key) ? String(key.value) : "?"]);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => visit(item, [...path, i]));
      }
    };
    visit(this.doc.contents, []);
    return issues;
  }
}

function kindOf(v: unknown): string {
  if (v === null) return "null value";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "number") return "number";
  return typeof v;
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}
