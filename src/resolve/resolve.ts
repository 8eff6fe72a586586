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
  /** An ARG whose value is a default BuildKit expands (`{derived: ...}`): written unescaped, never a build arg. */
  derived?: boolean;
}

export interface ResolvedValues {
  /** ARG name -> value (images included). */
  args: Map<string, Resolved<string>>;
  /** ARG names that hold image references. */
  images: Set<string>;
  labels: Map<string, Resolved<string>>;
  platforms?: Resolved<string[]>;
  secrets: Map<string, Resolved<SecretSource>>;
  /** Template values (`vars`) by name: only the ones some layer (or --set) gives this variant. */
  vars: Map<string, Resolved<string>>;
  /** The Dockerfile stage built (bake `target`); none builds the last stage. */
  stage?: Resolved<string>;
  /** The builder affinity pattern (`{axis}` placeholders not yet filled), when a layer sets one. */
  affinity?: Resolved<string>;
}

/** A `--set NAME=VALUE` from the command line: an ARG, or a template value as `vars.NAME`. */
export interface Override {
  name: string;
  value: string;
}

const VAR_PREFIX = "vars.";

/** The template value a `--set vars.NAME=VALUE` sets, or undefined for an ARG. */
export function overriddenVar(o: Override): string | undefined {
  return o.name.startsWith(VAR_PREFIX) ? o.name.slice(VAR_PREFIX.length) : undefined;
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
  const layered = new LayeredValues(project, variant);
  for (const layer of layers) layered.add(layer);
  // A --set decides the value: a conflict about it is no problem.
  for (const o of overrides) {
    const v = overriddenVar(o);
    layered.conflicts.delete(v === undefined ? `ARG:${o.name}` : `var:${v}`);
  }
  const { values } = layered;
  const issues: Issue[] = [...layered.conflicts.values()];
  issues.push(...applyOverrides(values, overrides), ...secretLikeArgs(project, values));
  if (issues.length > 0) throw new ConfigError(issues);
  return values;
}

/** The values of layers added lowest precedence first, and the same-rank conflicts among them. */
class LayeredValues {
  readonly values: ResolvedValues = {
    args: new Map(),
    images: new Set(),
    labels: new Map(),
    secrets: new Map(),
    vars: new Map(),
  };
  /** Same-rank conflicts by `kind:key`, dropped when a higher layer decides the value. */
  readonly conflicts = new Map<string, Issue>();
  private readonly rankOf = new Map<string, { rank: number; layer: Layer }>();

  constructor(
    private readonly project: Project,
    private readonly variant: Variant,
  ) {}

  add(layer: Layer): void {
    const v = layer.values;
    const { args, images, labels, secrets, vars } = this.values;
    for (const [name, value] of Object.entries(v.args ?? {}))
      if (typeof value === "string") this.put(args, "ARG", name, value, layer, ["args", name]);
      else this.put(args, "ARG", name, value.derived, layer, ["args", name, "derived"], true);
    for (const [name, value] of Object.entries(v.images ?? {})) {
      this.put(args, "ARG", name, value, layer, ["images", name]);
      images.add(name);
    }
    for (const [name, value] of Object.entries(v.labels ?? {}))
      this.put(labels, "label", name, value, layer, ["labels", name]);
    for (const [id, secret] of Object.entries(v.secrets ?? {}))
      this.put(secrets, "secret", id, secret, layer, ["secrets", id]);
    for (const [name, value] of Object.entries(v.vars ?? {})) this.put(vars, "var", name, value, layer, ["vars", name]);
    if (v.platforms) this.putPlatforms(v.platforms, layer);
    if (v.stage !== undefined) this.putStage(v.stage, layer);
    if (v.affinity !== undefined) this.putAffinity(v.affinity, layer);
  }

  private put<T>(
    map: Map<string, Resolved<T>>,
    kind: string,
    key: string,
    value: T,
    layer: Layer,
    path: (string | number)[],
    derived = false,
  ): void {
    const id = `${kind}:${key}`;
    const prev = this.rankOf.get(id);
    const before = map.get(key);
    const shown = (v: unknown, d: boolean | undefined) => (d ? `derived ${JSON.stringify(v)}` : JSON.stringify(v));
    if (
      prev &&
      prev.rank === layer.rank &&
      (JSON.stringify(before?.value) !== JSON.stringify(value) || (before?.derived ?? false) !== derived)
    ) {
      if (this.conflicts.has(id)) return;
      this.conflicts.set(id, {
        message: `Conflicting values for ${kind} ${key} in ${this.variant.name}: ${shown(before?.value, before?.derived)} from ${prev.layer.label} and ${shown(value, derived)} from ${layer.label}, at the same precedence. Add a combination naming both axes to decide`,
        location: this.project.source.locate([...layer.path, ...path]),
      });
      return;
    }
    if (!prev || prev.rank < layer.rank) this.conflicts.delete(id);
    this.rankOf.set(id, { rank: layer.rank, layer });
    const resolved: Resolved<T> = { value, source: locateIn(this.project, layer, path), layer: layer.label };
    if (derived) resolved.derived = true;
    map.set(key, resolved);
  }

