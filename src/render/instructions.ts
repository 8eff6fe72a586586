// The instructions of a rendered Dockerfile, read the way BuildKit's parser reads them
// (moby/buildkit frontend/dockerfile/parser): comment lines dropped (also inside a continued
// instruction), `\` continuations joined, heredoc bodies kept verbatim. For `affected` and
// `images`, which need the stages, their FROM lines and their COPY/ADD/RUN --mount sources.

export interface Instruction {
  /** 1-based line of the instruction's first line in the file. */
  line: number;
  /** Upper-cased, e.g. `COPY`. */
  keyword: string;
  /** Everything after the keyword, continuation lines joined (the `\` and line break removed). */
  args: string;
  /** The instruction as written, comment lines removed: what a change of it is compared by. */
  text: string;
}

export interface StageSource {
  index: number;
  /** `AS name`, lower-cased as BuildKit compares stage names; undefined for an unnamed stage. */
  name?: string;
  /** The FROM instruction's image word and `--platform` flag, before ARG substitution. */
  image: string;
  platform?: string;
  /** The FROM instruction first. */
  instructions: Instruction[];
}

export interface DockerfileInstructions {
  /** Instructions before the first FROM (global ARGs). */
  global: Instruction[];
  stages: StageSource[];
}

const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/** Per parse: its lines, its instructions in file order and the 0-based line each one ends on, for a parse of the next revision. */
const flatOf = new WeakMap<DockerfileInstructions, { lines: string[]; flat: Instruction[]; ends: number[] }>();

/** The stage a FROM instruction opens, read once per instruction. */
const fromOf = new WeakMap<Instruction, Omit<StageSource, "index" | "instructions">>();

/**
 * Instructions shared by the parses of one run, by first line and lines as written: Dockerfiles
 * rendered from the same templates hold most of their instructions at the same lines (the 80 vLLM
 * Dockerfiles of the benchmark's matrix differ in about one instruction in five), so each distinct
 * instruction is read once, and what is computed per instruction object (stage-graph.ts,
 * compare.ts) is computed once for all the files that have it.
 */
export class InstructionPool {
  /** 1-based line -> the instruction's lines as written -> the instruction. */
  private readonly byLine = new Map<number, Map<string, Instruction>>();
  /** Instructions read, and instructions taken from the pool. */
  readonly counts = { parsed: 0, shared: 0 };

  get(line: number, written: string): Instruction | undefined {
    return this.byLine.get(line)?.get(written);
  }

  set(line: number, written: string, ins: Instruction): void {
    let m = this.byLine.get(line);
    if (!m) this.byLine.set(line, (m = new Map<string, Instruction>()));
    m.set(written, ins);
  }
}

/**
 * `previous`: a parse of another revision of this file. The instructions on the lines both texts
 * share at the start, and at the end once the parse is back in step, are the previous parse's
 * objects (shifted when the line count changed), so a one-line change parses one instruction and
 * what is computed per instruction (stage-graph.ts, compare.ts) is computed once for both.
 * `pool`: instructions of other files of this run, taken where the same lines stand at the same place.
 */
