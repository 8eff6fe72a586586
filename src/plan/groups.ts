import type { Group, GroupMember, Project } from "../config/normalize.js";
import { ConfigError, type Issue } from "../errors.js";
import type { KeyPath } from "../config/yaml-source.js";
import { matches, type Variant } from "../matrix/expand.js";
import { compareStrings, didYouMean } from "../text.js";
import { BAKE_NAME } from "./bake-file.js";

/**
 * Groups: `all`, one per value of each `groups.per_axis` axis, and `groups.define` (a selector, or
 * a union of selectors, target names and group names); `default` falls back to `all`.
 */
export function computeGroups(
  project: Project,
  variants: readonly Variant[],
  excluded: readonly { name: string }[] = [],
): Map<string, string[]> {
  const excludedNames = new Set(excluded.map((e) => e.name));
  const issues: Issue[] = [];
  const groups = new Map<string, string[]>();
  const targetNames = new Set(variants.map((v) => v.name));
  const add = (name: string, members: string[], path: KeyPath) => {
    if (!BAKE_NAME.test(name))
      issues.push({
        message: `Group name "${name}" has characters bake rejects; only [a-zA-Z0-9_-] are allowed`,
        location: project.source.locate(path, { key: true }),
      });
    else if (targetNames.has(name))
      issues.push({
        message: `Group "${name}" has the name of a target; bake would silently build the group. Rename one of them`,
        location: project.source.locate(path, { key: true }),
      });
    else if (members.length > 0)
      groups.set(name, [...new Set([...(groups.get(name) ?? []), ...members])].sort(compareStrings));
  };
  add(
    "all",
    variants.map((v) => v.name),
    ["axes"],
  );
  for (const { axis, path } of project.groups.perAxis)
    for (const value of project.axes.find((a) => a.name === axis)?.values ?? [])
      add(
        value.token || value.value,
        variants.filter((v) => v.values[axis] === value.value).map((v) => v.name),
        path,
      );
  const defined = new Map(project.groups.define.map((g) => [g.name, g]));
  const resolved = new Map<string, string[]>();
  // A member may name another defined group, which is resolved first; a cycle is an error.
  const resolve = (g: Group, stack: string[]): string[] => {
    const done = resolved.get(g.name);
    if (done) return done;
    if (stack.includes(g.name)) {
      issues.push({
        message: `Groups ${[...stack.slice(stack.indexOf(g.name)), g.name].join(" -> ")} include each other`,
        location: project.source.locate(g.path, { key: true }),
      });
      return [];
    }
    const members = g.members.flatMap((m) => memberTargets(m, [...stack, g.name]));
    resolved.set(g.name, members);
    return members;
  };
  const memberTargets = (m: GroupMember, stack: string[]): string[] => {
    if (m.kind === "match") return variants.filter((v) => matches(m.match, v.values)).map((v) => v.name);
    if (targetNames.has(m.name)) return [m.name];
    const group = defined.get(m.name);
    if (group) return resolve(group, stack);
    const axisGroup = groups.get(m.name);
    if (axisGroup) return axisGroup;
    const excluded = excludedNames.has(m.name) ? ` "${m.name}" is an excluded combination.` : "";
    const hint = excluded ? undefined : didYouMean(m.name, [...targetNames, ...groups.keys(), ...defined.keys()]);
    issues.push({
      message: `Unknown target or group "${m.name}" in group "${stack[stack.length - 1]}".${excluded}${hint ? ` Did you mean "${hint}"?` : ""}`,
      location: project.source.locate(m.path),
    });
    return [];
  };
  for (const g of project.groups.define) add(g.name, resolve(g, []), g.path);
  if (!groups.has("default") && !targetNames.has("default")) groups.set("default", groups.get("all") ?? []);
  if (issues.length > 0) throw new ConfigError(issues);
  return groups;
}

/** The groups with only the planned targets in them; a group left empty is dropped. */
export function plannedGroups(
  groups: ReadonlyMap<string, readonly string[]>,
  planned: ReadonlySet<string>,
): Map<string, string[]> {
  return new Map(
    [...groups]
      .map(([g, members]) => [g, members.filter((m) => planned.has(m))] as const)
      .filter(([, m]) => m.length > 0),
  );
}
