import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import type { Output, PlanCommandOptions } from "./command-support/types.js";
import { UsageError } from "./errors.js";
import { bakeplanVersion } from "./io/package-json.js";
import type { BuildInputs } from "./plan/naming.js";
import type { Override } from "./resolve/resolve.js";

export function parseSet(values: string[]): Override[] {
  return values.map((raw) => {
    const eq = raw.indexOf("=");
    const name = eq < 0 ? raw : raw.slice(0, eq);
    // An ARG name, or vars.NAME for a template value: ARG names have no ".", so the two never meet.
    if (eq < 0 || !/^(?:[A-Za-z_][A-Za-z0-9_]*|vars\.[a-z][a-z0-9_]*)$/.test(name))
      throw new UsageError(
        `--set ${raw}: expected NAME=VALUE with an ARG name, or vars.NAME=VALUE for a template value`,
      );
    return { name, value: raw.slice(eq + 1) };
  });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function positiveInteger(value: string): number {
  return wholeNumber("--max-variants", value);
}

function wholeNumber(flag: string, value: string): number {
  const n = Number.parseInt(value, 10);
  if (!Number.isInteger(n) || n <= 0 || String(n) !== value)
    throw new UsageError(`${flag} ${value}: expected a positive whole number`);
  return n;
}

/** `--builders a,b,c` (repeatable): buildx builder names, each once. */
export function parseBuilderNames(value: string, previous: string[] | undefined): string[] {
  const names = [...(previous ?? [])];
  for (const raw of value.split(",")) {
    const name = raw.trim();
    if (name === "") continue;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
      throw new UsageError(
        `--builders ${value}: "${name}" is not a builder name (letters, digits, _ . -, starting with a letter or digit)`,
      );
    const same = names.find((n) => n.replaceAll(".", "_") === name.replaceAll(".", "_"));
    if (same !== undefined)
      throw new UsageError(
        same === name
          ? `--builders: "${name}" is named twice`
          : `--builders: "${same}" and "${name}" would both get the bake group builder-${name.replaceAll(".", "_")}`,
      );
    names.push(name);
  }
  if (names.length === 0) throw new UsageError(`--builders ${JSON.stringify(value)}: name at least one builder`);
  return names;
}

/** The options commands share; each command adds the ones it uses, so its --help lists only those. */
const option = {
  config: () => new Option("-c, --config <file>", "context file").default("context.yaml"),
  set: () =>
    new Option(
      "--set <NAME=VALUE>",
      "override an ARG value, or a template value as vars.NAME=VALUE (repeatable; highest precedence)",
    ).argParser(collect),
  only: () =>
    new Option(
      "--only <selector>",
      "only these targets: a target, a group, or axis=value[,axis=value] (repeatable)",
    ).argParser(collect),
  imageVersion: () =>
    new Option("--image-version <version>", "image version for tags and labels").env("BAKEPLAN_VERSION"),
  sha: () => new Option("--sha <sha>", "git commit for tags, labels and cache").env("BAKEPLAN_SHA"),
  branch: () => new Option("--branch <branch>", "git branch for tags and cache refs").env("BAKEPLAN_BRANCH"),
  registry: () =>
    new Option("--registry <host>", "override publish.registry and cache.registry").env("BAKEPLAN_REGISTRY"),
  strict: () => new Option("--strict", "treat warnings (e.g. an exclude that matches nothing) as errors"),
  maxVariants: () =>
    new Option("--max-variants <n>", "raise the variant limit (default: limits.max_variants, 10000)").argParser(
      positiveInteger,
    ),
  verbose: () => new Option("-v, --verbose", "print stage timings and commands"),
  out: (what: string) => new Option("-o, --out <file>", `${what} (default: docker-bake.json next to the context file)`),
  builder: () => new Option("--builder <name>", "buildx builder to use"),
  builders: (fromEnv = false) => {
    const o = new Option(
      "--builders <names>",
      "a builder pool to spread the targets over, e.g. b1,b2 (replaces builders.pool of context.yaml)",
    ).argParser(parseBuilderNames);
    // Not for plan and check: a CI job that sets it for bake must not make the committed plan drift.
    return fromEnv ? o.env("BAKEPLAN_BUILDERS") : o;
  },
  locked: () =>
    new Option("--locked", "pin every image to its digest from bakeplan.lock.json (as build.locked: true does)"),
  timeout: () =>
    new Option("--timeout <seconds>", "registry request timeout (each request is tried twice)")
      .default(10)
      .argParser((v) => {
        const n = Number(v);
        if (!(n > 0)) throw new UsageError(`--timeout ${v}: expected a positive number of seconds`);
        return n;
      }),
};

/** What a command line gave; a command that does not take an option leaves it out. */
interface ParsedPlanOptions {
  config: string;
  set?: string[];
  only?: string[];
  imageVersion?: string;
  sha?: string;
  branch?: string;
  registry?: string;
  strict?: boolean;
  maxVariants?: number;
  verbose?: boolean;
  builders?: string[];
  locked?: boolean;
}

/** The environment variable each tag input can come from (commander's `.env()` above). */
const INPUT_VARIABLES = {
  version: ["imageVersion", "BAKEPLAN_VERSION"],
  sha: ["sha", "BAKEPLAN_SHA"],
  branch: ["branch", "BAKEPLAN_BRANCH"],
  registry: ["registry", "BAKEPLAN_REGISTRY"],
} as const;

function planOptions(o: ParsedPlanOptions, command: { getOptionValueSource(key: string): string | undefined }) {
  // An empty value (e.g. BAKEPLAN_SHA= in CI) counts as not given.
  const inputs: BuildInputs = {};
  if (o.imageVersion) inputs.version = o.imageVersion;
  if (o.sha) inputs.sha = o.sha;
  if (o.branch) inputs.branch = o.branch;
  if (o.registry) inputs.registry = o.registry;
  // A value from the environment is named by its variable in messages, not by the option.
  const inputVariables: NonNullable<PlanCommandOptions["inputVariables"]> = {};
  for (const [key, [option, variable]] of Object.entries(INPUT_VARIABLES) as [
    keyof BuildInputs,
    readonly [string, string],
  ][])
    if (inputs[key] !== undefined && command.getOptionValueSource(option) === "env") inputVariables[key] = variable;
  return {
    inputVariables,
    config: o.config,
    set: parseSet(o.set ?? []),
    only: o.only ?? [],
    inputs,
    strict: o.strict === true,
    maxVariants: o.maxVariants,
    verbose: o.verbose === true,
    builders: o.builders,
    locked: o.locked === true,
  } satisfies PlanCommandOptions;
}

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;
}

