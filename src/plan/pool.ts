import type { BuilderPool, Project } from "../config/normalize.js";
import { builderGroupName } from "../config/rules.js";
import { ConfigError, type Issue, type SourceLocation } from "../errors.js";
import { COMMAND_LINE } from "../resolve/resolve.js";
import { compareStrings } from "../text.js";
import { affinityUnits, type AffinityUnit } from "./affinity.js";
import { BAKE_NAME } from "./bake-file.js";
import { assignBuilders, type Assignment, type PoolMember } from "./builders.js";
import type { PlannedTarget } from "./targets.js";

export const DEFAULT_LOAD_FACTOR = 1.25;

/** The plan's builder pool: which builder each target is assigned to, and the bake group of each builder. */
export interface BuilderPlan {
  assignment: Assignment;
  /** Target -> its unit (with the affinity key). */
  unitOf: Map<string, AffinityUnit>;
  /** `builder-<name>` -> its targets, sorted; builders without targets have none. */
  groups: Map<string, string[]>;
  /** Whether the pool came from `--builders` rather than context.yaml. */
  fromCommandLine: boolean;
}

/**
 * The pool: `--builders` names (each with the platforms and weight context.yaml gives a builder of
 * that name), else `builders.pool` of context.yaml; undefined when neither names one.
 */
export function poolMembers(project: Project, names: readonly string[] | undefined): PoolMember[] | undefined {
  const pool: BuilderPool | undefined = project.builders;
  if (names !== undefined) {
    const source: SourceLocation = { file: COMMAND_LINE, path: "--builders" };
    return names.map((name) => {
      const known = pool?.builders.find((b) => b.name === name);
      return { name, weight: known?.weight ?? 1, platforms: known?.platforms, source };
    });
  }
  return pool?.builders.map((b) => ({
    name: b.name,
    weight: b.weight,
    platforms: b.platforms,
    source: project.source.locate([...b.path, "name"]),
  }));
}

/** The assignment of the planned targets to a pool (no bake groups): units, keys, builders; a unit no builder can build is an error. */
export function assignPool(
  project: Project,
  targets: readonly PlannedTarget[],
  bodyOf: (t: PlannedTarget) => string,
  members: readonly PoolMember[],
  fromCommandLine: boolean,
): { assignment: Assignment; unitOf: Map<string, AffinityUnit> } {
  const units = affinityUnits(targets, bodyOf);
  const loadFactor = project.builders?.loadFactor ?? DEFAULT_LOAD_FACTOR;
  const { assignment, unplaceable } = assignBuilders(units, members, loadFactor);
  const location: SourceLocation = fromCommandLine
    ? { file: COMMAND_LINE, path: "--builders" }
    : project.source.locate(["builders", "pool"]);
  if (unplaceable.length > 0)
    throw new ConfigError(
      unplaceable.map(({ unit, ineligible }) => ({
        message: `No builder can build ${unit.targets.join(", ")} (platforms ${unit.platforms.join(", ")}): ${ineligible.map((i) => `${i.builder} lacks ${i.lacks}`).join("; ")}. Add a builder with those platforms, or list them on one`,
        location,
      })),
    );
  const unitOf = new Map<string, AffinityUnit>();
  for (const u of units) for (const t of u.targets) unitOf.set(t, u);
  return { assignment, unitOf };
}

/** Spreads the planned targets over the pool, with one bake group per builder; every problem in one error. */
export function planBuilders(
  project: Project,
  targets: readonly PlannedTarget[],
  bodyOf: (t: PlannedTarget) => string,
  options: { names?: readonly string[]; groups: ReadonlyMap<string, readonly string[]> },
): BuilderPlan | undefined {
  const members = poolMembers(project, options.names);
  if (!members || targets.length === 0) return undefined;
  const fromCommandLine = options.names !== undefined;
  const { assignment, unitOf } = assignPool(project, targets, bodyOf, members, fromCommandLine);
  const issues: Issue[] = [];
  const targetNames = new Set(targets.map((t) => t.variant.name));
  const groups = new Map<string, string[]>();
  for (const b of assignment.builders) {
    const group = builderGroupName(b.name);
    const location = b.source ?? { file: COMMAND_LINE, path: "--builders" };
    if (!BAKE_NAME.test(group))
      issues.push({ message: `Builder "${b.name}": its bake group "${group}" has characters bake rejects`, location });
    else if (targetNames.has(group) || options.groups.has(group)) {
      const what = targetNames.has(group) ? "target" : "group";
      issues.push({
        message: `Builder "${b.name}" gets the bake group "${group}", which is already the name of a ${what}; rename the builder or the ${what}`,
        location,
      });
    }
    const members = [...assignment.builderOf].filter(([, x]) => x === b.name).map(([t]) => t);
    if (members.length > 0) groups.set(group, members.sort(compareStrings));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { assignment, unitOf, groups, fromCommandLine };
}
