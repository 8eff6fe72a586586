import { includedTemplate, positionAt, templateReferences, type TemplateFiles } from "./template-refs.js";

export interface TemplateLine {
  /** Template file name inside the template directory, e.g. `vllm_runtime.liquid`. */
  template: string;
  /** 1-based line in the template, when the rendered line could be matched to one. */
  line?: number;
}

/** A template line as a matcher: its literal text with every `{{ }}` and `{% %}` as a wildcard. */
interface SourceLine {
  text: string;
  /**
   * The literal parts between the tags and outputs, without whitespace: a line matches when it has
   * them in order, the first at its start and the last at its end. Null when too little of the
   * line is literal to recognise it (`{{ x }}`, `{% tag %}`).
   */
  pattern: readonly string[] | null;
  /** The names after `arg` in a `{% arg ... %}` line: `ARG X=value` comes from one that names X. */
  argNames?: ReadonlySet<string>;
  /** The literal start of a line with a tag or output in it (a value that spans lines leaves only the first with it). */
  literal?: string;
}

const LIQUID = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/;

function sourceLine(text: string): SourceLine {
  if (!text.includes("{")) return { text, pattern: null };
  const arg = /^\{%-?\s*arg\b([^%]*)/.exec(text);
  const argNames = arg ? new Set(arg[1]!.match(/\w+/g) ?? []) : undefined;
  const literal = text.split(/\{[{%]/)[0]!;
  const starts = literal.length >= 4 && literal !== text ? literal : undefined;
  // Whitespace is dropped on both sides: `{%- -%}` and tidying move it around the literal parts.
  const pieces = text.split(LIQUID).map((p) => p.replace(/\s+/g, ""));
  if (pieces.join("").length < 4) return { text, pattern: null, argNames, literal: starts };
  return { text, pattern: pieces, argNames, literal: starts };
}

/**
 * Whether `text` is the pieces with anything between them: the first piece at its start, the last
 * at its end, the ones between in order, each found as early as it can be (with wildcards only,
 * the earliest place never loses a match a later one would give). Linear, where a regular
 * expression of `.*`s backtracks.
 */
export function matchesPieces(text: string, pieces: readonly string[]): boolean {
  const first = pieces[0]!;
  if (pieces.length === 1) return text === first;
  const last = pieces[pieces.length - 1]!;
  const end = text.length - last.length;
  if (end < first.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  for (let k = 1; k < pieces.length - 1; k++) {
    const piece = pieces[k]!;
    const found = text.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/** A rendered line (trimmed) as the matchers read it, worked out once per line. */
interface RenderedLine {
  text: string;
  /** The ARG name of an `ARG X=value` line. */
  arg?: string;
  /** The text without whitespace, for the patterns. */
  squeezed?: string;
}

/** Does rendered line `line` come from template line `src` (both trimmed)? */
function sameLine(line: RenderedLine, src: SourceLine): boolean {
  if (line.text === src.text) return true;
  // `ARG X=value` comes from `{% arg ... X ... %}`.
  if (line.arg !== undefined && src.argNames?.has(line.arg)) return true;
  if (src.pattern) {
    const squeezed = (line.squeezed ??= line.text.replace(/\s+/g, ""));
    if (matchesPieces(squeezed, src.pattern)) return true;
  }
  // A value that spans lines leaves only the first with the line's literal start.
  return src.literal !== undefined && line.text.startsWith(src.literal);
}

/** `line.trim()`, without a copy when the line starts and ends in printable ASCII (almost always). */
function trimmed(line: string): string {
  const first = line.length > 0 ? line.charCodeAt(0) : 32;
  const last = line.length > 0 ? line.charCodeAt(line.length - 1) : 32;
  return first > 32 && first < 127 && last > 32 && last < 127 ? line : line.trim();
}

/** A template being rendered at a point of the Dockerfile: where its next line is looked for. */
interface Frame {
  template: string;
  lines: TemplateMatchers | undefined;
  source: string | undefined;
  /** Index of the template line the next rendered line is looked for from. */
  cursor: number;
  /** Offset of the include that rendered the template entered last. */
  include?: number;
}

/**
 * Maps a line of a rendered Dockerfile back to the template line it came from. Each template's
 * output starts with its source marker (`# --- templates/x.liquid ---`); an included template's
 * output ends where its includer's lines resume, which nothing marks. So the Dockerfile is read
 * from the top with a stack of templates: a marker enters the template (after the include line
 * that named it in the template that includes it), and each rendered line is aligned with the
 * innermost template that has a line like it further down, in order, so a line whose text appears
 * twice in the template maps to the occurrence that produced it, and a line after an include maps
 * to the including template. Where the markers alone say what that read would have on its stack
 * at a marker (the entry template includes every template marked before it, and the marked one
 * once and alone), a line is read from its marker instead: `affected` asks for a line near the
 * end of dozens of Dockerfiles.
 */
export function templateLineOf(
  dockerfile: string,
  line: number,
  templates: TemplateFiles,
  dirLabel: string,
): TemplateLine | undefined {
  return sourceMap(dockerfile, templates, dirLabel)(line);
}

/**
 * A Dockerfile's source map of its own, for a caller that keeps it while it asks (and lets it go
 * after): templateLineOf keeps every map it made for as long as its templates live.
 */
export function sourceMapOf(dockerfile: string, templates: TemplateFiles, dirLabel: string): LineMap {
  return mapLines(dockerfile, templates, dirLabel);
}

/** A Dockerfile's source map read from the top of the file, never from a marker: what the markers' shortcut is tested against. */
export function sourceMapReadFromTop(dockerfile: string, templates: TemplateFiles, dirLabel: string): LineMap {
  return mapLines(dockerfile, templates, dirLabel, false);
}

/** Rendered lines the source maps have read: a test fails when the markers' shortcut stops being taken. */
export const sourceMapCounts = { linesRead: 0 };

/**
 * The map of a rendered Dockerfile's lines, kept per Dockerfile text for the templates it was
 * asked with and read once, from the top or from a marker, as far as the furthest line asked for:
 * `affected` names a template line for many targets of one file.
 */
function sourceMap(dockerfile: string, templates: TemplateFiles, dirLabel: string): LineMap {
  let byLabel = sourceMaps.get(templates);
  if (!byLabel) sourceMaps.set(templates, (byLabel = new Map<string, Map<string, LineMap>>()));
  let byText = byLabel.get(dirLabel);
  if (!byText) byLabel.set(dirLabel, (byText = new Map<string, LineMap>()));
  let map = byText.get(dockerfile);
  if (!map) byText.set(dockerfile, (map = mapLines(dockerfile, templates, dirLabel)));
  return map;
}

export type LineMap = (line: number) => TemplateLine | undefined;
/** By templates, directory label and Dockerfile text. */
const sourceMaps = new WeakMap<TemplateFiles, Map<string, Map<string, LineMap>>>();
const matchersOf = new WeakMap<TemplateFiles, Map<string, TemplateMatchers>>();

function mapLines(dockerfile: string, templates: TemplateFiles, dirLabel: string, shortcut = true): LineMap {
  const lines = dockerfile.split("\n");
  const prefix = `# --- ${dirLabel}/`;
  const markerOf = (raw: string) =>
    raw.startsWith(prefix) && raw.endsWith(" ---") ? raw.slice(prefix.length, -" ---".length) : undefined;
  // A template's lines as matchers, made once for every Dockerfile mapped with these templates.
  const matchers = matchersOf.get(templates) ?? new Map<string, TemplateMatchers>();
  matchersOf.set(templates, matchers);
  const frame = (template: string): Frame => {
    const source = templates.get(template);
    let src = matchers.get(template);
    if (source !== undefined && !src) {
      src = templateMatchers(
        template,
        source.split("\n").map((l) => sourceLine(l.trim())),
      );
      matchers.set(template, src);
    }
    return { template, lines: src, source, cursor: 0 };
  };

  /** Reads on from line index `start` with this stack, as far as the furthest line asked for. */
  const reader = (start: number, stack: Frame[]) => {
    // Per line read so far: where it maps, or how to find it (a line out of order is looked for when asked).
    const at: (TemplateLine | undefined | (() => TemplateLine))[] = [];
    const mapLine = (raw: string): TemplateLine | undefined | (() => TemplateLine) => {
      const marked = markerOf(raw);
      if (marked !== undefined) {
        enter(stack, frame(marked));
        return { template: marked };
      }
      const top = stack.at(-1);
      if (!top) return undefined;
      const text = trimmed(raw);
      if (text === "") return top.lines?.whole ?? { template: top.template };
      // The innermost template first: a line that only its includer has further down ends it.
      for (let d = stack.length - 1; d >= 0; d--) {
        const f = stack[d]!;
        const j = f.lines ? nextMatch(f.lines, f.cursor, text) : -1;
        if (j < 0) continue;
        stack.length = d + 1;
        f.cursor = j + 1;
        return f.lines!.at[j]!;
      }
      // Not in order (a loop rendered it again): any line of the innermost template like it.
      return () => {
        const anywhere = top.lines ? nextMatch(top.lines, 0, text) : -1;
        return anywhere < 0 ? { template: top.template } : top.lines!.at[anywhere]!;
      };
    };
    return {
      stack,
      /** Index of the first line not read yet. */
      end: () => start + at.length,
      get(i: number): TemplateLine | undefined {
        for (let k = start + at.length; k <= i; k++) {
          at.push(mapLine(lines[k]!));
          sourceMapCounts.linesRead++;
        }
        let found = at[i - start];
        if (typeof found === "function") at[i - start] = found = found();
        return found;
      },
    };
  };
  type Reader = ReturnType<typeof reader>;

  const fromTop = reader(0, []);
  let markers: number[] | undefined;
  const fromMarker = new Map<number, Reader | null>();
  /**
   * A reader that starts at marker line `m` in the state a read from the top would reach there,
   * when that state follows from the markers alone (null when it may not): the file's first
   * marker enters its entry template, every marker after it up to `m` is of a template the entry
   * template includes, so the entry template stays at the bottom of the stack, and `m`'s template
   * is included once by the entry template and by no other template, so entering it leaves the
   * stack as the entry template, after that include, and it. Lines read before a marker move the
   * cursors of templates the marker then leaves behind, never the entry template's past its include.
   */
  const readerAt = (m: number): Reader | null => {
    const first = markers![0]!;
    if (m === first) return reader(m, []);
    const entry = markerOf(lines[first]!)!;
    const refs = includesOf(templates);
    const own = refs.get(entry);
    if (!own) return null;
    for (const k of markers!) {
      if (k <= first || k >= m) continue;
      if (!own.has(markerOf(lines[k]!)!)) return null;
    }
    const next = markerOf(lines[m]!)!;
    if (own.get(next) !== 1) return null;
    for (const [includer, counts] of refs) if (includer !== entry && counts.has(next)) return null;
    return reader(m, [frame(entry)]);
  };

  return (line) => {
    if (line < 1) return undefined;
    // A line below the last one: the template the file ends in.
    if (line > lines.length) {
      if (lines.length > 0) fromTop.get(lines.length - 1);
      return fromTop.stack.length > 0 ? { template: fromTop.stack.at(-1)!.template } : undefined;
    }
    const i = line - 1;
    if (shortcut && i >= fromTop.end()) {
      markers ??= lines.flatMap((raw, k) => (markerOf(raw) === undefined ? [] : [k]));
      const m = markerBefore(markers, i);
      if (m >= fromTop.end()) {
        let r = fromMarker.get(m);
        if (r === undefined) fromMarker.set(m, (r = readerAt(m)));
        if (r) return r.get(i);
      }
    }
    return fromTop.get(i);
  };
}

/** The last marker line at or before `i`, or -1. */
function markerBefore(markers: readonly number[], i: number): number {
  const k = firstIndexAtLeast(markers, i + 1);
  return k > 0 ? markers[k - 1]! : -1;
}

/** Per template, the templates it includes (not as a layout) and how many times: for the markers' shortcut. */
const includesCache = new WeakMap<TemplateFiles, Map<string, Map<string, number>>>();
function includesOf(templates: TemplateFiles): Map<string, Map<string, number>> {
  let refs = includesCache.get(templates);
  if (refs) return refs;
  refs = new Map();
  for (const [name, source] of templates) {
    const counts = new Map<string, number>();
    for (const r of includeReferences(source)) counts.set(r.template, (counts.get(r.template) ?? 0) + 1);
    refs.set(name, counts);
  }
  includesCache.set(templates, refs);
  return refs;
}

/** A template's lines as matchers, indexed: which lines a rendered line can come from at all. */
interface TemplateMatchers {
  lines: readonly SourceLine[];
  /** Text -> the lines with exactly that text, ascending. */
  exact: Map<string, number[]>;
  /** ARG name -> the `{% arg %}` lines that name it, ascending. */
  byArg: Map<string, number[]>;
  /** The lines with a pattern or a literal start, ascending: the only others that can match. */
  fuzzy: number[];
  /** Answers of nextMatch by `from` and rendered text: Dockerfiles rendered from these templates repeat most lines. */
  found: Map<number, Map<string, number>>;
  /** What a rendered line maps to, per template line: one object for every Dockerfile's lines that come from it. */
  at: readonly TemplateLine[];
  /** What a line of the template's output that no line matches maps to (a blank one). */
  whole: TemplateLine;
}

function templateMatchers(template: string, lines: readonly SourceLine[]): TemplateMatchers {
  const exact = new Map<string, number[]>();
  const byArg = new Map<string, number[]>();
  const fuzzy: number[] = [];
  const add = (m: Map<string, number[]>, key: string, j: number) => {
    const list = m.get(key);
    if (list) list.push(j);
    else m.set(key, [j]);
  };
  lines.forEach((src, j) => {
    add(exact, src.text, j);
    for (const name of src.argNames ?? []) add(byArg, name, j);
    if (src.pattern || src.literal !== undefined) fuzzy.push(j);
  });
  const at = lines.map((_, j) => ({ template, line: j + 1 }));
  return { lines, exact, byArg, fuzzy, found: new Map(), at, whole: { template } };
}

/** The first template line at or after `from` that rendered line `text` (trimmed) can come from (sameLine), or -1. */
function nextMatch(m: TemplateMatchers, from: number, text: string): number {
  // Read in order, a line is mostly the template line next: its text, when it has no tag or output.
  if (m.lines[from]?.text === text) return from;
  let known = m.found.get(from);
  if (!known) m.found.set(from, (known = new Map<string, number>()));
  let j = known.get(text);
  if (j === undefined) known.set(text, (j = firstMatchFrom(m, from, renderedLine(text))));
  return j;
}

function renderedLine(text: string): RenderedLine {
  return { text, arg: text.startsWith("ARG ") ? /^ARG ([A-Za-z_][A-Za-z0-9_]*)=/.exec(text)?.[1] : undefined };
}

/** nextMatch's answer when no Dockerfile asked it yet: the next few lines one by one, then the index beyond them. */
function firstMatchFrom(m: TemplateMatchers, from: number, line: RenderedLine): number {
  const near = Math.min(from + NEAR, m.lines.length);
  for (let j = from; j < near; j++) if (sameLine(line, m.lines[j]!)) return j;
  if (near >= m.lines.length) return -1;
  return firstMatch(m, near, line);
}

function firstMatch(m: TemplateMatchers, from: number, line: RenderedLine): number {
  let best = firstAtLeast(m.exact.get(line.text), from);
  if (line.arg !== undefined) best = Math.min(best, firstAtLeast(m.byArg.get(line.arg), from));
  const fuzzy = m.fuzzy;
  for (let k = firstIndexAtLeast(fuzzy, from); k < fuzzy.length && fuzzy[k]! < best; k++)
    if (sameLine(line, m.lines[fuzzy[k]!]!)) best = fuzzy[k]!;
  return best === Infinity ? -1 : best;
}

/** Template lines nextMatch tries one by one before it asks the index. */
const NEAR = 3;

/** The first value at least `from` of an ascending list, or Infinity. */
function firstAtLeast(list: readonly number[] | undefined, from: number): number {
  if (!list) return Infinity;
  const k = firstIndexAtLeast(list, from);
  return k < list.length ? list[k]! : Infinity;
}

function firstIndexAtLeast(list: readonly number[], from: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The templates a template's text renders inside its own output (include and render; a layout wraps it instead), with the tag's offset. */
function includeReferences(source: string): { template: string; offset: number }[] {
  return templateReferences(source)
    .filter((r) => r.tag !== "layout")
    .map((r) => ({ template: includedTemplate(r.target).template, offset: r.offset }));
}

/**
 * A marker of `next`: the templates on the stack that do not include it have ended; the one that
 * does goes on after the include that rendered it: the next one from where it is (two includes
 * may share a line), or, when a loop rendered an include again, the last one before that. A
 * template no one on the stack includes starts a new stack (the next entry template).
 */
function enter(stack: Frame[], next: Frame): void {
  while (stack.length > 0) {
    const f = stack.at(-1)!;
    const includes = (f.source === undefined ? [] : includeReferences(f.source))
      .filter((r) => r.template === next.template)
      .map((r) => ({ offset: r.offset, line: positionAt(f.source!, r.offset).line }));
    if (includes.length > 0) {
      const lastLine = f.include === undefined ? -1 : positionAt(f.source!, f.include).line;
      const ahead = includes.find((r) => r.offset > (f.include ?? -1) && (r.line > f.cursor || r.line === lastLine));
      const at = ahead ?? includes.filter((r) => r.line <= f.cursor).at(-1) ?? includes[0]!;
      f.cursor = at.line;
      f.include = at.offset;
      break;
    }
    stack.pop();
  }
  stack.push(next);
}