function planCommand(program: Command, output: Output): void {
  program
    .command("plan")
    .description("render the Dockerfiles into bake/ and write the bake file")
    .addOption(option.config())
    .addOption(option.set())
    .addOption(option.only())
    .addOption(option.imageVersion())
    .addOption(option.sha())
    .addOption(option.branch())
    .addOption(option.registry())
    .addOption(option.out("bake file to write"))
    .addOption(option.builders())
    .addOption(option.locked())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText(
      "after",
      examples(
        "bakeplan plan",
        "bakeplan plan --builders bk-0,bk-1          # one bake group builder-<name> per builder",
        "bakeplan plan --out docker-bake.json --branch main --sha $(git rev-parse HEAD)",
        "bakeplan plan --set VLLM_REF=v0.20.0 --only framework=vllm",
        "docker buildx bake vllm-cuda12",
      ),
    )
    .action(async (opts, cmd) => {
      const { plan } = await import("./commands/plan.js");
      await plan({ ...planOptions(opts, cmd), out: opts.out }, output);
    });
}

function listCommand(program: Command, output: Output): void {
  program
    .command("list")
    .description("list the targets with their axis values, platforms and Dockerfile")
    .addOption(option.config())
    .addOption(option.only())
    .option("--json", "print JSON")
    .option("--all", "also list excluded combinations and why")
    .addOption(option.builders())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText(
      "after",
      examples(
        "bakeplan list",
        "bakeplan list --all            # also the excluded combinations, with reasons",
        "bakeplan list --json --only framework=trtllm",
      ),
    )
    .action(async (opts, cmd) => {
      const { list } = await import("./commands/list.js");
      list({ ...planOptions(opts, cmd), json: opts.json === true, all: opts.all === true }, output);
    });
}

