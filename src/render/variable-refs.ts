// Which variables templates can read, found in the text of their tags and outputs before anything
// is rendered (the way template-refs.ts finds includes): a name no tag or output mentions is never
// read. An over-approximation: a branch never taken, a comment, a quoted string that happens to
// hold the name all count as reads; only a lookup by a computed name (`{{ [key] }}`) hides one.
import { tokenize } from "./liquid-syntax.js";
import type { TemplateFiles } from "./template-refs.js";

export interface TemplateReads {
  /** Names read as top-level variables (`target` in `{% if target == "dev" %}`). */
  roots: ReadonlySet<string>;
  /** Keys read from a top-level object by name: `vars` -> {`setuptools`} for `vars.setuptools` or `vars["setuptools"]`. */
  members: ReadonlyMap<string, ReadonlySet<string>>;
  /** Top-level objects read as a whole or by a computed key (`{% for v in vars %}`, `vars[k]`): any key may be read. */
  whole: ReadonlySet<string>;
  /** Some lookup reads a variable whose name is computed (`{{ [key] }}`), or a template could not be split: any name may be read. */
  computed: boolean;
}

const CHAIN = /[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[(?:"[^"]*"|'[^']*')\])*/y;
const SEGMENT = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(?:"([^"]*)"|'([^']*)')\]/g;

/** What the tags and outputs of every template read. */
export function templateReads(files: TemplateFiles): TemplateReads {
  const roots = new Set<string>();
  const members = new Map<string, Set<string>>();
  const whole = new Set<string>();
  let computed = false;
  const read = (source: string) => {
    let p = 0;
    // Whether what came just before can take a member access (`[`): a name, a string, `]` or `)`.
    let afterValue = false;
    while (p < source.length) {
      const c = source[p]!;
      if (c === '"' || c === "'") {
        const close = source.indexOf(c, p + 1);
        p = close < 0 ? source.length : close + 1;
        afterValue = true;
      } else if (c === "[") {
        // After a value it is a member access by a computed key (its root is counted whole below);
        // anywhere else it looks up a variable by a computed name.
        if (!afterValue) computed = true;
        p++;
        afterValue = false;
      } else if (c === "." && afterValue) {
        // A member of a member read by a computed key (`x[k].y`): not a top-level name.
        CHAIN.lastIndex = p + 1;
        p += 1 + (CHAIN.exec(source)?.[0].length ?? 0);
      } else if (/[A-Za-z_]/.test(c)) {
        CHAIN.lastIndex = p;
        const chain = CHAIN.exec(source)![0];
        const root = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(chain)![0];
        roots.add(root);
        SEGMENT.lastIndex = 0;
        const first = SEGMENT.exec(chain.slice(root.length));
        p += chain.length;
        if (first === null || source[p] === "[") whole.add(root);
        if (first !== null) {
          let set = members.get(root);
          if (!set) members.set(root, (set = new Set()));
          set.add(first[1] ?? first[2] ?? first[3]!);
        }
        afterValue = true;
      } else {
        // Digits too: a number (`1.5`, a range's `1..3`) starts no name.
        if (/[0-9]/.test(c)) {
          while (p < source.length && /[0-9.]/.test(source[p]!)) p++;
          afterValue = true;
          continue;
        }
        afterValue = c === ")" || c === "]";
        p++;
      }
    }
  };
  for (const text of files.values()) {
    const tokens = tokenize(text);
    if (!Array.isArray(tokens)) {
      computed = true;
      continue;
    }
    for (const t of tokens) {
      if (t.kind === "output") read(t.content);
      else if (t.kind === "tag") read(t.args);
    }
  }
  return { roots, members, whole, computed };
}

/** Whether a template may read the top-level variable `name`. */
export function mayReadRoot(reads: TemplateReads, name: string): boolean {
  return reads.computed || reads.roots.has(name);
}

/** Whether a template may read key `key` of the top-level object `root` (`vars.setuptools`). */
export function mayReadMember(reads: TemplateReads, root: string, key: string): boolean {
  return reads.computed || reads.whole.has(root) || reads.members.get(root)?.has(key) === true;
}
