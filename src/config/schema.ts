import * as z from "zod";

// Every value that can reach a Dockerfile or the bake file is a YAML string. Numbers and booleans
// are rejected (with a "quote it" hint, see load.ts) so that `3.10` never silently becomes `3.1`.

const Identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, "must be lower_snake_case (a-z, 0-9, _), starting with a letter");
const ArgName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a Dockerfile ARG name (letters, digits, _)");
const Platform = z
  .string()
  .regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'must look like "linux/amd64" or "linux/arm64/v8"');
const NonEmpty = z.string().min(1, "must not be empty");

/** `{derived: "...:${OTHER#*==}"}`: an ARG default BuildKit expands from other ARGs, written unescaped, never a build arg. */
const DerivedArg = z.strictObject({
  derived: NonEmpty.describe(
    "the ARG default as BuildKit expands it: text and ${NAME}, ${NAME:-word}, ${NAME:+word}, ${NAME#pattern}, ${NAME%pattern} (and -, +, ##, %%) forms naming ARGs declared before it",
  ),
});
const ValueMap = z
  .record(ArgName, z.union([z.string(), DerivedArg]))
  .describe('ARG name -> value (strings only; quote numbers), or {derived: "..."} for a default BuildKit expands');

const SecretSource = z
  .strictObject({
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional()
      .describe("read the secret from this environment variable"),
    src: NonEmpty.optional().describe(
      "read the secret from this file; ${NAME} is replaced by the environment variable NAME when bake runs",
    ),
    when: z
      .strictObject({
        args: z
          .record(ArgName, z.union([z.string(), z.array(z.string()).min(1)]))
          .describe("ARG name -> value or list of values; every listed ARG must resolve to one of them"),
      })
      .optional()
      .describe('pass the secret only to targets whose resolved ARGs match, e.g. {args: {USE_SCCACHE: "true"}}'),
  })
  .refine((s) => (s.env === undefined) !== (s.src === undefined), { message: "give exactly one of env or src" });

/** The keys a layer (defaults, one axis value, one combination) may set. */
const layerShape = {
  args: ValueMap.optional().describe("Dockerfile ARG values"),
  images: z
    .record(ArgName, z.string())
    .optional()
    .describe("ARG name -> image reference (validated as an image reference), e.g. BASE_IMAGE"),
  labels: z.record(NonEmpty, z.string()).optional().describe("extra image labels"),
  vars: z
    .record(Identifier, z.string())
    .optional()
    .describe("template values (not ARGs): {{ vars.NAME }}; the same precedence as args, nil where no layer sets one"),
  platforms: z.array(Platform).min(1).optional().describe("target platforms; replaces the list of a lower layer"),
  secrets: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a secret id (letters, digits, . _ -)"), SecretSource)
    .optional()
    .describe("bake secrets (id -> env|src), for RUN --mount=type=secret,id=..."),
  affinity: NonEmpty.optional().describe(
    "builder affinity key: targets with one key prefer the same builder of a pool; {axis} placeholders; default: derived from the stages they share",
  ),
};

/** Bounds on template rendering (`limits.*`), so hostile templates cannot hang a plan or exhaust memory. */
export const RENDER_LIMIT_DEFAULTS = { render_ms: 60_000, render_chars: 16_777_216, template_chars: 1_048_576 };

const BuilderSchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
      "must be a buildx builder name (letters, digits, _ . -, starting with a letter or digit)",
    )
    .describe("the buildx builder; for a docker-driver builder, the name of its Docker context"),
  platforms: z.array(Platform).min(1).optional().describe("platforms it builds natively or by emulation; default: any"),
  weight: z.number().positive().max(1000).default(1).describe("its share of the load relative to the others"),
});

export const PACKAGE_MANAGERS = ["apt", "dnf", "microdnf", "yum", "apk"] as const;

export const AxisValueSpecSchema = z.strictObject({
  name: z
    .string()
    .optional()
    .describe('token this value contributes to target names; "" contributes nothing; default: the value itself'),
  stage: NonEmpty.optional().describe("Dockerfile stage built for this value (stage axis only; default: the value)"),
  package_manager: z.enum(PACKAGE_MANAGERS).optional().describe("package manager used by {% install_packages %}"),
  description: z.string().optional(),
  ...layerShape,
});
export type AxisValueSpec = z.infer<typeof AxisValueSpecSchema>;