function renderCommand(program: Command, output: Output): void {
  program
    .command("render")
    .description("print the Dockerfile of one target")
    .argument("<target>", "target name")
    .addOption(option.config())
    .addOption(option.set())
    .addOption(option.locked())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText(
      "after",
      examples("bakeplan render vllm-cuda12", "bakeplan render sglang-cuda13-dev --set NIXL_REF=1.0.2"),
    )
    .action(async (target, opts, cmd) => {
      const { render } = await import("./commands/render.js");
      render({ ...planOptions(opts, cmd), target }, output);
    });
}

function explainCommand(program: Command, output: Output): void {
  program
    .command("explain")
    .description("show each value of a target with its source (file:line, key path) and the stage that declares it")
    .argument("<target>", "target name")
    .argument("[args...]", "only these ARGs (and template values, as vars.NAME)")
    .addOption(option.config())
    .addOption(option.set())
    .addOption(option.imageVersion())
    .addOption(option.sha())
    .addOption(option.branch())
    .addOption(option.registry())
    .addOption(option.builders())
    .addOption(option.locked())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText(
      "after",
      examples(
        "bakeplan explain vllm-cuda12",
        "bakeplan explain vllm-cuda12 VLLM_REF NIXL_REF",
        "bakeplan explain vllm-cuda12 vars.python_sha --set vars.python_sha=abc",
        "bakeplan explain trtllm-cuda12       # an excluded combination: says why",
      ),
    )
    .action(async (target, args, opts, cmd) => {
      const { explain } = await import("./commands/explain.js");
      explain({ ...planOptions(opts, cmd), target, args }, output);
    });
}

function checkCommand(program: Command, output: Output): void {
  // No --sha: a committed plan cannot name its own commit, and BAKEPLAN_SHA set in CI must not make it drift.
  program
    .command("check")
    .description("render in memory and compare with the files on disk; exit 1 with a diff when out of date")
    .addOption(option.config())
    .addOption(option.set())
    .addOption(option.only())
    .addOption(option.imageVersion())
    .addOption(option.branch())
    .addOption(option.registry())
    .addOption(option.out("bake file to compare"))
    .addOption(option.builders())
    .addOption(option.locked())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText(
      "after",
      examples("bakeplan check                  # exit 1 with a diff when docker-bake.json or bake/ is stale"),
    )
    .action(async (opts, cmd) => {
      const { check } = await import("./commands/check.js");
      check({ ...planOptions(opts, cmd), out: opts.out }, output);
    });
}

function buildersCommand(program: Command, output: Output): void {
  program
    .command("builders")
    .description("show which builder of the pool each target is assigned to, its affinity key and why")
    .argument("[targets...]", "targets or groups to show (default: all)")
    .addOption(option.config())
    .addOption(option.set())
    .addOption(option.only())
    .addOption(option.builders(true))
    .option("--json", "print JSON")
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText(
      "after",
      examples(
        "bakeplan builders                        # the pool of context.yaml (builders.pool)",
        "bakeplan builders --builders bk-0,bk-1,bk-2",
        "bakeplan builders vllm --json",
      ),
    )
    .action(async (targets, opts, cmd) => {
      const { builders } = await import("./commands/builders.js");
      builders({ ...planOptions(opts, cmd), targets, json: opts.json === true }, output);
    });
}