export function parseInstructions(
  text: string,
  previous?: { text: string; parsed: DockerfileInstructions },
  pool?: InstructionPool,
): DockerfileInstructions {
  const lines = text.split("\n");
  const flat: Instruction[] = [];
  const ends: number[] = [];
  let i = 0;
  let resume: ((at: number) => boolean) | undefined;
  const prev = previous && flatOf.get(previous.parsed);
  if (previous && prev) {
    const old = prev.lines;
    const shorter = Math.min(old.length, lines.length);
    let same = 0;
    while (same < shorter && old[same] === lines[same]) same++;
    let tail = 0;
    while (tail < shorter - same && old[old.length - 1 - tail] === lines[lines.length - 1 - tail]) tail++;
    // An instruction the next line still belongs to the shared start ended there in both texts.
    let k = 0;
    for (; k < prev.flat.length && prev.ends[k]! + 1 < same; k++) {
      flat.push(prev.flat[k]!);
      ends.push(prev.ends[k]!);
    }
    i = k > 0 ? ends[k - 1]! + 1 : 0;
    const delta = lines.length - old.length;
    let startsAt: Map<number, number> | undefined;
    // From an instruction start in the shared end, the rest parses as it did, `delta` lines on.
    resume = (at) => {
      if (at < lines.length - tail) return false;
      if (!startsAt) {
        startsAt = new Map();
        for (let n = k; n < prev.flat.length; n++) startsAt.set(prev.flat[n]!.line - 1, n);
      }
      const n = startsAt.get(at - delta);
      if (n === undefined) return false;
      for (let m = n; m < prev.flat.length; m++) {
        const ins = prev.flat[m]!;
        flat.push(delta === 0 ? ins : { line: ins.line + delta, keyword: ins.keyword, args: ins.args, text: ins.text });
        ends.push(prev.ends[m]! + delta);
      }
      return true;
    };
  }
  // Offset of each line in `text`, for the pool's keys (slices of `text`, not joined copies).
  let offsets: number[] | undefined;
  if (pool) {
    offsets = new Array<number>(lines.length);
    for (let n = 0, at = 0; n < lines.length; n++) {
      offsets[n] = at;
      at += lines[n]!.length + 1;
    }
  }
  while (i < lines.length) {
    const first = lines[i]!;
    const lead = firstNonBlank(first);
    if (lead < 0 || first.charCodeAt(lead) === HASH) {
      i++;
      continue;
    }
    if (resume?.(i)) break;
    const start = i;
    // The lines the instruction spans: `\` continues it (comment lines inside are dropped, as
    // BuildKit does); it ends on a line without one, or at the end of the file.
    let end = i;
    let complete = true;
    let written: number[] | undefined;
    while (continues(lines[end]!)) {
      if (end + 1 >= lines.length) {
        complete = false;
        break;
      }
      end++;
      while (end < lines.length && isComment(lines[end]!)) end++;
      if (end >= lines.length) {
        complete = false;
        end = lines.length - 1;
        break;
      }
      (written ??= [start]).push(end);
    }
    // Only an instruction that ends on a line without `\` and holds no heredoc (whose body depends
    // on its arguments) is pooled: its lines alone decide how it parses.
    let key: string | undefined;
    if (pool && complete) {
      key = text.slice(offsets![start], offsets![end]! + lines[end]!.length);
      if (key.includes("<<")) key = undefined;
      else {
        const hit = pool.get(start + 1, key);
        if (hit) {
          pool.counts.shared++;
          flat.push(hit);
          ends.push(end);
          i = end + 1;
          continue;
        }
      }
    }
    // Each continued line without its `\`; the last as it is, unless only comment lines follow it
    // (its `\` then continues into nothing). A `\` on the file's last line stays.
    const last = written ? written[written.length - 1]! : start;
    const lastBody = trimEnd(lines[last]!);
    let joined = !complete && last < lines.length - 1 ? lastBody.slice(0, -1) : lastBody;
    if (written) {
      let before = "";
      for (let n = 0; n < written.length - 1; n++) before += trimEnd(lines[written[n]!]!).slice(0, -1);
      joined = before + joined;
    }
    i = end + 1;
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined);
    const keyword = (m?.[1] ?? "").toUpperCase();
    let args = m?.[2] ?? "";
    const writtenLines = written ? written.map((n) => lines[n]!) : [first];
    // Heredocs (RUN/COPY/ADD <<EOF): the body lines follow the instruction, up to the terminator.
    if ((keyword === "RUN" || keyword === "COPY" || keyword === "ADD") && args.includes("<<")) {
      for (const h of args.matchAll(HEREDOC)) {
        const [, dash, , word] = h;
        while (i < lines.length) {
          const line = lines[i]!;
          writtenLines.push(line);
          i++;
          if ((dash ? line.replace(/^\t+/, "") : line) === word) break;
        }
      }
      if (writtenLines.length > 1 && args.match(HEREDOC)) args = `${args}\n${writtenLines.slice(1).join("\n")}`;
    }
    const ins = { line: start + 1, keyword, args, text: writtenLines.length === 1 ? first : writtenLines.join("\n") };
    flat.push(ins);
    ends.push(Math.min(i, lines.length) - 1);
    if (pool) {
      pool.counts.parsed++;
      if (key !== undefined) pool.set(start + 1, key, ins);
    }
  }
  const global: Instruction[] = [];
  const stages: StageSource[] = [];
  for (const instruction of flat) {
    if (instruction.keyword === "FROM")
      stages.push({ index: stages.length, ...fromStage(instruction), instructions: [instruction] });
    else if (stages.length === 0) global.push(instruction);
    else stages[stages.length - 1]!.instructions.push(instruction);
  }
  const parsed = { global, stages };
  flatOf.set(parsed, { lines, flat, ends });
  return parsed;
}

