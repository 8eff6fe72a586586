import {
  Composer,
  Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  visit,
  type CST,
  type Node,
  type Pair,
  type YAMLMap,
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
/** context.yaml needs about 6 levels; the composer and every later walk recurse once per level. */
export const MAX_NESTING = 64;

// Tags of the YAML 1.2 core schema: what a plain value resolves to anyway. Any other tag
// (!!binary, !!set, !!timestamp, !custom) would turn a scalar into something that is not text.
const CORE_TAGS = new Set(["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`));

/** A flow collection or quoted scalar that the text opens and never closes. */
interface Unclosed {
  offset: number;
  opener: "[" | "{" | '"' | "'";
}

/** A tag as written (`!!binary`, `!mine`, `!<tag:x>`) and the offset of its `!`. */
interface TagToken {
  offset: number;
  source: string;
}

/**
 * What the concrete syntax tree says before anything is composed: how deep it nests, what is left
 * open, and where each tag is written (the composed node's range starts at its value, after the tag).
 */
function scanTokens(tokens: readonly CST.Token[]): {
  tooDeep?: number;
  unclosed: Unclosed[];
  documents: number[];
  tags: TagToken[];
} {
  const unclosed: Unclosed[] = [];
  const documents: number[] = [];
  const tags: TagToken[] = [];
  const props = (list: readonly (CST.SourceToken | CST.Token)[] | undefined) => {
    for (const t of list ?? []) if (t.type === "tag") tags.push({ offset: t.offset, source: t.source });
  };
  // An explicit stack: the syntax tree of a hostile file may nest 100,000 levels.
  const stack: [CST.Token | undefined, number][] = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (!token) continue;
    switch (token.type) {
      case "document":
        documents.push(token.offset);
        props(token.start);
        stack.push([token.value, 0]);
        break;
      case "block-map":
      case "block-seq":
      case "flow-collection": {
        if (depth + 1 > MAX_NESTING) return { tooDeep: token.offset, unclosed, documents, tags };
        if (token.type === "flow-collection") {
          const close = token.start.source === "[" ? "]" : "}";
          if (!token.end.some((t) => t.source === close))
            unclosed.push({ offset: token.start.offset, opener: token.start.source as "[" | "{" });
        }
        for (const item of token.items) {
          const entry = item as {
            start?: CST.SourceToken[];
            sep?: CST.SourceToken[];
            key?: CST.Token | null;
            value?: CST.Token;
          };
          props(entry.start);
          props(entry.sep);
          if (entry.key) stack.push([entry.key, depth + 1]);
          stack.push([entry.value, depth + 1]);
        }
        break;
      }
      case "double-quoted-scalar":
        if (!/^"(?:[^"\\]|\\[\s\S])*"$/.test(token.source)) unclosed.push({ offset: token.offset, opener: '"' });
        break;
      case "single-quoted-scalar":
        if (!/^'(?:[^']|'')*'$/.test(token.source)) unclosed.push({ offset: token.offset, opener: "'" });
        break;
      case "block-scalar":
        props(token.props);
        break;
      default:
        break;
    }
  }
  return { unclosed, documents, tags: tags.sort((a, b) => a.offset - b.offset) };
}

function unclosedMessage(u: Unclosed): string {
  switch (u.opener) {
    case "[":
      return "YAML: This [ opens a list that is never closed: end it with ] (a list written over several lines needs each line indented past its key)";
    case "{":
      return "YAML: This { opens a mapping that is never closed: end it with }";
    case '"':
      return 'YAML: This " opens a string that is never closed: end it with " on the same line (write \\" for a quote inside it)';
    case "'":
      return "YAML: This ' opens a string that is never closed: end it with ' on the same line (write '' for a quote inside it)";
  }
}

/** Whether a tag as written (`!!binary`, `!x`, `!<x>`) is the resolved tag; %TAG handles are not followed. */
function tagMatches(source: string, tag: string): boolean {
  if (source.startsWith("!<") && source.endsWith(">")) return source.slice(2, -1) === tag;
  return source === tagName(tag);
}

/** `: NAME: "aGVsbG8="` (or the key alone), the scalar's own text quoted, when it is short enough to quote in a message. */
function quotedSuggestion(node: unknown, name: string): string {
  const text = isScalar(node) ? (node.source ?? (typeof node.value === "string" ? node.value : undefined)) : undefined;
  if (typeof text !== "string" || text.length > 60 || /[\n\r]/.test(text)) return "";
  return `: write ${name ? `${formatPath([name])}: ` : ""}${JSON.stringify(text)}${name ? "" : ":"}`;
}

