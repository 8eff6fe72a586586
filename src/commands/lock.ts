import { imagesOf } from "../command-support/images.js";
import { planProject } from "../command-support/plan-project.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { UsageError, UserError } from "../errors.js";
import { emptyLock, hasDigest, type Lock } from "../images/lock.js";
import { checkImages, failureLines } from "../images/preflight.js";
import { manifestKind } from "../images/reference.js";
import { checkLockWritable, lockPath, readLock, writeLock } from "../io/lock-file.js";
import { displayPath } from "../io/project-files.js";
import { mapConcurrent, RegistryClient } from "../io/registry.js";
import { CredentialStore } from "../io/credentials.js";
import { plural, printableOutput } from "../text.js";

export interface LockOptions extends PlanCommandOptions {
  /** Re-resolve these images (every image when empty and `update` is set). */
  update?: string[];
  timeoutMs: number;
}

/**
 * Resolves every image of every target and writes bakeplan.lock.json. Entries already in the lock
 * stay as they are unless --update names them (or every image, with --update alone).
 */
export async function lock(opts: LockOptions, terminal: Output): Promise<void> {
  // Image references and registry answers: never raw control characters.
  const output = printableOutput(terminal);
  // The references to lock are the plan's own, so the plan is made without the lock.
  const { files, plan } = planProject({ ...opts, only: [], locked: false }, output, { ignoreBuildLocked: true });
  checkLockWritable(files.dir);
  const previous = readLock(files.dir) ?? emptyLock();
  const list = imagesOf(
    files,
    plan,
    plan.targets.map((t) => t.variant.name),
    previous,
  );
  const refs = list.images.map((n) => n.ref).filter((r) => !hasDigest(r));
  for (const name of opts.update ?? [])
    if (!refs.includes(name))
      throw new UsageError(`--update ${name}: no target uses this image. Images: ${refs.join(", ") || "(none)"}`);
  const refresh = (ref: string) => opts.update !== undefined && (opts.update.length === 0 || opts.update.includes(ref));
  const todo = refs.filter((r) => refresh(r) || !previous.images[r]);
  const client = new RegistryClient({ credentials: new CredentialStore(), timeoutMs: opts.timeoutMs });
  const results = await mapConcurrent(todo, 8, (r) => client.resolve(r));
  const lookups = new Map(todo.map((r, i) => [r, results[i]!] as const));
  const needs = list.images.filter((n) => lookups.has(n.ref));
  const problems = [...list.problems, ...failureLines(checkImages(needs, lookups))];
  if (problems.length > 0) throw new UserError(`lock: nothing written:\n${problems.map((p) => `  ${p}`).join("\n")}`);

  const next: Lock = { ...emptyLock(), images: {} };
  let changed = 0;
  for (const ref of refs) {
    const found = lookups.get(ref);
    if (found && !("failure" in found)) {
      const before = previous.images[ref];
      const entry = {
        digest: found.digest,
        mediaType: found.mediaType,
        platforms: Object.fromEntries(found.platforms.map((p) => [p.platform, p.digest])),
      };
      if (manifestKind(found.mediaType) === "manifest" && found.platforms.length === 0) entry.platforms = {};
      if (!before || before.digest !== entry.digest) changed++;
      next.images[ref] = entry;
    } else next.images[ref] = previous.images[ref]!;
  }
  const dropped = Object.keys(previous.images).filter((r) => !refs.includes(r));
  const wrote = writeLock(files.dir, next);
  output.out(
    `${displayPath(lockPath(files.dir))}: ${plural(refs.length, "image")}, ${changed} resolved anew, ${dropped.length} dropped${wrote ? "" : " (unchanged)"}\n`,
  );
  for (const r of dropped) output.out(`  dropped ${r} (no target uses it)\n`);
}
