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
  /** Null when too little of the line is literal to recognise it (`{{ x }}`, `{% tag %}`). */
  pattern: RegExp | null;
}

const LIQUID = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/;

function sourceLine(text: string): SourceLine {
  if (!text.includes("{")) return { text, pattern: null };
  // Whitespace is dropped on both sides: `{%- -%}` and tidying move it around the literal parts.
  const pieces = text.split(LIQUID).map((p) => p.replace(/\s+/g, ""));
  if (pieces.join("").length < 4) return { text, pattern: null };
  const escaped = pieces.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return { text, pattern: new RegExp(`^${escaped.join(".*")}$`, "s") };
}

/** Does rendered line `text` come from template line `src` (both trimmed)? */
function sameLine(text: string, src: SourceLine): boolean {
  if (text === src.text) return true;
  // `ARG X=value` comes from `{% arg ... X ... %}`.
  const arg = /^ARG ([A-Za-z_][A-Za-z0-9_]*)=/.exec(text);
  if (arg && new RegExp(`^\\{%-?\\s*arg\\b[^%]*\\b${arg[1]}\\b`).test(src.text)) return true;
  if (src.pattern?.test(text.replace(/\s+/g, ""))) return true;
  // A value that spans lines leaves only the first with the line's literal start.
  const literal = src.text.split(/\{[{%]/)[0]!;
  return literal.length >= 4 && literal !== src.text && text.startsWith(literal);
}

/** A template being rendered at a point of the Dockerfile: where its next line is looked for. */
interface Frame {
  template: string;
  lines: SourceLine[] | undefined;
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
 * to the including template.
 */
export function templateLineOf(
  dockerfile: string,
  line: number,
  templates: TemplateFiles,
  dirLabel: string,
): TemplateLine | undefined {
  const lines = dockerfile.split("\n");
  const prefix = `# --- ${dirLabel}/`;
  const parsed = new Map<string, SourceLine[]>();
  const frame = (template: string): Frame => {
    const source = templates.get(template);
    let src = parsed.get(template);
    if (source !== undefined && !src) {
      src = source.split("\n").map((l) => sourceLine(l.trim()));
      parsed.set(template, src);
    }
    return { template, lines: src, source, cursor: 0 };
  };
  const stack: Frame[] = [];
  const last = Math.min(line, lines.length);
  for (let i = 0; i < last; i++) {
    const raw = lines[i]!;
    const target = i === line - 1;
    if (raw.startsWith(prefix) && raw.endsWith(" ---")) {
      const template = raw.slice(prefix.length, -" ---".length);
      enter(stack, frame(template));
      if (target) return { template };
      continue;
    }
    const top = stack.at(-1);
    if (!top) {
      if (target) return undefined;
      continue;
    }
    const text = raw.trim();
    if (text === "") {
      if (target) return { template: top.template };
      continue;
    }
    // The innermost template first: a line that only its includer has further down ends it.
    for (let d = stack.length - 1; d >= 0; d--) {
      const f = stack[d]!;
      const j = f.lines ? nextMatch(f.lines, f.cursor, text) : -1;
      if (j < 0) continue;
      stack.length = d + 1;
      f.cursor = j + 1;
      if (target) return { template: f.template, line: j + 1 };
      break;
    }
    if (target) {
      // Not in order (a loop rendered it again): any line of the innermost template like it.
      const anywhere = top.lines ? nextMatch(top.lines, 0, text) : -1;
      return anywhere < 0 ? { template: top.template } : { template: top.template, line: anywhere + 1 };
    }
  }
  return stack.length > 0 ? { template: stack.at(-1)!.template } : undefined;
}

function nextMatch(lines: readonly SourceLine[], from: number, text: string): number {
  for (let j = from; j < lines.length; j++) if (sameLine(text, lines[j]!)) return j;
  return -1;
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
    const includes = (f.source === undefined ? [] : templateReferences(f.source))
      .filter((r) => r.tag !== "layout" && includedTemplate(r.target).template === next.template)
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
