import { Command, CommanderError, Option } from "commander";
import { UsageError } from "./errors.js";
import type { Override } from "./resolve/resolve.js";
import type { BuildInputs } from "./plan/naming.js";

/** Where commands print; tests pass their own. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Options shared by every command that plans. */
export interface PlanCommandOptions {
  config: string;
  set: Override[];
  only: string[];
  inputs: BuildInputs;
  strict: boolean;
  maxVariants?: number;
  verbose: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parseSet(values: string[]): Override[] {
  return values.map((raw) => {
    const eq = raw.indexOf("=");
    const name = eq < 0 ? raw : raw.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UsageError(`--set ${raw}: expected NAME=VALUE with an ARG name`);
    return { name, value: raw.slice(eq + 1) };
  });
}

function addPlanOptions(cmd: Command): Command {
  return cmd
    .option("-c, --config <file>", "context file", "context.yaml")
    .option("--set <NAME=VALUE>", "override an ARG value (repeatable; highest precedence)", collect, [])
    .option(
      "--only <selector>",
      "only these targets: a target, a group, or axis=value[,axis=value] (repeatable)",
      collect,
      [],
    )
    .addOption(new Option("--version <version>", "image version for tags and labels").env("BAKEPLAN_VERSION"))
    .addOption(new Option("--sha <sha>", "git commit for tags, labels and cache").env("BAKEPLAN_SHA"))
    .addOption(new Option("--branch <branch>", "git branch for tags and cache refs").env("BAKEPLAN_BRANCH"))
    .addOption(new Option("--registry <host>", "override publish.registry and cache.registry").env("BAKEPLAN_REGISTRY"))
    .option("--strict", "treat warnings (e.g. an exclude that matches nothing) as errors", false)
    .option("--max-variants <n>", "raise the variant limit (default: limits.max_variants, 10000)", (v) => {
      const n = Number.parseInt(v, 10);
      if (!Number.isInteger(n) || n <= 0 || String(n) !== v)
        throw new UsageError(`--max-variants ${v}: expected a positive whole number`);
      return n;
    })
    .option("-v, --verbose", "print stage timings and commands", false);
}

/** `{key: value}` when the option was given as a string, else `{}`, so an absent option stays absent. */
function given<K extends string>(opts: Record<string, unknown>, key: K): { [P in K]?: string } {
  const v = opts[key];
  return (typeof v === "string" ? { [key]: v } : {}) as { [P in K]?: string };
}

function planOptions(o: Record<string, unknown>): PlanCommandOptions {
  const inputs: BuildInputs = {};
  for (const key of ["version", "sha", "branch", "registry"] as const)
    if (typeof o[key] === "string" && o[key] !== "") inputs[key] = o[key];
  return {
    config: o.config as string,
    set: parseSet(o.set as string[]),
    only: o.only as string[],
    inputs,
    strict: o.strict === true,
    ...(typeof o.maxVariants === "number" ? { maxVariants: o.maxVariants } : {}),
    verbose: o.verbose === true,
  };
}

const EXAMPLES = {
  plan: `
Examples:
  $ bakeplan plan
  $ bakeplan plan --out docker-bake.json --branch main --sha $(git rev-parse HEAD)
  $ bakeplan plan --set VLLM_REF=v0.20.0 --only framework=vllm
  $ docker buildx bake vllm-cuda12`,
  list: `
Examples:
  $ bakeplan list
  $ bakeplan list --all            # also the excluded combinations, with reasons
  $ bakeplan list --json --only framework=trtllm`,
  render: `
Examples:
  $ bakeplan render vllm-cuda12
  $ bakeplan render sglang-cuda13-dev --set NIXL_REF=1.0.2`,
  explain: `
Examples:
  $ bakeplan explain vllm-cuda12
  $ bakeplan explain vllm-cuda12 VLLM_REF NIXL_REF
  $ bakeplan explain trtllm-cuda12       # an excluded combination: says why`,
  check: `
Examples:
  $ bakeplan check                  # exit 1 with a diff when docker-bake.json or bake/ is stale`,
  schema: `
Examples:
  $ bakeplan schema > context.schema.json`,
  bake: `
Examples:
  $ bakeplan bake vllm-cuda12 --load
  $ bakeplan bake --only framework=vllm --push --branch main
  $ bakeplan bake --dry-run vllm-cuda12
  $ bakeplan bake all --cache-warm --branch main
  $ bakeplan bake all --one-by-one --branch feat-x      # one buildx bake per target
  $ bakeplan bake vllm-cuda12 -- --progress=plain`,
  lint: `
Examples:
  $ bakeplan lint
  $ bakeplan lint vllm-cuda12 --base-image local/busybox:1`,
};

export function buildProgram(output: Output, passThrough: string[] = []): Command {
  const program = new Command()
    .name("bakeplan")
    .description(
      "Turn a declarative support matrix (context.yaml + liquid templates) into per-variant Dockerfiles and a Docker Bake file.",
    )
    .version(VERSION, "-V, --version")
    .enablePositionalOptions()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) })
    .exitOverride();

  const sub = (name: string, description: string, examples: string) => {
    const cmd = program
      .command(name)
      .description(description)
      .addHelpText("after", examples)
      .exitOverride()
      .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) });
    return cmd.showHelpAfterError();
  };

  addPlanOptions(sub("plan", "render the Dockerfiles into bake/ and write the bake file", EXAMPLES.plan))
    .option("-o, --out <file>", "bake file to write (default: docker-bake.json next to the context file)")
    .action(async (opts: Record<string, unknown>) => {
      const { plan } = await import("./commands/plan.js");
      await plan({ ...planOptions(opts), ...given(opts, "out") }, output);
    });

  addPlanOptions(sub("list", "list the targets with their axis values, platforms and Dockerfile", EXAMPLES.list))
    .option("--json", "print JSON", false)
    .option("--all", "also list excluded combinations and why", false)
    .action(async (opts: Record<string, unknown>) => {
      const { list } = await import("./commands/list.js");
      list({ ...planOptions(opts), json: opts.json === true, all: opts.all === true }, output);
    });

  addPlanOptions(sub("render", "print the Dockerfile of one target", EXAMPLES.render))
    .argument("<target>", "target name")
    .action(async (target: string, opts: Record<string, unknown>) => {
      const { render } = await import("./commands/render.js");
      render({ ...planOptions(opts), target }, output);
    });

  addPlanOptions(
    sub(
      "explain",
      "show each value of a target with its source (file:line, key path) and the stage that declares it",
      EXAMPLES.explain,
    ),
  )
    .argument("<target>", "target name")
    .argument("[args...]", "only these ARGs")
    .action(async (target: string, args: string[], opts: Record<string, unknown>) => {
      const { explain } = await import("./commands/explain.js");
      explain({ ...planOptions(opts), target, args }, output);
    });

  addPlanOptions(
    sub(
      "check",
      "render in memory and compare with the files on disk; exit 1 with a diff when out of date",
      EXAMPLES.check,
    ),
  )
    .option("-o, --out <file>", "bake file to compare (default: docker-bake.json next to the context file)")
    .action(async (opts: Record<string, unknown>) => {
      const { check } = await import("./commands/check.js");
      check({ ...planOptions(opts), ...given(opts, "out") }, output);
    });

  addPlanOptions(
    sub("bake", "plan, then build with docker buildx bake (arguments after -- go to buildx)", EXAMPLES.bake),
  )
    .argument("[targets...]", "targets or groups to build (default: the default group)")
    .option("-o, --out <file>", "bake file to write (default: docker-bake.json next to the context file)")
    .option("--push", "push the images (--push to buildx)", false)
    .option("--load", "load the images into the docker image store", false)
    .option("--builder <name>", "buildx builder to use")
    .option("--dry-run", "print the exact buildx command, shell-quoted; run and write nothing", false)
    .option("--metadata-file <file>", "keep buildx's metadata file here (default: a temp file)")
    .option(
      "--cache-warm",
      "build the selected targets to fill their registry cache only (output type=cacheonly), never push images",
      false,
    )
    .option(
      "--one-by-one",
      "run one buildx bake per target, in order, instead of one for all (works around remote-cache misses, docker/buildx#414)",
      false,
    )
    .action(async (targets: string[], opts: Record<string, unknown>) => {
      const { bake } = await import("./commands/bake.js");
      await bake(
        {
          ...planOptions(opts),
          targets,
          ...given(opts, "out"),
          push: opts.push === true,
          load: opts.load === true,
          ...given(opts, "builder"),
          dryRun: opts.dryRun === true,
          ...given(opts, "metadataFile"),
          cacheWarm: opts.cacheWarm === true,
          oneByOne: opts.oneByOne === true,
          extra: passThrough,
        },
        output,
      );
    });

  addPlanOptions(
    sub(
      "lint",
      "run BuildKit's Dockerfile checks (buildx bake --call check) and report findings at their template lines",
      EXAMPLES.lint,
    ),
  )
    .argument("[targets...]", "targets or groups to lint (default: all)")
    .option("-o, --out <file>", "bake file to write (default: docker-bake.json next to the context file)")
    .option("--builder <name>", "buildx builder to use")
    .option(
      "--base-image <image>",
      "replace every image ARG (BASE_IMAGE, RUNTIME_IMAGE, ...) with this local image, for offline linting",
    )
    .action(async (targets: string[], opts: Record<string, unknown>) => {
      const { lint } = await import("./commands/lint.js");
      await lint(
        {
          ...planOptions(opts),
          targets,
          ...given(opts, "out"),
          ...given(opts, "builder"),
          ...given(opts, "baseImage"),
        },
        output,
      );
    });

  sub("schema", "print the JSON Schema of context.yaml", EXAMPLES.schema).action(async () => {
    const { schema } = await import("./commands/schema.js");
    schema(output);
  });

  return program;
}

export const VERSION = "0.1.0";

/** Runs the CLI; returns the exit code (0 ok, 1 invalid input or drift, 2 usage). */
export async function run(argv: string[], output: Output): Promise<number> {
  // Everything after `--` belongs to buildx, not to commander's operands.
  const dashes = argv.indexOf("--", 2);
  const passThrough = dashes < 0 ? [] : argv.slice(dashes + 1);
  const program = buildProgram(output, passThrough);
  try {
    await program.parseAsync(dashes < 0 ? argv : argv.slice(0, dashes));
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help")
        return 0;
      return 2;
    }
    throw e;
  }
}
