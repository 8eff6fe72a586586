import { escapeBake } from "../values.js";
import { compareStrings } from "../text.js";

/** The subset of bake's target attributes bakeplan emits, in the CSV string forms every buildx reads. */
export interface BakeTarget {
  description?: string;
  context: string;
  dockerfile: string;
  target: string;
  args?: Record<string, string>;
  platforms?: string[];
  tags?: string[];
  labels?: Record<string, string>;
  "cache-from"?: string[];
  "cache-to"?: string[];
  secret?: string[];
  network?: string;
  output?: string[];
}

export interface BakeGroup {
  description?: string;
  targets: string[];
}

export interface BakeFile {
  "//": string;
  group: Record<string, BakeGroup>;
  target: Record<string, BakeTarget>;
}

// buildx v0.29.1 bake/bake.go `Target` JSON tags. Bake silently drops anything else, so a typo
// here would vanish without an error: every emitted attribute is checked against this list.
export const KNOWN_TARGET_ATTRIBUTES = new Set([
  "annotations",
  "args",
  "attest",
  "cache-from",
  "cache-to",
  "call",
  "context",
  "contexts",
  "description",
  "dockerfile",
  "dockerfile-inline",
  "entitlements",
  "extra-hosts",
  "inherits",
  "labels",
  "matrix",
  "name",
  "network",
  "no-cache",
  "no-cache-filter",
  "output",
  "platforms",
  "pull",
  "secret",
  "shm-size",
  "ssh",
  "tags",
  "target",
  "ulimits",
]);
const KNOWN_GROUP_ATTRIBUTES = new Set(["description", "targets"]);

/** Bake target and group names. */
export const BAKE_NAME = /^[a-zA-Z0-9_-]+$/;

export function checkBakeFile(file: BakeFile): string[] {
  const problems: string[] = [];
  for (const [name, t] of Object.entries(file.target)) {
    if (!BAKE_NAME.test(name)) problems.push(`target "${name}": bake allows only [a-zA-Z0-9_-] in names`);
    for (const key of Object.keys(t))
      if (!KNOWN_TARGET_ATTRIBUTES.has(key)) problems.push(`target "${name}": unknown bake attribute "${key}"`);
  }
  for (const [name, g] of Object.entries(file.group)) {
    if (!BAKE_NAME.test(name)) problems.push(`group "${name}": bake allows only [a-zA-Z0-9_-] in names`);
    if (name in file.target) problems.push(`group "${name}" has the name of a target; bake would build the group`);
    for (const key of Object.keys(g))
      if (!KNOWN_GROUP_ATTRIBUTES.has(key)) problems.push(`group "${name}": unknown bake attribute "${key}"`);
  }
  return problems;
}

/** Deterministic JSON: groups and targets sorted by name, every string escaped for bake's HCL interpolation. */
export function serializeBakeFile(file: BakeFile): string {
  const sortByKey = <T>(r: Record<string, T>) =>
    Object.fromEntries(Object.entries(r).sort(([a], [b]) => compareStrings(a, b)));
  const ordered: BakeFile = { "//": file["//"], group: sortByKey(file.group), target: sortByKey(file.target) };
  return `${JSON.stringify(ordered, (_key, value: unknown) => (typeof value === "string" ? escapeBake(value) : escapeKeys(value)), 2)}\n`;
}

function escapeKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (!entries.some(([k]) => k.includes("${") || k.includes("%{"))) return value;
  return Object.fromEntries(entries.map(([k, v]) => [escapeBake(k), v]));
}