  private putPlatforms(platforms: string[], layer: Layer): void {
    const prev = this.values.platforms;
    const prevRank = this.rankOf.get("platforms")?.rank;
    if (prev && prevRank === layer.rank && prev.value.join(",") !== platforms.join(",")) {
      if (!this.conflicts.has("platforms"))
        this.conflicts.set("platforms", {
          message: `Conflicting platforms for ${this.variant.name} from ${prev.layer} and ${layer.label} at the same precedence`,
          location: this.project.source.locate([...layer.path, "platforms"]),
        });
      return;
    }
    if (prevRank === undefined || prevRank < layer.rank) this.conflicts.delete("platforms");
    this.rankOf.set("platforms", { rank: layer.rank, layer });
    this.values.platforms = {
      value: platforms,
      source: this.project.source.locate([...layer.path, "platforms"]),
      layer: layer.label,
    };
  }

  private putStage(stage: string, layer: Layer): void {
    const prev = this.values.stage;
    const prevRank = this.rankOf.get("stage")?.rank;
    if (prev && prevRank === layer.rank && prev.value !== stage) {
      if (!this.conflicts.has("stage"))
        this.conflicts.set("stage", {
          message: `Conflicting stages for ${this.variant.name}: "${prev.value}" from ${prev.layer} and "${stage}" from ${layer.label}, at the same precedence. Add a combination naming both axes to decide`,
          location: this.project.source.locate([...layer.path, "stage"]),
        });
      return;
    }
    if (prevRank === undefined || prevRank < layer.rank) this.conflicts.delete("stage");
    this.rankOf.set("stage", { rank: layer.rank, layer });
    this.values.stage = {
      value: stage,
      // A stage axis value without `stage:` builds the stage of its name: located at the value.
      source: layer.stageImplicit
        ? this.project.source.locate(layer.path, { key: true })
        : locateIn(this.project, layer, ["stage"]),
      layer: layer.label,
    };
  }

  private putAffinity(affinity: string, layer: Layer): void {
    const prev = this.values.affinity;
    const prevRank = this.rankOf.get("affinity")?.rank;
    if (prev && prevRank === layer.rank && prev.value !== affinity) {
      if (!this.conflicts.has("affinity"))
        this.conflicts.set("affinity", {
          message: `Conflicting affinity for ${this.variant.name}: ${JSON.stringify(prev.value)} from ${prev.layer} and ${JSON.stringify(affinity)} from ${layer.label}, at the same precedence. Add a combination naming both axes to decide`,
          location: this.project.source.locate([...layer.path, "affinity"]),
        });
      return;
    }
    if (prevRank === undefined || prevRank < layer.rank) this.conflicts.delete("affinity");
    this.rankOf.set("affinity", { rank: layer.rank, layer });
    this.values.affinity = { value: affinity, source: locateIn(this.project, layer, ["affinity"]), layer: layer.label };
  }
}

/** Sets each --set value over the layers; a value that would break its line, or a bad image reference, is a problem. */
function applyOverrides(values: ResolvedValues, overrides: readonly Override[]): Issue[] {
  const issues: Issue[] = [];
  for (const o of overrides) {
    const source: SourceLocation = { file: COMMAND_LINE, path: `--set ${o.name}` };
    const v = overriddenVar(o);
    if (v !== undefined) {
      for (const m of checkValue(v, o.value, "template value")) issues.push({ message: m, location: source });
      values.vars.set(v, { value: o.value, source, layer: "--set" });
      continue;
    }
    for (const m of checkValue(o.name, o.value, "ARG")) issues.push({ message: m, location: source });
    if (values.images.has(o.name))
      for (const m of checkImageReference(o.value)) issues.push({ message: m, location: source });
    values.args.set(o.name, { value: o.value, source, layer: "--set" });
  }
  return issues;
}

/** ARGs (images and build.allow_secret_like aside) whose name or value looks like a secret. */
function secretLikeArgs(project: Project, values: ResolvedValues): Issue[] {
  const issues: Issue[] = [];
  const allowed = project.build.allowSecretLike;
  for (const [name, r] of values.args) {
    if (values.images.has(name) || allowed.has(name)) continue;
    const why = secretLikeReason(name, r.value);
    if (why) issues.push({ message: secretArgMessage(name, why), location: r.source });
  }
  return issues;
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