const HASH = 35; // "#"
const BACKSLASH_CODE = 92;

/** Index of the first character `trim()` keeps, or -1 for a blank line. Printable ASCII is never blank: only other characters ask the regex. */
function firstNonBlank(line: string): number {
  for (let n = 0; n < line.length; n++) {
    const c = line.charCodeAt(n);
    if (c > 32 && c < 127) return n;
    if (c !== 32 && !(c >= 9 && c <= 13) && !BLANK.test(line[n]!)) return n;
  }
  return -1;
}

/** `line.trim().startsWith("#")`. */
function isComment(line: string): boolean {
  const n = firstNonBlank(line);
  return n >= 0 && line.charCodeAt(n) === HASH;
}

/** `line.trimEnd().endsWith("\\")`. */
function continues(line: string): boolean {
  const last = line.length > 0 ? line.charCodeAt(line.length - 1) : 32;
  if (last > 32 && last < 127) return last === BACKSLASH_CODE;
  return line.trimEnd().endsWith("\\");
}

/** `line.trimEnd()`, without a copy when the line ends in printable ASCII (almost always). */
function trimEnd(line: string): string {
  const last = line.length > 0 ? line.charCodeAt(line.length - 1) : 32;
  return last > 32 && last < 127 ? line : line.trimEnd();
}

/** A character `trim()` removes (WhiteSpace and LineTerminator, which is what `\s` matches). */
const BLANK = /\s/;

function fromStage(instruction: Instruction): Omit<StageSource, "index" | "instructions"> {
  let stage = fromOf.get(instruction);
  if (!stage) {
    const flags = parseFlags(splitWords(instruction.args));
    const as = flags.rest[1]?.toLowerCase() === "as" ? flags.rest[2]?.toLowerCase() : undefined;
    stage = { name: as, image: flags.rest[0] ?? "", platform: flags.values.get("platform")?.[0] };
    fromOf.set(instruction, stage);
  }
  return stage;
}

/**
 * Words split on blanks outside quotes; quotes are kept (ARG values need them). `flagsOnly`: stop
 * after the first word that is not a `--flag` (a RUN's flags, without splitting its script).
 */
export function splitWords(s: string, opts: { flagsOnly?: boolean } = {}): string[] {
  // Every character of a word is kept (quotes and backslashes too), so a word is a slice of `s`.
  const words: string[] = [];
  let start = -1;
  let quote = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (quote !== 0) {
      if (c === BACKSLASH && quote === DOUBLE_QUOTE && i + 1 < s.length) i++;
      else if (c === quote) quote = 0;
      continue;
    }
    if (c === SPACE || c === TAB || c === NEWLINE) {
      if (start >= 0) {
        const word = s.slice(start, i);
        words.push(word);
        if (opts.flagsOnly && !word.startsWith("--")) return words;
      }
      start = -1;
      continue;
    }
    if (start < 0) start = i;
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) quote = c;
    else if (c === BACKSLASH && i + 1 < s.length) i++;
  }
  if (start >= 0) words.push(s.slice(start));
  return words;
}

const [SPACE, TAB, NEWLINE, DOUBLE_QUOTE, SINGLE_QUOTE, BACKSLASH] = [" ", "\t", "\n", '"', "'", "\\"].map((c) =>
  c.charCodeAt(0),
) as [number, number, number, number, number, number];

/** `--name=value` and `--name value`-less flags at the start of an instruction, then the rest. */
export function parseFlags(words: readonly string[]): { values: Map<string, string[]>; rest: string[] } {
  const values = new Map<string, string[]>();
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith("--")) break;
    const eq = w.indexOf("=");
    const name = (eq < 0 ? w.slice(2) : w.slice(2, eq)).toLowerCase();
    const list = values.get(name) ?? [];
    list.push(eq < 0 ? "" : unquote(w.slice(eq + 1)));
    values.set(name, list);
  }
  return { values, rest: words.slice(i) };
}