function tagName(tag: string): string {
  return tag.startsWith("tag:yaml.org,2002:") ? `!!${tag.slice("tag:yaml.org,2002:".length)}` : tag;
}

/** A parsed YAML file that can answer "where is this key path?" for error messages and provenance. */
export class YamlSource {
  /** Each mapping's pairs by key, built on first lookup: `locate` is called once per value of a file with 100,000 of them. */
  private readonly keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly tags: readonly TagToken[] = [],
  ) {}

  /**
   * Parses YAML 1.2 (core schema); returns the problems instead of throwing. `value` is undefined
   * when the document is unusable (a syntax error, a second document, an unclosed bracket or
   * quote, nesting too deep, a tag outside the core schema, an alias bomb); with problems the
   * document survives (a duplicate key, a non-string key, a warning) it is there, so the caller can
   * still validate the rest and report every problem at once. A leading byte-order mark is dropped.
   */
  static parse(file: string, input: string): { source: YamlSource; value: unknown; issues: Issue[] } {
    const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
    const lines = new LineCounter();
    const tokens = [...new Parser(lines.addNewLine).parse(text)];
    const scan = scanTokens(tokens);
    const options = { version: "1.2", uniqueKeys: false, maxAliasCount: MAX_ALIAS_COUNT } as const;
    if (scan.tooDeep !== undefined) {
      // Composing would recurse once per level: stop before it does.
      const source = new YamlSource(file, new Document(null, options) as Document.Parsed, lines);
      const message = `YAML: This collection is nested more than ${MAX_NESTING} levels deep; context.yaml needs a few levels (see docs/context-yaml.md), so bakeplan does not read further. Flatten it`;
      return { source, value: undefined, issues: [{ message, location: source.at(scan.tooDeep) }] };
    }
    const docs = [...new Composer(options).compose(tokens, true, text.length)];
    const doc = (docs[0] ?? new Document(null, options)) as Document.Parsed;
    const source = new YamlSource(file, doc, lines, scan.tags);
    const issues: Issue[] = [];
    if (scan.documents.length > 1)
      issues.push({
        message:
          "YAML: A second YAML document starts here (after a --- or ... line); context.yaml is one document: remove the line and merge what follows into the first, or move it to another file",
        location: source.at(scan.documents.sort((a, b) => a - b)[1]!),
      });
    // A syntax error after an unclosed [, { or quote is reported where that was opened.
    const firstUnclosed = scan.unclosed.length > 0 ? Math.min(...scan.unclosed.map((u) => u.offset)) : Infinity;
    for (const u of scan.unclosed.sort((a, b) => a.offset - b.offset))
      if (doc.errors.length > 0) issues.push({ message: unclosedMessage(u), location: source.at(u.offset) });
    for (const e of doc.errors)
      if (e.pos[0] < firstUnclosed)
        issues.push({ message: `YAML: ${firstLine(e.message)}`, location: source.at(e.pos[0]) });
    if (issues.length > 0) return { source, value: undefined, issues };
    for (const w of doc.warnings)
      // A tag yaml cannot resolve, or one on the wrong kind of node: reported at the tag below, in words.
      if (w.code !== "TAG_RESOLVE_FAILED" && w.code !== "BAD_COLLECTION_TYPE")
        issues.push({ message: `YAML: ${firstLine(w.message)}`, location: source.at(w.pos[0]) });
    const nodes = source.nodeIssues();
    issues.push(...nodes.issues);
    // A tag turns a value into something other than text: the schema's messages about it would be yaml's types.
    if (nodes.fatal) return { source, value: undefined, issues };
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
        const pair = this.pairOf(node, String(seg));
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

  /**
   * Every string of the file, in file order: each mapping key and each string value, with its key
   * path (an alias is not followed: its anchor is visited where it is written).
   */
  strings(): { text: string; path: KeyPath; key: boolean }[] {
    const out: { text: string; path: KeyPath; key: boolean }[] = [];
    const walk = (node: unknown, path: (string | number)[]) => {
      if (isScalar(node)) {
        if (typeof node.value === "string") out.push({ text: node.value, path, key: false });
      } else if (isMap(node)) {
        for (const pair of node.items) {
          const name = isScalar(pair.key) ? String(pair.key.value) : "?";
          if (isScalar(pair.key) && typeof pair.key.value === "string")
            out.push({ text: pair.key.value, path: [...path, name], key: true });
          walk(pair.value, [...path, name]);
        }
      } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
    };
    walk(this.doc.contents, []);
    return out;
  }

  /** The text as written for the scalar at `path`, e.g. "3.10" for a value YAML reads as 3.1. */
  sourceText(path: KeyPath): string | undefined {
    const node = this.doc.getIn(path, true);
    return isScalar(node) ? (node.source ?? String(node.value)) : undefined;
  }

  private pairOf(map: YAMLMap, key: string): Pair | undefined {
    let index = this.keyIndex.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items)
        if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
      this.keyIndex.set(map, index);
    }
    return index.get(key);
  }

  /**
   * The tag written for the node whose value starts at `offset`: the last tag before it that
   * resolves to `tag` (a tag on an inner key may come between), else the last one before it.
   */
  private tagBefore(offset: number, tag: string): TagToken | undefined {
    let lo = 0;
    let hi = this.tags.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tags[mid]!.offset < offset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && i >= lo - 4; i--) if (tagMatches(this.tags[i]!.source, tag)) return this.tags[i];
    return lo > 0 ? this.tags[lo - 1] : undefined;
  }

  /**
   * One walk of the composed tree: a key twice in one mapping (YAML would keep the last; found
   * with a Set per mapping, not yaml's pairwise uniqueKeys, which is quadratic), a key that is not
   * a string (`13.0:` becomes the string "13" in JavaScript), and a tag that is not the core schema's.
   */
  private nodeIssues(): { issues: Issue[]; fatal: boolean } {
    const issues: Issue[] = [];
    let fatal = false;
    // A tag outside the core schema, reported at its `!`: what was written and what to write instead.
    const tagIssue = (node: unknown, path: (string | number)[], isKey = false): boolean => {
      const tag = (node as { tag?: string }).tag;
      const range = (node as Node).range;
      if (tag === undefined || CORE_TAGS.has(tag) || !range) return false;
      const written = this.tagBefore(range[0], tag);
      const shown = written?.source ?? tagName(tag);
      const what = isKey ? "key" : isSeq(node) ? "list" : isMap(node) ? "mapping" : "value";
      const name = path.length > 0 && typeof path[path.length - 1] === "string" ? String(path[path.length - 1]) : "";
      const instead = isCollection(node)
        ? `Remove the tag${name ? `: write ${formatPath([name])}: with the ${what} as it is` : ""}`
        : `Remove the tag and quote the ${what}${quotedSuggestion(node, isKey ? "" : name)}`;
      issues.push({
        message: `YAML: The tag ${shown} asks for a type of its own instead of ${isCollection(node) ? `a plain ${what}` : "text"}; context.yaml holds only plain strings, numbers, lists and mappings, without tags. ${instead}`,
        location: this.at(written?.offset ?? range[0], path),
      });
      return true;
    };
    const walk = (node: unknown, path: (string | number)[]) => {
      if (isAlias(node) || !node) return;
      fatal = tagIssue(node, path) || fatal;
      if (isMap(node)) {
        const seen = new Set<string>();
        for (const pair of node.items) {
          const key = pair.key;
          const name = isScalar(key) ? String(key.value) : "?";
          if (isScalar(key)) fatal = tagIssue(key, [...path, name], true) || fatal;
          if (isScalar(key) && key.range) {
            if (typeof key.value !== "string") {
              const text = key.source ?? String(key.value);
              issues.push({
                message: `Invalid key: YAML reads ${text} as the ${kindOf(key.value)} ${String(key.value)}. Quote it: "${text}"`,
                location: this.at(key.range[0], [...path, name]),
              });
            } else if (seen.has(name))
              issues.push({
                message: `YAML: Duplicate key "${name}": keys of a mapping must be unique; remove or merge one of them`,
                location: this.at(key.range[0], [...path, name]),
              });
            seen.add(name);
          } else if (key !== null && !isScalar(key) && (key as Node | undefined)?.range) {
            fatal = true;
            issues.push({
              message: "YAML: A list or mapping used as a key; keys are strings. Write the key as a quoted string",
              location: this.at((key as Node).range![0], path),
            });
          }
          walk(pair.value, [...path, name]);
        }
      } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
    };
    walk(this.doc.contents, []);
    return { issues, fatal };
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
