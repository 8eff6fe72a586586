import type { BuildInputs } from "../plan/naming.js";
import type { Override } from "../resolve/resolve.js";

/** Where commands print; tests pass their own. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** What every command that plans takes, parsed from its command line. */
export interface PlanCommandOptions {
  config: string;
  set: Override[];
  only: string[];
  inputs: BuildInputs;
  /** The environment variable each input came from, when it did not come from its option (BAKEPLAN_VERSION, ...). */
  inputVariables?: Partial<Record<keyof BuildInputs, string>>;
  strict: boolean;
  maxVariants?: number;
  verbose: boolean;
  /** `--builders`: the builder pool instead of context.yaml's `builders.pool`. */
  builders?: string[];
  /** Pin images from bakeplan.lock.json (`--locked`; `build.locked: true` does the same). */
  locked?: boolean;
}