/** The sources of `COPY`/`ADD` in exec form (`["a", "b", "dest"]`) or shell form (`a b dest`). */
export function copySources(rest: readonly string[], args: string): string[] {
  const json = args.replace(/^(\s*--\S+\s+)*/, "").trim();
  if (json.startsWith("[")) {
    try {
      const list: unknown = JSON.parse(json);
      if (Array.isArray(list) && list.every((x) => typeof x === "string")) return list.slice(0, -1);
    } catch {
      // Not JSON after all: BuildKit reads it in shell form too.
    }
  }
  return rest.slice(0, -1).map(unquote);
}

export function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) return s.slice(1, -1);
  return s;
}

/** `a=b,c=d` (RUN --mount) as a map; a bare word `x` is `x=""`. */
export function parseCsv(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of s.split(",")) {
    const eq = part.indexOf("=");
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (key) out.set(key, eq < 0 ? "" : unquote(part.slice(eq + 1).trim()));
  }
  return out;
}

/** The names an `ARG a b=c d="e f"` instruction declares, with their defaults as written (undefined: none). */
export function argDeclarations(args: string): { name: string; value?: string }[] {
  return splitWords(args).map((w) => {
    const eq = w.indexOf("=");
    return eq < 0 ? { name: w } : { name: w.slice(0, eq), value: unquoteArg(w.slice(eq + 1)) };
  });
}

/** An ARG default as BuildKit reads it: quotes removed, `\` escapes in double quotes resolved. */
function unquoteArg(v: string): string {
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < v.length) out += v[++i];
      else out += c;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "\\" && i + 1 < v.length) out += v[++i];
    else out += c;
  }
  return out;
}

export interface Expansion {
  value: string;
  /** Names the word read (set or not). */
  used: string[];
}

/**
 * BuildKit's variable expansion of one word (frontend/dockerfile/shell/lex.go): `$A`, `${A}`,
 * `${A:-x}`, `${A-x}`, `${A:+x}`, `${A+x}`, `${A#p}`, `${A##p}`, `${A%p}`, `${A%%p}`, and `\$`.
 * An unset name expands to "".
 */
export function expandWord(word: string, lookup: (name: string) => string | undefined): Expansion {
  if (!word.includes("$")) return { value: word, used: [] };
  const used: string[] = [];
  const get = (name: string) => {
    used.push(name);
    return lookup(name);
  };
  let out = "";
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    if (c === "\\" && word[i + 1] === "$") {
      out += "$";
      i++;
      continue;
    }
    if (c !== "$") {
      out += c;
      continue;
    }
    const simple = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i + 1));
    if (simple) {
      out += get(simple[0]) ?? "";
      i += simple[0].length;
      continue;
    }
    if (word[i + 1] !== "{") {
      out += c;
      continue;
    }
    const close = matchingBrace(word, i + 1);
    if (close < 0) {
      out += word.slice(i);
      break;
    }
    const inner = word.slice(i + 2, close);
    i = close;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])|(##?|%%?))?([\s\S]*)$/.exec(inner);
    if (!m) continue;
    const [, name, op, trim, rest] = m as unknown as [string, string, string | undefined, string | undefined, string];
    const value = get(name);
    const sub = () => expandWord(rest, lookup);
    if (op === undefined && trim === undefined) out += value ?? "";
    else if (op === ":-") out += value ? value : collect(sub(), used);
    else if (op === "-") out += value !== undefined ? value : collect(sub(), used);
    else if (op === ":+") out += value ? collect(sub(), used) : "";
    else if (op === "+") out += value !== undefined ? collect(sub(), used) : "";
    else if (op === ":?" || op === "?") out += value ?? "";
    else if (trim) out += trimPattern(value ?? "", collect(sub(), used), trim);
  }
  return { value: out, used };
}

function collect(e: Expansion, used: string[]): string {
  used.push(...e.used);
  return e.value;
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "{") depth++;
    else if (s[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** `${A#p}` and friends: remove the shortest/longest prefix/suffix matching the glob `p`. */
function trimPattern(value: string, pattern: string, op: string): string {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, "[\\s\\S]*")
      .replace(/\?/g, "[\\s\\S]")}$`,
  );
  const lengths = [...Array(value.length + 1).keys()];
  if (op === "##" || op === "%%") lengths.reverse();
  for (const n of lengths) {
    if (op.startsWith("#") && re.test(value.slice(0, n))) return value.slice(n);
    if (op.startsWith("%") && re.test(value.slice(value.length - n))) return value.slice(0, value.length - n);
  }
  return value;
}
