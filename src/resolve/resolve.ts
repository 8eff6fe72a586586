import { ConfigError, type Issue, type SourceLocation } from "../errors.js";
import type { Layer, Project } from "../config/normalize.js";
import type { SecretSource } from "../config/schema.js";
import { matches, type Variant } from "../matrix/expand.js";
import { checkImageReference, checkValue, secretArgMessage, secretLikeReason } from "../values.js";

export interface Resolved<T> {
  value: T;
  /** file:line:col and key path the value came from. */
  source: SourceLocation;
  /** The precedence layer: `defaults`, `framework=vllm`, `framework=vllm, cuda=12.9`, `--set`. */
  layer: string;
}

export interface ResolvedValues {
  /** ARG name -> value (images included). */
  args: Map<string, Resolved<string>>;
  /** ARG names that hold image references. */
  images: Set<string>;
  labels: Map<string, Resolved<string>>;
  platforms?: Resolved<string[]>;
  secrets: Map<string, Resolved<SecretSource>>;
}

/** A `--set NAME=VALUE` from the command line. */
export interface Override {
  name: string;
  value: string;
}

export const COMMAND_LINE = "command line";

/**
 * Values for one variant. Precedence, lowest first: defaults -> axis value -> combination (a
 * combination naming more axes wins over one naming fewer) -> --set. Two layers of the same rank
 * that both apply and disagree are an error, never a silent pick.
 */
export function resolveValues(
  project: Project,
  variant: Variant,
  overrides: readonly Override[] = [],
  layers = applicableLayers(project.layers, variant),
): ResolvedValues {
  const issues: Issue[] = [];
  const out: ResolvedValues = { args: new Map(), images: new Set(), labels: new Map(), secrets: new Map() };
  const rankOf = new Map<string, { rank: number; layer: Layer }>();
  // Same-rank conflicts, dropped when a higher layer (or --set) decides the value.
  const conflicts = new Map<string, Issue>();

  const put = <T>(
    map: Map<string, Resolved<T>>,
    kind: string,
    key: string,
    value: T,
    layer: Layer,
    path: (string | number)[],
  ) => {
    const id = `${kind}:${key}`;
    const prev = rankOf.get(id);
    if (prev && prev.rank === layer.rank && JSON.stringify(map.get(key)?.value) !== JSON.stringify(value)) {
      if (conflicts.has(id)) return;
      conflicts.set(id, {
        message: `Conflicting values for ${kind} ${key} in ${variant.name}: ${JSON.stringify(map.get(key)?.value)} from ${prev.layer.label} and ${JSON.stringify(value)} from ${layer.label}, at the same precedence. Add a combination naming both axes to decide`,
        location: project.source.locate([...layer.path, ...path]),
      });
      return;
    }
    if (!prev || prev.rank < layer.rank) conflicts.delete(id);
    rankOf.set(id, { rank: layer.rank, layer });
    map.set(key, { value, source: locateIn(project, layer, path), layer: layer.label });
  };

  for (const layer of layers) {
    const v = layer.values;
    for (const [name, value] of Object.entries(v.args ?? {})) put(out.args, "ARG", name, value, layer, ["args", name]);
    for (const [name, value] of Object.entries(v.images ?? {})) {
      put(out.args, "ARG", name, value, layer, ["images", name]);
      out.images.add(name);
    }
    for (const [name, value] of Object.entries(v.labels ?? {}))
      put(out.labels, "label", name, value, layer, ["labels", name]);
    for (const [id, secret] of Object.entries(v.secrets ?? {}))
      put(out.secrets, "secret", id, secret, layer, ["secrets", id]);
    if (v.platforms) {
      const prev = out.platforms;
      const prevRank = rankOf.get("platforms")?.rank;
      if (prev && prevRank === layer.rank && prev.value.join(",") !== v.platforms.join(",")) {
        if (!conflicts.has("platforms"))
          conflicts.set("platforms", {
            message: `Conflicting platforms for ${variant.name} from ${prev.layer} and ${layer.label} at the same precedence`,
            location: project.source.locate([...layer.path, "platforms"]),
          });
      } else {
        if (prevRank === undefined || prevRank < layer.rank) conflicts.delete("platforms");
        rankOf.set("platforms", { rank: layer.rank, layer });
        out.platforms = {
          value: v.platforms,
          source: project.source.locate([...layer.path, "platforms"]),
          layer: layer.label,
        };
      }
    }
  }

  for (const o of overrides) conflicts.delete(`ARG:${o.name}`);
  issues.push(...conflicts.values());
  for (const o of overrides) {
    const source: SourceLocation = { file: COMMAND_LINE, path: `--set ${o.name}` };
    for (const m of checkValue(o.name, o.value, "ARG")) issues.push({ message: m, location: source });
    if (out.images.has(o.name))
      for (const m of checkImageReference(o.value)) issues.push({ message: m, location: source });
    out.args.set(o.name, { value: o.value, source, layer: "--set" });
  }

  const allowed = project.build.allowSecretLike;
  for (const [name, r] of out.args) {
    if (out.images.has(name) || allowed.has(name)) continue;
    const why = secretLikeReason(name, r.value);
    if (why)
      issues.push({
        message: secretArgMessage(name, why),
        location: r.source,
      });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}

// Every variant a layer applies to points at the same places in context.yaml: found once per
// layer and key (locate walks the YAML tree and formats the key path), shared after that.
const locations = new WeakMap<Project["source"], WeakMap<Layer, Map<string, SourceLocation>>>();

function locateIn(project: Project, layer: Layer, path: readonly (string | number)[]): SourceLocation {
  let byLayer = locations.get(project.source);
  if (!byLayer) locations.set(project.source, (byLayer = new WeakMap()));
  let byPath = byLayer.get(layer);
  if (!byPath) byLayer.set(layer, (byPath = new Map<string, SourceLocation>()));
  const key = path.join("\u0000");
  let location = byPath.get(key);
  if (!location) byPath.set(key, (location = project.source.locate([...layer.path, ...path])));
  return location;
}

/** Layers that apply to a variant, lowest precedence first (stable within a rank: file order). */
export function applicableLayers(layers: readonly Layer[], variant: Variant): Layer[] {
  return layers.filter((l) => matches(l.match, variant.values)).sort((a, b) => a.rank - b.rank);
}
