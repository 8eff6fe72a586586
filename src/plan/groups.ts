import type { Project } from "../config/normalize.js";
import { ConfigError, type Issue } from "../errors.js";
import type { KeyPath } from "../config/yaml-source.js";
import { matches, type Variant } from "../matrix/expand.js";
import { compareStrings } from "../text.js";
import { BAKE_NAME } from "./bake-file.js";

/** Groups: `all`, one per value of each `groups.per_axis` axis, and `groups.define` selectors; `default` falls back to `all`. */
export function computeGroups(project: Project, variants: readonly Variant[]): Map<string, string[]> {
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
  for (const g of project.groups.define)
    add(
      g.name,
      variants.filter((v) => matches(g.match, v.values)).map((v) => v.name),
      g.path,
    );
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