function bakeCommand(program: Command, output: Output, passThrough: string[]): void {
  program
    .command("bake")
    .description("plan, then build with docker buildx bake (arguments after -- go to buildx)")
    .argument("[targets...]", "targets or groups to build (default: the default group)")
    .addOption(option.config())
    .addOption(option.set())
    .addOption(option.only())
    .addOption(option.imageVersion())
    .addOption(option.sha())
    .addOption(option.branch())
    .addOption(option.registry())
    .addOption(option.out("bake file to write"))
    .option("--push", "push the images (--push to buildx)")
    .option("--load", "load the images into the docker image store")
    .addOption(option.builder())
    .option("--dry-run", "print the exact buildx command, shell-quoted; run and write nothing")
    .option("--metadata-file <file>", "keep buildx's metadata file here (default: a temp file)")
    .option(
      "--write-override <file>",
      "build nothing: write this run's override file here for docker/bake-action (files: the bake file, then it), print its --set values",
    )
    .option(
      "--summary-json <file>",
      "write the per-target summary here as JSON (status, steps, duration, digest, tags, cache refs)",
    )
    .option(
      "--cache-warm",
      "build the selected targets to fill their registry cache only (output type=cacheonly), never push images",
    )
    .option(
      "--one-by-one",
      "run one buildx bake per target, in order, instead of one for all (works around remote-cache misses, docker/buildx#414)",
    )
    .addOption(option.builders(true))
    .option(
      "--pool",
      "spread the targets over builders.pool of context.yaml: one buildx bake per builder, side by side",
    )
    .option("--keep-going", "with a pool: when one builder's bake fails, let the others finish")
    .option(
      "--retry-on-other",
      "with a pool: rebuild the targets of a builder lost mid-run on the next builder of their ranking",
    )
    .option("--max-parallel <n>", "with a pool: at most N bakes at once (default: every builder)", (v) =>
      wholeNumber("--max-parallel", v),
    )
    .option("--probe-timeout <seconds>", "with a pool: how long a builder may take to answer (default 60)", (v) =>
      wholeNumber("--probe-timeout", v),
    )
    .option("--affected <ref>", "build only the selected targets that `bakeplan affected --base REF` lists")
    .option("--no-preflight", "do not check first that every image and platform the build pulls exists")
    .addOption(option.timeout())
    .addOption(option.locked())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText(
      "after",
      examples(
        "bakeplan bake vllm-cuda12 --load",
        "bakeplan bake --only framework=vllm --push --branch main",
        "bakeplan bake --dry-run vllm-cuda12",
        "bakeplan bake all --cache-warm --branch main",
        "bakeplan bake all --one-by-one --branch feat-x      # one buildx bake per target",
        "bakeplan bake vllm-cuda12 -- --progress=plain",
        "bakeplan bake all --builders bk-0,bk-1 --keep-going   # one buildx bake per builder, side by side",
        "bakeplan bake all --pool --retry-on-other --max-parallel 4",
        "bakeplan bake --affected origin/main --push      # only what the change affects",
        "bakeplan bake all --branch main --sha $SHA --write-override $RUNNER_TEMP/override.json   # for docker/bake-action",
      ),
    )
    .action(async (targets, opts, cmd) => {
      const { bake } = await import("./commands/bake.js");
      await bake(
        {
          ...planOptions(opts, cmd),
          targets,
          out: opts.out,
          push: opts.push === true,
          load: opts.load === true,
          builder: opts.builder,
          dryRun: opts.dryRun === true,
          metadataFile: opts.metadataFile,
          summaryJson: opts.summaryJson,
          writeOverride: opts.writeOverride,
          cacheWarm: opts.cacheWarm === true,
          oneByOne: opts.oneByOne === true,
          affected: opts.affected,
          preflight: opts.preflight,
          timeoutMs: opts.timeout * 1000,
          extra: passThrough,
          pool: opts.pool === true,
          keepGoing: opts.keepGoing === true,
          retryOnOther: opts.retryOnOther === true,
          maxParallel: opts.maxParallel,
          probeTimeoutSeconds: opts.probeTimeout,
        },
        output,
      );
    });
}

function lintCommand(program: Command, output: Output): void {
  // lint checks the committed plan (written first outside CI, as plan would); tags and cache refs do not matter to it.
  program
    .command("lint")
    .description(
      "run BuildKit's Dockerfile checks (buildx bake --call check) and report findings at their template lines",
    )
    .argument("[targets...]", "targets or groups to lint (default: all)")
    .addOption(option.config())
    .addOption(option.set())
    .addOption(option.only())
    .addOption(option.out("bake file to lint (written first outside CI)"))
    .addOption(option.builder())
    .option(
      "--base-image <image>",
      "replace every image ARG (BASE_IMAGE, RUNTIME_IMAGE, ...) with this local image, for offline linting",
    )
    .addOption(option.locked())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText("after", examples("bakeplan lint", "bakeplan lint vllm-cuda12 --base-image local/busybox:1"))
    .action(async (targets, opts, cmd) => {
      const { lint } = await import("./commands/lint.js");
      await lint(
        { ...planOptions(opts, cmd), targets, out: opts.out, builder: opts.builder, baseImage: opts.baseImage },
        output,
      );
    });
}

