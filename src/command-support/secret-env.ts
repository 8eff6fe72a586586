import { isAbsolute, relative, resolve, sep } from "node:path";
import { UserError } from "../errors.js";
import { EnvTemplate } from "../plan/bake-file.js";
import type { Plan } from "../plan/plan.js";
import { plannedTarget } from "./targets.js";

/** Each environment variable a secret `src: ${NAME}` of these targets reads, with the secrets that read it. */
export function secretEnvUses(plan: Plan, targets: readonly string[]): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  for (const name of targets)
    for (const s of plannedTarget(plan, name).bake.secret ?? [])
      if (s instanceof EnvTemplate) {
        const id = /^id=([^,]*)/.exec(s.text)?.[1] ?? "?";
        for (const v of s.names) uses.set(v, [...(uses.get(v) ?? []), `${id} of ${name}`]);
      }
  return uses;
}

/**
 * Before a build: every variable a selected target's secret reads its file from is set. Unset, bake
 * would give the secret an empty path and buildx would fail with "failed to stat <id>".
 */
export function requireSecretEnv(plan: Plan, targets: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const missing = [...secretEnvUses(plan, targets)].filter(([v]) => !env[v]);
  if (missing.length === 0) return;
  throw new UserError(
    missing
      .map(
        ([v, uses]) =>
          `$${v} is not set, and the secret ${uses.slice(0, 3).join(", ")}${uses.length > 3 ? ` (and ${uses.length - 3} more)` : ""} reads its file from it. Set it, or limit the secret with \`when\``,
      )
      .join("\n"),
  );
}

const WHOLE_ENV_SRC = /^id=[^,]*,src=\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * The entitlement `fs.read=FILE` (for `--allow`) of each secret file outside the project directory that a selected
 * target's secret names as `src: "${NAME}"` alone: buildx refuses to read a file outside the
 * working directory without it ("additional privileges requested", bake's filesystem
 * entitlements, buildx 0.29.1). Such a path comes from the environment (the CI's IRSA token
 * file), not from context.yaml, so bakeplan grants exactly that file; a path written in
 * context.yaml still needs the user's own `--allow`.
 */
export function secretFileGrants(
  plan: Plan,
  targets: readonly string[],
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const files = new Set<string>();
  for (const name of targets)
    for (const s of plannedTarget(plan, name).bake.secret ?? []) {
      const v = s instanceof EnvTemplate ? WHOLE_ENV_SRC.exec(s.text)?.[1] : undefined;
      const value = v === undefined ? undefined : env[v];
      if (!value) continue;
      const file = resolve(projectDir, value);
      const rel = relative(projectDir, file);
      if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) files.add(file);
    }
  return [...files].sort().map((f) => `fs.read=${f}`);
}

/**
 * For `lint`: BuildKit's checks run no step and read no secret, but buildx still looks at every
 * secret file; an unset variable is pointed at `placeholder` (a file inside the project, so no
 * entitlement is needed) for that one command.
 */
export function lintSecretEnv(
  plan: Plan,
  targets: readonly string[],
  placeholder: string,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  return Object.fromEntries(
    [...secretEnvUses(plan, targets).keys()].filter((v) => !env[v]).map((v) => [v, placeholder]),
  );
}
