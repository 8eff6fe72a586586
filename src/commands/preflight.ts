import { imagesOf, imageTargets, reportPreflight, resolveImages } from "../command-support/images.js";
import { planProject } from "../command-support/plan-project.js";
import { printableOutput } from "../text.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { readLock } from "../io/lock-file.js";

export interface PreflightOptions extends PlanCommandOptions {
  targets: string[];
  builder?: string;
  timeoutMs: number;
}

export async function preflight(opts: PreflightOptions, terminal: Output): Promise<void> {
  // Image references and registry answers: never raw control characters.
  const output = printableOutput(terminal);
  const { files, plan } = planProject({ ...opts, only: [] }, output);
  const list = imagesOf(files, plan, imageTargets(files, plan, opts.targets, opts.only), readLock(files.dir));
  const lookups = await resolveImages(list, {
    timeoutMs: opts.timeoutMs,
    concurrency: 8,
    builder: opts.builder,
    useLocalImages: true,
  });
  reportPreflight(list, lookups, output);
}