function initCommand(program: Command, output: Output): void {
  program
    .command("init")
    .description(
      "scaffold context.yaml, templates/, a Makefile snippet and a GitHub Actions workflow; never overwrites a file",
    )
    .argument("[dir]", "directory to scaffold", ".")
    .option("--name <name>", "project name (default: the directory's name)")
    .option("--registry <host>", "publish.registry (default: a placeholder ECR registry)")
    .option("--repository <repo>", "publish.repository (default: the project name)")
    .addHelpText(
      "after",
      examples(
        "bakeplan init                       # after npm install --save-dev bakeplan",
        "bakeplan init images --name my-app --registry 123456789012.dkr.ecr.us-west-2.amazonaws.com",
      ),
    )
    .action(async (dir, opts) => {
      const { init } = await import("./commands/init.js");
      init({ dir, name: opts.name, registry: opts.registry, repository: opts.repository }, output);
    });
}

function affectedCommand(program: Command, output: Output): void {
  program
    .command("affected")
    .description(
      "list the targets a change affects: plans --base (from git, in memory) and --head (default: the working tree) and compares what each target builds",
    )
    .requiredOption("--base <ref>", "the revision to compare with (its merge base with the head), e.g. origin/main")
    .option("--head <ref>", "a revision to compare (default: the working tree)")
    .option("--explain", "print each target's reasons: context.yaml key and both values, template line, context file")
    .option("--json", 'print {"include":[{"target":...,"reasons":[...]}]}, a GitHub Actions matrix')
    .option(
      "--write-group [file]",
      "write bake group `affected` to FILE (default: docker-bake.affected.json next to the bake file)",
    )
    .addOption(option.config())
    .addOption(option.only())
    .addOption(option.out("the bake file --write-group goes next to"))
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addOption(option.locked())
    .addHelpText(
      "after",
      examples(
        "bakeplan affected --base origin/main",
        "bakeplan affected --base origin/main --explain",
        "bakeplan affected --base origin/main --json          # a GitHub Actions matrix",
        "bakeplan affected --base origin/main --write-group   # then: docker buildx bake -f docker-bake.json -f docker-bake.affected.json affected",
      ),
    )
    .action(async (opts, cmd) => {
      const { affected } = await import("./commands/affected.js");
      await affected(
        {
          ...planOptions(opts, cmd),
          base: opts.base,
          head: opts.head,
          explain: opts.explain === true,
          json: opts.json === true,
          writeGroup: opts.writeGroup,
          out: opts.out,
        },
        output,
      );
    });
}

function imagesCommand(program: Command, output: Output): void {
  program
    .command("images")
    .description("list every image the targets pull, the platforms and targets that need it, and where it comes from")
    .argument("[targets...]", "targets or groups (default: every target)")
    .addOption(option.config())
    .addOption(option.only())
    .option("--json", "print JSON (for a mirroring job)")
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText("after", examples("bakeplan images", "bakeplan images --json --only framework=vllm"))
    .action(async (targets, opts, cmd) => {
      const { images } = await import("./commands/images.js");
      images({ ...planOptions(opts, cmd), targets, json: opts.json === true }, output);
    });
}

function preflightCommand(program: Command, output: Output): void {
  program
    .command("preflight")
    .description(
      "check through the registries that every image the targets pull exists for every platform they build; exit 1 with a table of what is missing",
    )
    .argument("[targets...]", "targets or groups (default: every target)")
    .addOption(option.config())
    .addOption(option.only())
    .addOption(option.builder())
    .addOption(option.timeout())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText("after", examples("bakeplan preflight", "bakeplan preflight vllm-cuda12 --timeout 30"))
    .action(async (targets, opts, cmd) => {
      const { preflight } = await import("./commands/preflight.js");
      await preflight(
        { ...planOptions(opts, cmd), targets, builder: opts.builder, timeoutMs: opts.timeout * 1000 },
        output,
      );
    });
}

