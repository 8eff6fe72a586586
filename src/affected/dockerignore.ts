// .dockerignore with BuildKit's semantics: a port of moby/patternmatcher (patternmatcher.go,
// MatchesOrParentMatches, which BuildKit's context transfer uses through tonistiigi/fsutil) and of
// its ignorefile.ReadAll. The same matcher answers "does COPY <src> take this file", since fsutil
// filters COPY sources with patternmatcher include patterns too.

export class PatternError extends Error {}

interface Pattern {
  /** After filepath.Clean, without the leading `!`. */
  cleaned: string;
  exclusion: boolean;
  dirs: number;
  match: (path: string) => boolean;
}

/** Go's filepath.Clean for slash paths (patterns and files are slash paths here). */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  return rooted ? `/${joined}` : joined || ".";
}

export class PatternMatcher {
  private readonly patterns: Pattern[] = [];

  /** Throws PatternError, with the pattern, for what Go's filepath.Match refuses. */
  constructor(patterns: readonly string[]) {
    for (let p of patterns) {
      p = p.trim();
      if (p === "") continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p[0] === "!") {
        if (p.length === 1) throw new PatternError('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
      }
      checkSyntax(p);
      this.patterns.push({ cleaned: p, exclusion, dirs: p.split("/").length, match: compile(p) });
    }
  }

  get exclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `file` (a slash path relative to the context) matches, itself or through a parent directory. */
  matchesOrParentMatches(file: string): boolean {
    let matched = false;
    const parent = dirname(file);
    const parentDirs = parent.split("/");
    for (const pattern of this.patterns) {
      // An inclusion cannot change a match, nor an exclusion a non-match.
      if (pattern.exclusion !== matched) continue;
      let match = pattern.match(file);
      if (!match && parent !== ".") {
        for (let i = 0; i < parentDirs.length && !match; i++)
          match = pattern.match(parentDirs.slice(0, i + 1).join("/"));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /** Whether `file` itself matches (no parent matching). */
  matchesExact(file: string): boolean {
    let matched = false;
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      if (pattern.match(file)) matched = !pattern.exclusion;
    }
    return matched;
  }
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : p.slice(0, i);
}

// patternmatcher.go shouldEscape: regexp characters that mean nothing in a filepath pattern.
const ESCAPE = new Set([...("." + "+()|{}$")]);

/** patternmatcher.go `compile`: exact, prefix (`dir/**`), suffix (`**\/x`) or a regexp. */
function compile(pattern: string): (path: string) => boolean {
  let re = "^";
  let type: "exact" | "prefix" | "suffix" | "regexp" = "exact";
  const chars = [...pattern];
  // `iteration` is Go's loop counter: one per scanned token, a `**/` being one token.
  for (let i = 0, iteration = 0; i < chars.length; i++, iteration++) {
    const ch = chars[i]!;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        i++;
        // Treat **/ as **.
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          // `**` at the end accepts everything, as in .gitignore.
          if (type === "exact") type = "prefix";
          else {
            re += "[\\s\\S]*";
            type = "regexp";
          }
        } else {
          re += "([\\s\\S]*/)?";
          type = "regexp";
        }
        if (iteration === 0) type = "suffix";
      } else {
        re += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      type = "regexp";
    } else if (ESCAPE.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === "\\") {
      if (i + 1 < chars.length) {
        const next = chars[++i]!;
        re += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`;
        type = "regexp";
      } else re += "\\\\";
    } else if (ch === "[" || ch === "]") {
      re += ch;
      type = "regexp";
    } else {
      re += ch;
    }
  }
  switch (type) {
    case "exact":
      return (path) => path === pattern;
    case "prefix": {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case "suffix": {
      const suffix = pattern.slice(2);
      // `**/foo` also matches `foo`.
      return (path) => path.endsWith(suffix) || (suffix[0] === "/" && path === suffix.slice(1));
    }
    default: {
      // No "u" flag: Go's regexp takes a lone `]` or `\\x` that unicode mode refuses.
      const regexp = new RegExp(`${re}$`);
      return (path) => regexp.test(path);
    }
  }
}

/** What Go's filepath.Match reports as ErrBadPattern: an unclosed class, a bad range, a trailing `\`. */
function checkSyntax(p: string): void {
  const bad = () => new PatternError(`syntax error in pattern "${p}"`);
  const chars = [...p];
  const esc = (i: number): number => {
    const c = chars[i];
    if (c === undefined || c === "-" || c === "]") throw bad();
    if (c === "\\") {
      if (i + 1 >= chars.length) throw bad();
      return i + 2;
    }
    return i + 1;
  };
  for (let i = 0; i < chars.length;) {
    const c = chars[i]!;
    if (c === "\\") {
      if (i + 1 >= chars.length) throw bad();
      i += 2;
    } else if (c === "[") {
      i++;
      if (chars[i] === "^") i++;
      let ranges = 0;
      for (;;) {
        if (i >= chars.length) throw bad();
        if (chars[i] === "]" && ranges > 0) {
          i++;
          break;
        }
        i = esc(i);
        if (chars[i] === "-") i = esc(i + 1);
        ranges++;
      }
    } else i++;
  }
}

export interface IgnoreFile {
  patterns: string[];
  /** 1-based line of each pattern, for messages. */
  lines: number[];
}

/** ignorefile.ReadAll: comments and blank lines dropped, a leading `/` removed, `!` kept. */
export function readIgnoreFile(text: string): IgnoreFile {
  const patterns: string[] = [];
  const lines: number[] = [];
  text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .forEach((raw, i) => {
      if (raw.startsWith("#")) return;
      let pattern = raw.trim();
      if (pattern === "") return;
      const invert = pattern[0] === "!";
      if (invert) pattern = pattern.slice(1).trim();
      if (pattern.length > 0) {
        pattern = cleanPath(pattern);
        if (pattern.length > 1 && pattern[0] === "/") pattern = pattern.slice(1);
      }
      patterns.push(invert ? `!${pattern}` : pattern);
      lines.push(i + 1);
    });
  return { patterns, lines };
}
