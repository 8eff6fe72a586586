import type { Axis, Match } from "../config/normalize.js";
import { UsageError } from "../errors.js";
import { closest, didYouMean, plural, record } from "../text.js";
import { matches, type Variant } from "./expand.js";

/** What selectors pick from: the targets, the groups over them, and the axes. */
export interface Selectable {
  variants: readonly Variant[];
  groups: ReadonlyMap<string, readonly string[]>;
  axes: readonly Axis[];
}

/**
 * Targets picked by selectors: a target name, a group name, or `axis=value[,axis=value]`
 * (repeating an axis means "either"). Several selectors add up; no selector picks every target.
 * Returned in matrix order.
 */
export function selectVariants(from: Selectable, selectors: readonly string[]): Variant[] {
  if (selectors.length === 0) return [...from.variants];
  const { selected } = pick(from, [], selectors);
  return from.variants.filter((v) => selected.has(v.name));
}

/** What `bake` and `lint` run: the names given to buildx, and the targets that builds. */
export interface BakeSelection {
  /** Target and group names for the buildx command line. */
  args: string[];
  /** Every target built, sorted. */
  targets: string[];
}

/**
 * Positional target or group names plus --only selectors; the `default` group when there are
 * neither. With --only, the selected targets are named one by one.
 */
export function selectBakeTargets(from: Selectable, names: readonly string[], only: readonly string[]): BakeSelection {
  const { named, selected } = pick(from, names, only);
  const targets = [...new Set([...named, ...selected])].sort();
  if (only.length > 0)
    return { args: [...new Set([...names.filter((n) => !from.groups.has(n)), ...selected])].sort(), targets };
  if (names.length === 0)
    return { args: ["default"], targets: [...(from.groups.get("default") ?? from.variants.map((v) => v.name))] };
  return { args: [...names], targets };
}

/**
 * The targets that `names` (each a target or a group) and `selectors` (also `axis=value`) pick;
 * every unknown name and bad selector is reported, in one error.
 */
function pick(
  from: Selectable,
  names: readonly string[],
  selectors: readonly string[],
): { named: Set<string>; selected: Set<string> } {
  const named = new Set<string>();
  const selected = new Set<string>();
  const problems: string[] = [];
  let unknownName = false;
  const resolve = (name: string, into: Set<string>) => {
    const found = byName(from, name);
    if (found) for (const n of found) into.add(n);
    else {
      problems.push(unknownNameMessage(from, name));
      unknownName = true;
    }
  };
  for (const name of names) resolve(name, named);
  for (const selector of selectors) {
    if (!selector.includes("=")) resolve(selector, selected);
    else {
      const found = byAxes(from, selector);
      if (typeof found === "string") problems.push(found);
      else for (const n of found) selected.add(n);
    }
  }
  if (problems.length > 0) {
    if (unknownName)
      problems.push(
        `${plural(from.variants.length, "target")} and ${plural(from.groups.size, "group")}; \`bakeplan list\` lists the targets`,
      );
    throw new UsageError(problems.join("\n"));
  }
  return { named, selected };
}

function byName(from: Selectable, name: string): readonly string[] | undefined {
  const group = from.groups.get(name);
  if (group) return group;
  return from.variants.some((v) => v.name === name) ? [name] : undefined;
}

function unknownNameMessage(from: Selectable, name: string): string {
  const near = closest(name, [...from.variants.map((v) => v.name), ...from.groups.keys()]);
  return `Unknown target or group "${name}".${near.length > 0 ? ` Did you mean ${near.map((n) => `"${n}"`).join(", ")}?` : ""}`;
}

/** The targets an `axis=value[,axis=value]` selector matches, or what is wrong with it. */
function byAxes(from: Selectable, selector: string): string[] | string {
  const match: Match = record();
  for (const part of selector.split(",")) {
    const [axis, value] = part.split("=", 2).map((s) => s.trim()) as [string, string | undefined];
    const def = from.axes.find((a) => a.name === axis);
    if (!def || value === undefined) {
      const hint = didYouMean(
        axis,
        from.axes.map((a) => a.name),
      );
      return `Unknown axis "${axis}" in selector "${selector}".${hint ? ` Did you mean "${hint}"?` : ""} Axes: ${from.axes.map((a) => a.name).join(", ")}`;
    }
    const values = def.values.map((v) => v.value);
    if (!values.includes(value)) {
      const hint = didYouMean(value, values);
      return `Unknown value "${value}" for axis "${axis}" in selector "${selector}".${hint ? ` Did you mean "${hint}"?` : ""} Values: ${values.join(", ")}`;
    }
    (match[axis] ??= []).push(value);
  }
  const names = from.variants.filter((v) => matches(match, v.values)).map((v) => v.name);
  if (names.length === 0) return `Selector "${selector}" matches no target (the combination is excluded)`;
  return names;
}