function lockCommand(program: Command, output: Output): void {
  program
    .command("lock")
    .description("resolve every image to its digest and write bakeplan.lock.json (entries already there stay)")
    .option("--update [images...]", "resolve these images anew (every image when none is named)")
    .addOption(option.config())
    .addOption(option.timeout())
    .addOption(option.strict())
    .addOption(option.maxVariants())
    .addOption(option.verbose())
    .addHelpText(
      "after",
      examples(
        "bakeplan lock",
        "bakeplan lock --update                                   # every image",
        "bakeplan lock --update nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04",
        "bakeplan plan --locked                                   # then plan with the digests",
      ),
    )
    .action(async (opts, cmd) => {
      const { lock } = await import("./commands/lock.js");
      await lock(
        {
          ...planOptions(opts, cmd),
          update: opts.update === undefined ? undefined : opts.update === true ? [] : opts.update,
          timeoutMs: opts.timeout * 1000,
        },
        output,
      );
    });
}

function schemaCommand(program: Command, output: Output): void {
  program
    .command("schema")
    .description("print the JSON Schema of context.yaml")
    .addHelpText("after", examples("bakeplan schema > context.schema.json"))
    .action(async () => {
      const { schema } = await import("./commands/schema.js");
      schema(output);
    });
}

/** The whole command line; subcommands inherit output and exitOverride from it (commander's `.command()`). */
export function buildProgram(output: Output, passThrough: string[] = []): Command {
  const program = new Command()
    .name("bakeplan")
    .description(
      "Turn a declarative support matrix (context.yaml + liquid templates) into per-variant Dockerfiles and a Docker Bake file.",
    )
    .version(bakeplanVersion(), "-V, --version", "print bakeplan's version")
    .enablePositionalOptions()
    // bin.ts prints usage errors (see usageError), so commander's own line is not written.
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s), outputError: () => undefined })
    .exitOverride();
  planCommand(program, output);
  listCommand(program, output);
  renderCommand(program, output);
  explainCommand(program, output);
  checkCommand(program, output);
  buildersCommand(program, output);
  bakeCommand(program, output, passThrough);
  lintCommand(program, output);
  affectedCommand(program, output);
  imagesCommand(program, output);
  preflightCommand(program, output);
  lockCommand(program, output);
  schemaCommand(program, output);
  initCommand(program, output);
  return program;
}

/** Runs the command line; throws what went wrong for bin.ts to print (a usage error as UsageError). */
export async function run(argv: string[], output: Output): Promise<void> {
  // Everything after `--` belongs to buildx, not to commander's operands.
  const dashes = argv.indexOf("--", 2);
  const passThrough = dashes < 0 ? [] : argv.slice(dashes + 1);
  const program = buildProgram(output, passThrough);
  try {
    await program.parseAsync(dashes < 0 ? argv : argv.slice(0, dashes));
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // --help, --version, and `bakeplan` alone (help on stderr) are not errors.
    if (e.exitCode === 0 || e.code === "commander.help") return;
    throw usageError(e, program, argv[2]);
  }
}

/** commander's message on one line, and where to read the usage: `unknown option '--foo'. See 'bakeplan plan --help'.` */
function usageError(e: CommanderError, program: Command, commandName: string | undefined): UsageError {
  const command = program.commands.find((c) => c.name() === commandName);
  const help = `See '${command ? `bakeplan ${command.name()}` : "bakeplan"} --help'.`;
  const message = e.message
    .replace(/^error: /, "")
    .replace(/\n\((.*)\)$/s, " ($1)")
    .replaceAll("\n", " ");
  if (command && /^unknown option '--version(=[^']*)?'/.test(message))
    return new UsageError(
      `unknown option '--version': the image version for tags and labels is --image-version; \`bakeplan --version\` prints bakeplan's own version. ${help}`,
    );
  return new UsageError(`${message}. ${help}`);
}
