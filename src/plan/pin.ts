// A locked plan (`plan --locked`, `build.locked: true`): image references become
// `repo:tag@sha256:...` from bakeplan.lock.json in ARG values (so in ARG defaults and bake args),
// in FROM and COPY --from lines that name an image literally, and in the `# syntax=` line; and
// each target carries the OCI base-image annotations of the image its stage is built FROM.

import type { Issue } from "../errors.js";
import { canonical, findPlatform, parseReference } from "../images/reference.js";
import { LOCK_FILE, pinned, type Lock } from "../images/lock.js";
import type { Variant } from "../matrix/expand.js";
import { parseInstructions } from "../render/instructions.js";
import type { ResolvedValues } from "../resolve/resolve.js";
import { ContentStore } from "./contents.js";
import type { Rendering } from "./render-variants.js";
import { targetBuild } from "./stage-graph.js";
import type { PlannedTarget } from "./targets.js";

/** Image ARGs (`images:` values) pinned; one pinned copy per distinct set of values. */
export function pinValues(
  valuesOf: ReadonlyMap<Variant, ResolvedValues>,
  lock: Lock,
): { valuesOf: Map<Variant, ResolvedValues>; issues: Issue[] } {
  const issues: Issue[] = [];
  const copies = new Map<ResolvedValues, ResolvedValues>();
  const out = new Map<Variant, ResolvedValues>();
  for (const [variant, values] of valuesOf) {
    let copy = copies.get(values);
    if (!copy) {
      const args = new Map(values.args);
      for (const name of values.images) {
        const v = values.args.get(name);
        if (!v || v.value.includes("@")) continue;
        const entry = lock.images[v.value];
        if (!entry) {
          const message = `${name}: the image ${v.value} is not in ${LOCK_FILE}; run \`bakeplan lock\``;
          if (!issues.some((i) => i.message === message)) issues.push({ message, location: v.source });
          continue;
        }
        args.set(name, { ...v, value: pinned(v.value, entry), layer: `${v.layer}, pinned by ${LOCK_FILE}` });
      }
      copies.set(values, (copy = { ...values, args }));
    }
    out.set(variant, copy);
  }
  return { valuesOf: out, issues };
}

const FROM_LINE = /^(\s*FROM\s+(?:--\S+\s+)*)([^\s$]+)(.*)$/i;
// `COPY --from=x` and `RUN --mount=type=bind,from=x,...` (from= anywhere in the mount's fields).
const COPY_FROM = /(--from=|--mount=(?:[^\s,]+,)*from=)([^\s$,]+)/gi;

/** FROM and COPY/RUN --mount from= lines that name a locked image literally get its digest. */
export function pinRenderings(renderingOf: ReadonlyMap<Variant, Rendering>, lock: Lock): Map<Variant, Rendering> {
  const store = new ContentStore();
  const done = new Map<Rendering, Rendering>();
  const out = new Map<Variant, Rendering>();
  const pin = (ref: string) => {
    const entry = lock.images[ref];
    return entry && !ref.includes("@") ? pinned(ref, entry) : ref;
  };
  for (const [variant, rendering] of renderingOf) {
    let copy = done.get(rendering);
    if (!copy) {
      const stages = new Set(parseInstructions(rendering.content.body).stages.flatMap((s) => (s.name ? [s.name] : [])));
      // The instruction a line belongs to: a `--mount` on a continuation line is its RUN's.
      let keyword = "";
      let continued = false;
      const body = rendering.content.body
        .split("\n")
        .map((line) => {
          if (!continued && !/^\s*(#|$)/.test(line)) keyword = /^\s*(\w+)/.exec(line)?.[1]?.toUpperCase() ?? "";
          continued = /\\\s*$/.test(line) || (continued && /^\s*(#|$)/.test(line));
          const from = FROM_LINE.exec(line);
          if (from && !stages.has(from[2]!.toLowerCase())) return `${from[1]}${pin(from[2]!)}${from[3]}`;
          return keyword === "COPY" || keyword === "ADD" || keyword === "RUN"
            ? line.replace(COPY_FROM, (m, flag: string, ref: string) =>
                stages.has(ref.toLowerCase()) ? m : `${flag}${pin(ref)}`,
              )
            : line;
        })
        .join("\n");
      copy = { ...rendering, content: store.intern(body) };
      done.set(rendering, copy);
    }
    out.set(variant, copy);
  }
  return out;
}

/**
 * `org.opencontainers.image.base.name` / `base.digest` (OCI image-spec annotations.md) for the
 * image the target's stage is built FROM, as bake `annotations`: the name on every manifest, the
 * digest per platform (each platform's manifest is built from that platform's base manifest).
 */
export function baseAnnotations(
  target: PlannedTarget,
  body: string,
  lock: Lock,
  buildPlatform: string,
): string[] | undefined {
  const df = parseInstructions(body);
  const annotations: string[] = [];
  const platforms = target.bake.platforms ?? [];
  let name: string | undefined;
  for (const platform of platforms.length > 0 ? platforms : [buildPlatform]) {
    const build = targetBuild(df, {
      target: target.bake.target,
      platforms: [platform],
      args: target.bake.args ?? {},
      buildPlatform,
    });
    const root = rootImage(df, target.bake.target, build.images);
    if (!root) return undefined;
    const at = root.lastIndexOf("@");
    const key = at < 0 ? root : root.slice(0, at);
    const entry = lock.images[key];
    if (!entry) return undefined;
    const ref = parseReference(key);
    name ??= ref ? canonical({ ...ref, digest: undefined }) : key;
    const entries = Object.entries(entry.platforms).map(([p, d]) => ({ platform: p, digest: d }));
    const digest = findPlatform(entries, platform)?.digest ?? entry.digest;
    if (platforms.length > 0) annotations.push(`manifest[${platform}]:org.opencontainers.image.base.digest=${digest}`);
    else annotations.push(`manifest:org.opencontainers.image.base.digest=${digest}`);
  }
  return [`manifest:org.opencontainers.image.base.name=${name}`, ...annotations];
}

/** The image at the root of the target stage's FROM chain. */
function rootImage(
  df: ReturnType<typeof parseInstructions>,
  target: string | undefined,
  images: ReturnType<typeof targetBuild>["images"],
): string | undefined {
  const byName = new Map(df.stages.flatMap((s) => (s.name ? [[s.name, s] as const] : [])));
  let stage = target === undefined ? df.stages[df.stages.length - 1] : byName.get(target.toLowerCase());
  for (let hops = 0; stage && hops <= df.stages.length; hops++) {
    const label = stage.name ?? `#${stage.index}`;
    const from = images.find((u) => u.kind === "from" && u.stage === label);
    if (from) return from.ref;
    // A stage built FROM another stage: follow it (a name built from ARGs is not followed).
    const next = byName.get(stage.image.toLowerCase());
    if (!next) return undefined;
    stage = next;
  }
  return undefined;
}
