import type { Project } from "../config/normalize.js";
import { ConfigError, type Issue } from "../errors.js";
import type { Variant } from "../matrix/expand.js";
import { applicableLayers, resolveValues, type Override, type ResolvedValues } from "../resolve/resolve.js";

/**
 * The values of every variant. Variants the same layers apply to (they differ only in axes whose
 * values set nothing, like the stage axis) get the same values: resolved once and shared. A
 * variant whose values are in conflict is not shared (its messages name it), so each such variant
 * is reported; every message once.
 */
export function resolveVariants(
  project: Project,
  variants: readonly Variant[],
  overrides: readonly Override[],
): Map<Variant, ResolvedValues> {
  const issues: Issue[] = [];
  const valuesOf = new Map<Variant, ResolvedValues>();
  const layerIndex = new Map(project.layers.map((l, i) => [l, i]));
  const byLayers = new Map<string, ResolvedValues>();
  for (const variant of variants) {
    try {
      const layers = applicableLayers(project.layers, variant);
      const key = layers.map((l) => layerIndex.get(l)).join(",");
      let values = byLayers.get(key);
      if (!values) byLayers.set(key, (values = resolveValues(project, variant, overrides, layers)));
      valuesOf.set(variant, values);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const i of e.issues) if (!issues.some((x) => x.message === i.message)) issues.push(i);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return valuesOf;
}
