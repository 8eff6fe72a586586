/** Edit distance (Levenshtein), small inputs only: keys and names. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a third of the word's length, if any. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Up to `max` candidates closest to `word`: those that contain it, then those as close as
 * `didYouMean` takes them, nearest first (ties in string order). For "did you mean" over long lists.
 */
export function closest(word: string, candidates: readonly string[], max = 5): string[] {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.floor(w.length / 3));
  const scored: { c: string; score: number }[] = [];
  for (const c of new Set(candidates)) {
    const d = editDistance(w, c.toLowerCase());
    if (c.toLowerCase().includes(w)) scored.push({ c, score: d - 1000 });
    else if (d <= limit) scored.push({ c, score: d });
  }
  scored.sort((a, b) => a.score - b.score || compareStrings(a.c, b.c));
  return scored.slice(0, max).map((s) => s.c);
}

/** Stable, locale-independent string order (byte order of UTF-16 code units). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedKeys<T>(record: Record<string, T>): string[] {
  return Object.keys(record).sort(compareStrings);
}

/**
 * An empty object for keys that come from the user (names of args, labels, groups, targets):
 * without a prototype, so `constructor` or `__proto__` is a key like any other, never a member of
 * Object.prototype (`"constructor" in {}` is true; `o["__proto__"] = v` on {} replaces the prototype).
 */
export function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function sortRecord<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = Object.create(null) as Record<string, T>;
  for (const k of sortedKeys(record)) out[k] = record[k]!;
  return out;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/** POSIX shell quoting: a shell reads back the same argv (for --dry-run output and error messages). */
export function shellQuote(args: readonly string[]): string {
  return args
    .map((a) => (a !== "" && /^[A-Za-z0-9_./:=,+@%-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

// C0 controls but tab and line feed, DEL, and C1 controls (U+009B is a CSI to some terminals).
// eslint-disable-next-line no-control-regex -- the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// eslint-disable-next-line no-control-regex -- the point
const CONTROL_OR_BREAK = /[\x00-\x1f\x7f-\x9f]/g;
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** Text for a terminal: control characters shown as `\u001b`-style escapes, so nothing from an input (a file name, a git ref, a registry's answer) drives the terminal. */
export function printable(text: string): string {
  return text.replace(CONTROL, escaped);
}

/** One table cell or one line: line breaks and tabs escaped too, so a value cannot add a row or shift a column. */
export function printableLine(text: string): string {
  return text.replace(CONTROL_OR_BREAK, escaped);
}

/**
 * An output whose every write passes `printable`: for commands that print what a pull request
 * controls (image references, file names, git refs, registry answers). JSON output is unchanged
 * (JSON.stringify already escapes control characters).
 */
export function printableOutput<O extends { out(text: string): void; err(text: string): void }>(output: O): O {
  return {
    ...output,
    out: (text: string) => output.out(printable(text)),
    err: (text: string) => output.err(printable(text)),
  };
}
