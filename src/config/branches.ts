// Branch patterns of `cache.write_on`, tag `branches` and `branch_kinds`, matched against the
// branch name as given to --branch (`release/1.0`, before it is sanitised for a tag).
//
// `*` matches any run of characters except `/`, `**` any run including `/`; everything else is
// literal. Git refuses `?`, `[` and `\` in branch names (git check-ref-format), so those are
// refused here rather than given a meaning that would silently never match.

/** What is wrong with a branch pattern, or undefined. */
export function branchPatternProblem(pattern: string): string | undefined {
  if (pattern.startsWith("!"))
    return `Branch pattern "${pattern}": negation with "!" is not supported; list the branches that match instead`;
  const bad = [...new Set(pattern.replace(/[^?[\]\\\s~^:]/g, ""))];
  if (bad.length > 0)
    return `Branch pattern "${pattern}": ${bad.map((c) => JSON.stringify(c)).join(" ")} cannot appear in a branch name (git check-ref-format); only "*" (any run of characters except "/") and "**" (any run, "/" included) are special`;
  if (pattern.includes("***")) return `Branch pattern "${pattern}": use "*" or "**", not "***"`;
  return undefined;
}

const compiled = new Map<string, RegExp>();

function toRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split("**")
      .map((part) =>
        part
          .split("*")
          .map((s) => s.replace(/[.+^${}()|[\]\\]/g, "\\$&"))
          .join("[^/]*"),
      )
      .join(".*");
    re = new RegExp(`^${body}$`);
    compiled.set(pattern, re);
  }
  return re;
}

/** Whether a branch pattern has `*` in it (so it names many branches, and cannot be read as one). */
export function isBranchGlob(pattern: string): boolean {
  return pattern.includes("*");
}

export function matchesBranch(patterns: readonly string[], branch: string): boolean {
  return patterns.some((p) => toRegExp(p).test(branch));
}

export interface BranchKind {
  name: string;
  patterns: string[];
}

/** The first kind whose patterns match the branch (`main` for main, `release` for release/1.0), if any. */
export function branchKindOf(kinds: readonly BranchKind[], branch: string | undefined): string | undefined {
  if (branch === undefined) return undefined;
  return kinds.find((k) => matchesBranch(k.patterns, branch))?.name;
}