// null (YAML `~`) stands for "the axis is absent": it has no value where its `when` does not match.
const SelectorSchema = z
  .record(Identifier, z.union([z.string(), z.null(), z.array(z.union([z.string(), z.null()])).min(1)]))
  .describe(
    "axis -> value or list of values; every listed axis must match; null matches where an axis with `when` is absent",
  );

const AxisValuesSchema = z.union([z.array(z.string()), z.record(z.string(), AxisValueSpecSchema.nullable())]);

/** An axis that has a value only where `when` matches (`cuda` only for `device: cuda`); elsewhere it is absent. */
export const RestrictedAxisSchema = z.strictObject({
  when: SelectorSchema.describe(
    "the axis has a value only in combinations this selector matches (axes listed before it); elsewhere it is absent",
  ),
  values: AxisValuesSchema.describe("the values of the axis: a list, or a map value -> settings"),
  description: z.string().optional(),
});

const AxisSchema = z
  .union([z.array(z.string()), RestrictedAxisSchema, z.record(z.string(), AxisValueSpecSchema.nullable())])
  .describe(
    "the values of one axis: a list, a map value -> settings, or {when, values} for an axis that applies only where `when` matches",
  );

/** A tag pattern, or a pattern limited to branches and to the targets a selector matches. */
const TagSchema = z.union([
  NonEmpty,
  z.strictObject({
    tag: NonEmpty.describe("the tag pattern"),
    branches: z
      .array(NonEmpty)
      .min(1)
      .optional()
      .describe('only when --branch matches one of these patterns ("*" any run except "/", "**" any run)'),
    when: SelectorSchema.optional().describe("only on the targets this selector matches"),
  }),
]);

const StageSchema = NonEmpty.describe(
  "the Dockerfile stage these variants build (bake `target`); a combination naming more axes wins, as with values",
);

const RuleSchema = z.strictObject({
  when: SelectorSchema,
  reason: NonEmpty.describe("why; shown by `bakeplan list --all` and `bakeplan explain`"),
});

