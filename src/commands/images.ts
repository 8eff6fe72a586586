import { imagesOf, imageTargets } from "../command-support/images.js";
import { planProject } from "../command-support/plan-project.js";
import { table } from "../command-support/table.js";
import { printableLine, printableOutput } from "../text.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { readLock } from "../io/lock-file.js";

export interface ImagesOptions extends PlanCommandOptions {
  targets: string[];
  json: boolean;
}

export function images(opts: ImagesOptions, terminal: Output): void {
  // Image references and sources come from the pull request: never raw control characters.
  const output = printableOutput(terminal);
  const { files, plan } = planProject({ ...opts, only: [] }, output);
  const list = imagesOf(files, plan, imageTargets(files, plan, opts.targets, opts.only), readLock(files.dir));
  for (const p of list.problems) output.err(`bakeplan: warning: ${printableLine(p)}\n`);
  if (opts.json) {
    const json = list.images.map((n) => ({
      ref: n.ref,
      platforms: n.platforms,
      targets: Object.fromEntries(n.targets.map((t) => [t, n.byTarget.get(t) ?? []])),
      sources: n.sources,
      ...(n.args.length > 0 ? { args: n.args } : {}),
    }));
    output.out(`${JSON.stringify({ images: json }, null, 2)}\n`);
    return;
  }
  const rows = list.images.map((n) => [
    n.ref,
    n.platforms.join(", ") || "(builder's)",
    n.targets.length <= 2 ? n.targets.join(", ") : `${n.targets.length} targets (${n.targets[0]}, ...)`,
    n.sources.join("; "),
  ]);
  output.out(table(["IMAGE", "PLATFORMS", "TARGETS", "SOURCE"], rows));
}
