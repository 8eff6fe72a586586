import { ConfigError, type Issue } from "../errors.js";
import type { Axis, AxisValue, Match, Project, Rule } from "../config/normalize.js";
import { matchLabel } from "../config/normalize.js";
import { record } from "../text.js";

export interface Variant {
  /** axis -> value, for every axis that applies: an axis restricted by `when` that does not match has no key. */
  values: Record<string, string>;
  /** Bake target name, e.g. vllm-cuda12-dev. */
  name: string;
  /** Name of the Dockerfile the variant's non-stage axes select, e.g. vllm-cuda12. */
  dockerfileName: string;
  /** The include rule that brought it back, when an exclude matched it too. */
  includedBy?: Rule;
}

export interface Excluded {
  values: Record<string, string>;
  name: string;
  rule: Rule;
}

export interface Matrix {
  variants: Variant[];
  excluded: Excluded[];
  warnings: Issue[];
}

export function matches(match: Match, values: Record<string, string>): boolean {
  for (const axis in match) if (!match[axis]!.includes(values[axis] ?? null)) return false;
  return true;
}

const NAME_CHARS = /^[a-zA-Z0-9_-]+$/;

/** The cartesian product of the axes, minus excludes, plus includes, each with its names. */
export function expandMatrix(project: Project, opts: { maxVariants?: number; strict?: boolean } = {}): Matrix {
  const limit = opts.maxVariants ?? project.limits.maxVariants;
  const { variants, excluded, matched } = combinations(project, limit);
  const errors: Issue[] = [];
  if (variants.length === 0)
    errors.push({
      message: "Every combination is excluded: the matrix produces no variant",
      location: project.source.locate(["exclude"]),
    });
  errors.push(...nameProblems(project, variants));
  const warnings = ruleWarnings(project, variants, matched);
  if (opts.strict && warnings.length > 0)
    errors.push(...warnings.map((w) => ({ ...w, message: `${w.message} (an error with --strict)` })));
  if (errors.length > 0) throw new ConfigError(errors);
  return { variants, excluded, warnings };
}

/**
 * Every combination of axis values in order (the last axis varies fastest), each a variant or
 * excluded; also which exclude and include rules matched anything. An axis restricted by `when`
 * (which names only earlier axes) takes its values where `when` matches and is absent elsewhere,
 * so the walk visits only combinations that exist. More than `limit` variants is an error, found
 * before the walk when even the product of the axes is far above it, and during the walk when
 * the combinations (excluded ones too) pass that bound.
 */
function combinations(
  project: Project,
  limit: number,
): { variants: Variant[]; excluded: Excluded[]; matched: Set<Rule> } {
  const { axes } = project;
  const restricted = axes.some((a) => a.when !== undefined);
  // With restricted axes the product (an absent value counted as one more) is only an upper bound.
  const product = axes.reduce((n, a) => n * (a.values.length + (a.when ? 1 : 0)), 1);
  const far = (count: number | string) =>
    new ConfigError([
      {
        message: `The matrix has ${count} combinations, far above the limit of ${limit} variants. Exclude axis values, or raise limits.max_variants / --max-variants`,
        location: project.source.locate(["axes"]),
      },
    ]);
  if (product > limit * 100 && !restricted) throw far(product);
  const variants: Variant[] = [];
  const excluded: Excluded[] = [];
  const matched = new Set<Rule>();
  let walked = 0;
  const chosen: (AxisValue | undefined)[] = new Array<AxisValue | undefined>(axes.length);
  const values = record<string>();
  const visit = () => {
    if (++walked > limit * 100) throw far(`more than ${limit * 100}`);
    const combination = named(project, chosen);
    const exclude = project.exclude.find((r) => matches(r.match, combination.values));
    const include = project.include.find((r) => matches(r.match, combination.values));
    if (exclude) matched.add(exclude);
    if (include) matched.add(include);
    if (exclude && !include) excluded.push({ values: combination.values, name: combination.name, rule: exclude });
    else {
      variants.push({ ...combination, includedBy: exclude && include });
      if (variants.length > limit)
        throw new ConfigError([
          {
            message: `More than ${limit} variants: the matrix is larger than limits.max_variants. Raise it (or pass --max-variants) if this is intended`,
            location: project.source.locate(["axes"]),
          },
        ]);
    }
  };
  const walk = (i: number) => {
    if (i === axes.length) return visit();
    const axis = axes[i]!;
    if (axis.when && !matches(axis.when.match, values)) {
      chosen[i] = undefined;
      walk(i + 1);
      return;
    }
    for (const v of axis.values) {
      chosen[i] = v;
      values[axis.name] = v.value;
      walk(i + 1);
    }
    delete values[axis.name];
  };
  walk(0);
  return { variants, excluded, matched };
}

