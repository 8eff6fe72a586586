// Tag and cache-tag patterns: `{placeholder}`s, literal text, and optional parts `[...]` that
// disappear when a placeholder inside them has no value. Parsed once (normalize.ts), checked by
// rules.ts, filled per target by plan/naming.ts and compared as languages by tag-languages.ts.

export type PatternPiece = { kind: "text"; text: string } | { kind: "placeholder"; key: string };
export type PatternPart = PatternPiece | { kind: "optional"; pieces: PatternPiece[] };

export interface ParsedPattern {
  source: string;
  parts: PatternPart[];
  /** What is malformed (an unclosed `{` or `[`, a nested `[`), each a sentence. */
  problems: string[];
}

export function parsePattern(source: string): ParsedPattern {
  const parts: PatternPart[] = [];
  const problems: string[] = [];
  let group: PatternPiece[] | undefined;
  const push = (piece: PatternPiece) => {
    const into: PatternPart[] = group ?? parts;
    const last = into[into.length - 1];
    if (piece.kind === "text" && last?.kind === "text") last.text += piece.text;
    else into.push(piece);
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "{") {
      const end = source.indexOf("}", i + 1);
      const next = source.indexOf("{", i + 1);
      if (end === -1 || (next !== -1 && next < end)) {
        problems.push(`"{" at position ${i + 1} is not closed by "}"`);
        continue;
      }
      push({ kind: "placeholder", key: source.slice(i + 1, end) });
      i = end;
    } else if (c === "}") problems.push(`"}" at position ${i + 1} closes no "{"`);
    else if (c === "[") {
      if (group) problems.push(`"[" at position ${i + 1} opens an optional part inside another; they do not nest`);
      else group = [];
    } else if (c === "]") {
      if (!group) {
        problems.push(`"]" at position ${i + 1} closes no "["`);
        continue;
      }
      if (!group.some((p) => p.kind === "placeholder"))
        problems.push(
          `The optional part "[${group.map(pieceText).join("")}]" has no placeholder, so it would always be kept; write its text without brackets`,
        );
      parts.push({ kind: "optional", pieces: group });
      group = undefined;
    } else push({ kind: "text", text: c });
  }
  if (group) problems.push(`"[" is not closed by "]"`);
  return { source, parts, problems };
}

function pieceText(p: PatternPiece): string {
  return p.kind === "text" ? p.text : `{${p.key}}`;
}

/** Every placeholder key of a pattern, in order, optional parts included. */
export function placeholderKeys(pattern: ParsedPattern): string[] {
  return pattern.parts.flatMap((p) =>
    p.kind === "placeholder"
      ? [p.key]
      : p.kind === "optional"
        ? p.pieces.flatMap((q) => (q.kind === "placeholder" ? [q.key] : []))
        : [],
  );
}

/** The literal text of a pattern (placeholders and brackets left out), which must be valid tag text by itself. */
export function literalText(pattern: ParsedPattern): string {
  return pattern.parts
    .map((p) =>
      p.kind === "text"
        ? p.text
        : p.kind === "optional"
          ? p.pieces.map((q) => (q.kind === "text" ? q.text : "")).join("")
          : "",
    )
    .join("");
}

/**
 * Built-in placeholders. `name` is the target name and `platforms` its platforms (`linux/` dropped,
 * joined by `-`, as Dynamo's CI writes `amd64-arm64`); the others come from the command line.
 */
export const BUILT_IN_PLACEHOLDERS = [
  "name",
  "version",
  "sha",
  "sha_short",
  "branch",
  "branch_kind",
  "platforms",
] as const;
export type BuiltIn = (typeof BUILT_IN_PLACEHOLDERS)[number];

/** Built-ins from command-line inputs: a tag whose input is absent is left out (a local plan has no --sha). */
export const INPUT_PLACEHOLDERS: ReadonlySet<string> = new Set([
  "version",
  "sha",
  "sha_short",
  "branch",
  "branch_kind",
]);

