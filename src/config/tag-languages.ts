// Whether two tag patterns can ever produce the same tag, decided on the patterns themselves (for
// every branch, sha and version), so a cache stored in the image repository is proven never to
// overwrite an image tag. Each pattern becomes a small automaton over tag characters: literal
// text, a finite set of values (axis values, name tokens, template values, branch kinds, target
// names), or any run of tag characters (--branch, --sha, --image-version); optional parts can be
// skipped. Two automata share a string iff their product reaches both accepting states: a
// breadth-first search over state pairs, which also gives the shortest shared tag as a witness.

import { meaningsOf, type Meaning, type ParsedPattern } from "./patterns.js";

/** The values a placeholder can take: a finite set of strings, any run of tag characters, or target names. */
export type Domain =
  | { kind: "finite"; values: readonly string[] }
  | { kind: "any" }
  /** Target names: each axis contributes one of its tokens ("" for nothing), joined by "-". */
  | { kind: "names"; tokens: readonly (readonly string[])[] };

interface State {
  next: Map<string, number[]>;
  /** Targets on any tag character. */
  any: number[];
  eps: number[];
}

export class Automaton {
  readonly states: State[] = [];
  readonly start = this.add();
  accept = this.start;

  add(): number {
    this.states.push({ next: new Map(), any: [], eps: [] });
    return this.states.length - 1;
  }

  private edge(from: number, c: string, to: number): void {
    const list = this.states[from]!.next.get(c);
    if (list) list.push(to);
    else this.states[from]!.next.set(c, [to]);
  }

  eps(from: number, to: number): void {
    this.states[from]!.eps.push(to);
  }

  text(from: number, text: string): number {
    let at = from;
    for (const c of text) {
      const to = this.add();
      this.edge(at, c, to);
      at = to;
    }
    return at;
  }

  /** One of `values`, as a trie (shared prefixes share states). */
  oneOf(from: number, values: readonly string[]): number {
    const end = this.add();
    const root = this.add();
    this.eps(from, root);
    for (const v of new Set(values)) {
      let at = root;
      for (const c of v) {
        const existing = this.states[at]!.next.get(c)?.[0];
        if (existing !== undefined) at = existing;
        else {
          const to = this.add();
          this.edge(at, c, to);
          at = to;
        }
      }
      this.eps(at, end);
    }
    return end;
  }

  anyRun(from: number): number {
    const loop = this.add();
    this.eps(from, loop);
    this.states[loop]!.any.push(loop);
    return loop;
  }

  names(from: number, tokens: readonly (readonly string[])[]): number {
    // States per axis boundary: nothing written yet, or something (then a token needs a "-").
    let none = from;
    let some = this.add();
    for (const axis of tokens) {
      const nextNone = this.add();
      const nextSome = this.add();
      const written = axis.filter((t) => t !== "");
      if (written.length < axis.length) {
        this.eps(none, nextNone);
        this.eps(some, nextSome);
      }
      if (written.length > 0) {
        this.eps(this.oneOf(none, written), nextSome);
        this.eps(this.oneOf(this.text(some, "-"), written), nextSome);
      }
      none = nextNone;
      some = nextSome;
    }
    return some;
  }
}

function domainAutomaton(a: Automaton, from: number, domain: Domain): number {
  switch (domain.kind) {
    case "finite":
      return a.oneOf(
        from,
        domain.values.filter((v) => v !== ""),
      );
    case "any":
      return a.anyRun(from);
    case "names":
      return a.names(from, domain.tokens);
  }
}

/** The automaton of a pattern; `domainOf` gives each placeholder's values (an unknown one has none). */
export function patternAutomaton(
  pattern: ParsedPattern,
  axes: readonly string[],
  domainOf: (m: Meaning) => Domain,
): Automaton {
  const a = new Automaton();
  const placeholder = (from: number, key: string) => {
    const [m] = meaningsOf(key, axes);
    return domainAutomaton(a, from, m ? domainOf(m) : { kind: "finite", values: [] });
  };
  let at = a.start;
  for (const part of pattern.parts) {
    if (part.kind === "text") at = a.text(at, part.text);
    else if (part.kind === "placeholder") at = placeholder(at, part.key);
    else {
      let inner = at;
      for (const piece of part.pieces)
        inner = piece.kind === "text" ? a.text(inner, piece.text) : placeholder(inner, piece.key);
      const end = a.add();
      a.eps(at, end);
      a.eps(inner, end);
      at = end;
    }
  }
  a.accept = at;
  return a;
}

export type Overlap = { kind: "disjoint" } | { kind: "shared"; example: string } | { kind: "too-complex" };

/** Whether two automata accept a common string, and the shortest one; gives up after `limit` state pairs. */
export function overlap(x: Automaton, y: Automaton, limit = 200_000): Overlap {
  const width = y.states.length;
  const key = (i: number, j: number) => i * width + j;
  const seen = new Map<number, { prev: number; ch: string }>();
  const visit = (into: number[], i: number, j: number, prev: number, ch: string) => {
    const k = key(i, j);
    if (seen.has(k)) return;
    seen.set(k, { prev, ch });
    into.push(k);
  };
  // Breadth-first by characters, not by moves: each layer holds the pairs reached with one more
  // character, closed under the moves that read none, so the first accepting pair found spells a
  // shortest shared tag (counting ε-moves as steps found a shortest path of moves instead).
  let layer: number[] = [];
  visit(layer, x.start, y.start, -1, "");
  while (layer.length > 0) {
    for (let head = 0; head < layer.length; head++) {
      if (seen.size > limit) return { kind: "too-complex" };
      const k = layer[head]!;
      const i = Math.floor(k / width);
      const j = k % width;
      for (const e of x.states[i]!.eps) visit(layer, e, j, k, "");
      for (const e of y.states[j]!.eps) visit(layer, i, e, k, "");
    }
    const accepting = key(x.accept, y.accept);
    if (layer.includes(accepting)) return { kind: "shared", example: witness(seen, accepting) };
    const next: number[] = [];
    for (const k of layer) {
      if (seen.size > limit) return { kind: "too-complex" };
      const a = x.states[Math.floor(k / width)]!;
      const b = y.states[k % width]!;
      for (const [c, targets] of a.next) {
        const others = [...(b.next.get(c) ?? []), ...b.any];
        for (const t of targets) for (const o of others) visit(next, t, o, k, c);
      }
      for (const [c, others] of b.next) for (const t of a.any) for (const o of others) visit(next, t, o, k, c);
      for (const t of a.any) for (const o of b.any) visit(next, t, o, k, "x");
    }
    layer = next;
  }
  return { kind: "disjoint" };
}

function witness(seen: Map<number, { prev: number; ch: string }>, end: number): string {
  const chars: string[] = [];
  for (let k = end; k !== -1;) {
    const step = seen.get(k)!;
    chars.push(step.ch);
    k = step.prev;
  }
  return chars.reverse().join("");
}