/** The combination of `chosen` (one value per axis, undefined where absent) with its target name and Dockerfile name. */
function named(project: Project, chosen: readonly (AxisValue | undefined)[]): Omit<Variant, "includedBy"> {
  const values = record<string>();
  const tokens: string[] = [];
  const fileTokens: string[] = [];
  project.axes.forEach((axis, i) => {
    const v = chosen[i];
    if (v === undefined) return;
    values[axis.name] = v.value;
    if (v.token !== "") tokens.push(v.token);
    if (axis.name !== project.stageAxis && v.token !== "") fileTokens.push(v.token);
  });
  return { values, name: tokens.join("-"), dockerfileName: fileTokens.join("-") || "Dockerfile" };
}

/**
 * The axes a combination has no value of, each with the `when` that restricts it: what `list`,
 * `explain` and messages show as absent.
 */
export function absentAxes(project: Pick<Project, "axes">, values: Record<string, string>): Axis[] {
  return project.axes.filter((a) => a.when !== undefined && !Object.hasOwn(values, a.name));
}

/** `framework=vllm, device=xpu` (absent axes are not listed: `absentAxes` says why). */
export function valuesLabel(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** Target names bake rejects, and two variants with one name: each at the axis value that gives it. */
function nameProblems(project: Project, variants: readonly Variant[]): Issue[] {
  const errors: Issue[] = [];
  const byName = new Map<string, Variant>();
  const badTokens = new Set<AxisValue>();
  // Where a name comes from: the axis value's `name:` key when it has one, else the value itself.
  const tokenPath = (av: AxisValue) => (av.tokenGiven ? [...av.path, "name"] : av.path);
  const axisValueOf = (axis: string, value: string) =>
    project.axes.find((a) => a.name === axis)?.values.find((x) => x.value === value);
  for (const v of variants) {
    if (!NAME_CHARS.test(v.name)) {
      const culprits = Object.entries(v.values)
        .map(([a, x]) => axisValueOf(a, x))
        .filter((av): av is AxisValue => av !== undefined && av.token !== "" && !NAME_CHARS.test(av.token));
      for (const av of culprits) {
        if (badTokens.has(av)) continue;
        badTokens.add(av);
        errors.push({
          message: `Target name "${v.name}" (${label(v.values)}) has characters bake rejects: the \`name\` of ${av.axis}=${av.value} is "${av.token}", and only [a-zA-Z0-9_-] are allowed. Change it, or remove it to use the value with each other character replaced by "_"`,
          location: project.source.locate(tokenPath(av), { key: !av.tokenGiven }),
        });
      }
      if (culprits.length === 0)
        errors.push({
          message: `Target name "${v.name}" (${label(v.values)}) has characters bake rejects; only [a-zA-Z0-9_-] are allowed. Set a \`name\` token on the axis values`,
          location: project.source.locate(["axes"]),
        });
      continue;
    }
    const other = byName.get(v.name);
    if (other) {
      // Point at the first axis where the two differ: its values give the same token.
      const axis = Object.keys(v.values).find((a) => v.values[a] !== other.values[a]);
      const av = axis === undefined ? undefined : axisValueOf(axis, v.values[axis]!);
      errors.push({
        message: `Two variants map to the target name "${v.name}": ${label(other.values)} and ${label(v.values)}. Give the axis values distinct \`name\` tokens`,
        location: project.source.locate(av ? tokenPath(av) : ["axes"], {
          key: av !== undefined && !av.tokenGiven,
        }),
      });
    } else byName.set(v.name, v);
  }
  return errors;
}

/** Exclude and include rules that change nothing: shadowed by an earlier one, or an include nothing excludes. */
function ruleWarnings(project: Project, variants: readonly Variant[], matched: ReadonlySet<Rule>): Issue[] {
  const warnings: Issue[] = [];
  for (const r of project.exclude)
    if (!matched.has(r))
      warnings.push({
        message: `This exclude only matches combinations an earlier exclude already matches (${matchLabel(r.match)})`,
        location: project.source.locate(r.path),
      });
  for (const r of project.include) {
    if (!matched.has(r))
      warnings.push({
        message: `This include only matches combinations an earlier include already matches (${matchLabel(r.match)})`,
        location: project.source.locate(r.path),
      });
    else if (!variants.some((v) => v.includedBy === r))
      warnings.push({
        message: `This include only matches combinations no exclude removes (${matchLabel(r.match)}); it has no effect`,
        location: project.source.locate(r.path),
      });
  }
  return warnings;
}

function label(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}