/** What one placeholder stands for. */
export type Meaning =
  | { kind: "built-in"; name: BuiltIn }
  | { kind: "axis"; axis: string }
  | { kind: "token"; axis: string }
  | { kind: "var"; name: string };

/** The qualified spelling of a meaning, which is never ambiguous. */
export function qualified(m: Meaning): string {
  switch (m.kind) {
    case "built-in":
      return `{build.${m.name}}`;
    case "axis":
      return `{matrix.${m.axis}}`;
    case "token":
      return `{matrix.${m.axis}.name}`;
    case "var":
      return `{vars.${m.name}}`;
  }
}

const isBuiltIn = (s: string): s is BuiltIn => (BUILT_IN_PLACEHOLDERS as readonly string[]).includes(s);

/** Axis names that would make the qualified placeholder forms ambiguous (rules.ts refuses them). */
export const RESERVED_AXIS_NAMES: readonly string[] = ["build", "matrix", "vars"];

/**
 * Every meaning a placeholder key can have: `{cuda}` (axis value), `{cuda.name}` (its name
 * token), `{vars.X}` (a template value), a built-in, and the qualified forms `{matrix.cuda}`,
 * `{matrix.cuda.name}`, `{build.version}`. More than one meaning is ambiguous (an axis named
 * `version`); none is unknown.
 */
export function meaningsOf(key: string, axes: readonly string[]): Meaning[] {
  const out: Meaning[] = [];
  const axisOrToken = (k: string) => {
    if (axes.includes(k)) out.push({ kind: "axis", axis: k });
    if (k.endsWith(".name") && axes.includes(k.slice(0, -".name".length)))
      out.push({ kind: "token", axis: k.slice(0, -".name".length) });
  };
  if (isBuiltIn(key)) out.push({ kind: "built-in", name: key });
  axisOrToken(key);
  if (key.startsWith("vars.") && key.length > "vars.".length)
    out.push({ kind: "var", name: key.slice("vars.".length) });
  const inBuild = key.startsWith("build.") ? key.slice("build.".length) : "";
  if (isBuiltIn(inBuild)) out.push({ kind: "built-in", name: inBuild });
  if (key.startsWith("matrix.")) axisOrToken(key.slice("matrix.".length));
  return out.filter((m, i) => out.findIndex((o) => qualified(o) === qualified(m)) === i);
}

/** How a placeholder reads its value for one target: undefined when it has none. */
export type Lookup = (meaning: Meaning) => string | undefined;

export type Filled =
  | { kind: "tag"; tag: string }
  /** A command-line input the pattern needs outside an optional part is absent: the tag is left out. */
  | { kind: "absent"; key: string }
  /** A value outside an optional part is empty for this target (an axis that does not apply, a "" name token). */
  | { kind: "empty"; key: string };

/**
 * Fills a pattern. An optional part is kept only when every placeholder in it has a non-empty
 * value. Keys are resolved by `meaningsOf`; rules.ts refuses unknown and ambiguous ones first.
 */
export function fillPattern(pattern: ParsedPattern, axes: readonly string[], lookup: Lookup): Filled {
  let out = "";
  const valueOf = (key: string) => {
    const [m] = meaningsOf(key, axes);
    return m === undefined ? undefined : lookup(m);
  };
  for (const part of pattern.parts) {
    if (part.kind === "text") out += part.text;
    else if (part.kind === "placeholder") {
      const v = valueOf(part.key);
      if (v === undefined || v === "") {
        const [m] = meaningsOf(part.key, axes);
        return m?.kind === "built-in" && INPUT_PLACEHOLDERS.has(m.name)
          ? { kind: "absent", key: part.key }
          : { kind: "empty", key: part.key };
      }
      out += v;
    } else {
      let group = "";
      let keep = true;
      for (const piece of part.pieces) {
        if (piece.kind === "text") group += piece.text;
        else {
          const v = valueOf(piece.key);
          if (v === undefined || v === "") {
            keep = false;
            break;
          }
          group += v;
        }
      }
      if (keep) out += group;
    }
  }
  return { kind: "tag", tag: out };
}