export const ContextSchema = z
  .strictObject({
    project: z.strictObject({
      name: NonEmpty.describe("project name, used in titles"),
      title: z.string().optional().describe("org.opencontainers.image.title prefix; default: name"),
      source: z.string().optional().describe("org.opencontainers.image.source (repository URL)"),
    }),
    build: z
      .strictObject({
        templates: NonEmpty.default("templates").describe("template directory, relative to this file"),
        template: NonEmpty.default("Dockerfile.liquid").describe("top-level template inside the template directory"),
        out_dir: NonEmpty.default("bake").describe("where rendered Dockerfiles go, relative to this file"),
        context: NonEmpty.default(".").describe("build context of every target, relative to this file"),
        syntax: z.string().optional().describe('Dockerfile "# syntax=" line; default none, so offline builds work'),
        network: z.enum(["default", "host", "none"]).optional().describe("bake network attribute of every target"),
        allow_secret_like: z
          .array(ArgName)
          .default([])
          .describe("ARG names that look like secrets but are not (e.g. TOKENIZER_REF)"),
        tidy: z
          .boolean()
          .default(true)
          .describe(
            "tidy rendered Dockerfiles (trailing blanks, runs of blank lines, leading and final blank lines); false writes what the templates render, after the header",
          ),
        locked: z
          .boolean()
          .default(false)
          .describe("pin every image to its digest from bakeplan.lock.json (as `plan --locked`)"),
      })
      .default({
        templates: "templates",
        template: "Dockerfile.liquid",
        out_dir: "bake",
        context: ".",
        allow_secret_like: [],
        tidy: true,
        locked: false,
      }),
    axes: z.record(Identifier, AxisSchema).describe("matrix axes, in naming order"),
    stage_axis: Identifier.optional().describe(
      "the axis whose value picks the Dockerfile stage (bake `target`); without one, bake builds the last stage",
    ),
    defaults: z
      .strictObject({ ...layerShape, stage: StageSchema.optional() })
      .default({})
      .describe("the global layer"),
    combinations: z
      .array(
        z.strictObject({
          when: SelectorSchema,
          description: z.string().optional(),
          stage: StageSchema.optional(),
          ...layerShape,
        }),
      )
      .default([])
      .describe("layers for combinations of axis values; more axes in `when` = higher precedence"),
    exclude: z.array(RuleSchema).default([]).describe("combinations that do not exist"),
    include: z.array(RuleSchema).default([]).describe("combinations that exist even though an exclude matches"),
    groups: z
      .strictObject({
        per_axis: z.array(Identifier).default([]).describe("one bake group per value of these axes"),
        define: z
          .record(
            z.string(),
            z.union([
              SelectorSchema,
              z
                .array(z.union([SelectorSchema, NonEmpty]))
                .min(1)
                .describe("a union: every target a selector, target name or group name in the list picks"),
            ]),
          )
          .default({})
          .describe(
            "named groups by selector (or a list of selectors, target and group names); `default` is what a bare `docker buildx bake` builds",
          ),
      })
      .default({ per_axis: [], define: {} }),
    publish: z.strictObject({
      registry: z.string().describe("image registry host, e.g. 123456789012.dkr.ecr.us-west-2.amazonaws.com"),
      repository: NonEmpty.describe("image repository, e.g. ai-dynamo/dynamo"),
      tags: z
        .array(TagSchema)
        .min(1)
        .describe(
          "tag patterns: {name} {version} {sha} {sha_short} {branch} {branch_kind} {platforms}, {AXIS}, {AXIS.name}, {vars.NAME}; [optional parts]; a tag whose command-line input is absent is left out",
        ),
    }),
    branch_kinds: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "must be tag text: a-z, 0-9, _ . -"), z.array(NonEmpty).min(1))
      .default({})
      .describe(
        'kind name -> branch patterns, first match wins, e.g. {main: [main], release: ["release/*"]}; the {branch_kind} placeholder',
      ),
    cache: z
      .strictObject({
        registry: z.string().optional().describe("cache registry; default: publish.registry"),
        repository: NonEmpty.describe(
          "mutable cache repository, e.g. ai-dynamo/dynamo-cache; the image repository only when cache tags provably never equal image tags",
        ),
        tag: NonEmpty.default("{name}-{branch}").describe(
          "cache tag pattern, the same placeholders as publish.tags; {branch} or {branch_kind} makes one ref per branch (kind)",
        ),
        fallback: z
          .array(NonEmpty)
          .optional()
          .describe(
            "read after the current branch (kind): branch names, or kind names when the tag uses {branch_kind}; default [main]",
          ),
        write_on: z
          .array(NonEmpty)
          .default(["main"])
          .describe('branch patterns whose builds write cache ("*" any run except "/", "**" any run)'),
        mode: z.enum(["min", "max"]).default("max"),
        allow_shared_writes: z
          .boolean()
          .default(false)
          .describe("several targets may write one cache ref (the last to finish in a bake wins)"),
      })
      .optional(),
    builders: z
      .strictObject({
        pool: z.array(BuilderSchema).min(1).describe("the builders a plan is spread over (`--builders` replaces it)"),
        load_factor: z
          .number()
          .min(1)
          .max(100)
          .default(1.25)
          .describe("a builder takes at most this many times its fair share of the work"),
      })
      .optional()
      .describe("a builder pool: one bake group `builder-<name>` each, and `bakeplan bake --builders`"),
    limits: z
      .strictObject({
        max_variants: z.number().int().positive().default(10000),
        render_ms: z
          .number()
          .int()
          .positive()
          .default(RENDER_LIMIT_DEFAULTS.render_ms)
          .describe("milliseconds all template renders of one run may take together"),
        render_chars: z
          .number()
          .int()
          .positive()
          .default(RENDER_LIMIT_DEFAULTS.render_chars)
          .describe("characters one render may write, and may build in ranges and filter results"),
        template_chars: z
          .number()
          .int()
          .positive()
          .default(RENDER_LIMIT_DEFAULTS.template_chars)
          .describe("characters of one template file"),
      })
      .default({ max_variants: 10000, ...RENDER_LIMIT_DEFAULTS }),
  })
  .describe("bakeplan context.yaml: the support matrix and every Dockerfile ARG value");

export type Context = z.infer<typeof ContextSchema>;
export type Selector = z.infer<typeof SelectorSchema>;
export type LayerValues = { [K in keyof typeof layerShape]?: z.infer<(typeof layerShape)[K]> } & {
  /** The stage built (bake `target`): from defaults, a stage axis value, or a combination. */
  stage?: string;
};
export type SecretSource = z.infer<typeof SecretSource>;
