import packageJson from "../../package.json" with { type: "json" };

/** bakeplan's version, from its package.json (inlined into the bundle, which has no package.json path of its own). */
export function bakeplanVersion(): string {
  return packageJson.version;
}
