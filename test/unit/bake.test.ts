// `bakeplan bake` without docker: which buildx runs, with which argv, metadata files and --set
// overrides (argv as data), and what bakeplan makes of buildx's output, fed with output captured
// from the real buildx (test/fixtures/buildx/<version>/, scripts/capture-buildx-fixtures.mjs).
import { describe, expect, it } from "vitest";
import {
  bakeFailure,
  bakeRuns,
  cacheWarmAttributes,
  refuseCacheWarmOutputs,
  failedRunOutcome,
  templateLocation,
  userProgressMode,
  builderNeeds,
  type BakeRun,
  type Selection,
} from "../../src/commands/bake.js";
import { summarize, summaryTable, type SummaryInput } from "../../src/command-support/build-summary.js";
import { UsageError } from "../../src/errors.js";
import { RawProgress, type Progress } from "../../src/io/progress.js";
import { bakeOverride, withTargetAttributes } from "../../src/plan/override.js";
import { buildPlan } from "../../src/plan/plan.js";
import {
  capturedBuildxVersions,
  capturedProjectPlan,
  capturedRun,
  loadProject,
  MINI_CONTEXT,
  templateFiles,
  type CapturedRun,
} from "../helpers.js";

const BAKE = ["buildx", "bake", "-f", "docker-bake.json"];
const NO_OPTIONS = {
  push: false,
  load: false,
  builder: undefined as string | undefined,
  oneByOne: false,
  extra: [] as string[],
};
const TARGETS = ["alpha-cuda12", "alpha-cuda12-dev"];

/** bakeRuns with the capture's metadata placeholder for every temp file: `<metadata>` (one run) or `<metadata-N>`. */
function runs(
  selection: Selection,
  options: Partial<typeof NO_OPTIONS> = {},
  more: { sets?: string[]; userMetadata?: string; overrideFile?: string } = {},
): BakeRun[] {
  return bakeRuns({
    file: "docker-bake.json",
    overrideFile: more.overrideFile,
    selection,
    sets: more.sets ?? [],
    options: { ...NO_OPTIONS, ...options },
    userMetadata: more.userMetadata,
    tempMetadata: (i) => (options.oneByOne ? `<metadata-${i}>` : "<metadata>"),
  });
}

/** What `bake` hands to summarize, with no cache refs. */
function summaryInput(targets: string[], metadata: Record<string, unknown>, progress: Progress): SummaryInput {
  return {
    targets,
    metadata,
    runs: new Map(targets.map((t) => [t, { stats: progress.byTarget.get(t), durationMs: progress.durations.get(t) }])),
    cacheRefs: () => ({ cacheFrom: [], cacheTo: [] }),
  };
}

/** buildx's rawjson progress read line by line, as `bake` reads it. */
function progressOf(stderr: string, targets: string[]): Progress {
  const raw = new RawProgress(targets);
  for (const line of stderr.split("\n")) raw.feed(line);
  return raw.result();
}

describe("bakeRuns: which buildx runs, with which argv and metadata file", () => {
  const selection = { args: ["vllm", "grp"], targets: ["vllm", "vllm-dev", "sglang"] };

  it("one run of the whole selection, named as on the command line; rawjson progress; the metadata file", () => {
    expect(runs(selection)).toEqual([
      {
        targets: ["vllm", "vllm-dev", "sglang"],
        argv: [...BAKE, "--progress=rawjson", "--metadata-file", "<metadata>", "vllm", "grp"],
        metadataFile: "<metadata>",
      },
    ]);
  });

  it("--push, --load, --builder, then --set overrides, then the user's buildx args, then the targets", () => {
    const [run] = runs(
      selection,
      { push: true, load: true, builder: "ci", extra: ["--no-cache", "--set", "*.platform=linux/arm64"] },
      { sets: ["*.output=type=cacheonly"] },
    );
    expect(run!.argv).toEqual([
      ...BAKE,
      "--builder",
      "ci",
      "--progress=rawjson",
      "--metadata-file",
      "<metadata>",
      "--push",
      "--load",
      "--set",
      "*.output=type=cacheonly",
      "--no-cache",
      "--set",
      "*.platform=linux/arm64",
      "vllm",
      "grp",
    ]);
  });

  it.each([["--progress=plain"], ["--progress", "tty"]])("leaves the progress mode to a user's %s", (...extra) => {
    expect(runs(selection, { extra })[0]!.argv).toEqual([
      ...BAKE,
      "--metadata-file",
      "<metadata>",
      ...extra,
      "vllm",
      "grp",
    ]);
  });

  it("lets buildx write the user's --metadata-file itself when there is one run", () => {
    expect(runs(selection, {}, { userMetadata: "/work/m.json" })[0]).toMatchObject({
      metadataFile: "/work/m.json",
      argv: expect.arrayContaining(["--metadata-file", "/work/m.json"]) as unknown,
    });
  });

  it("--one-by-one: one run per target, in order, each with its own overrides, the `*.` ones and a temp metadata file", () => {
    const sets = ["*.output=type=cacheonly", "vllm.cache-to=c1", "vllm-dev.cache-to=c2", "sglang.cache-to=c3"];
    expect(runs(selection, { oneByOne: true }, { sets, userMetadata: "/work/m.json" })).toEqual([
      {
        targets: ["vllm"],
        argv: [
          ...BAKE,
          "--progress=rawjson",
          "--metadata-file",
          "<metadata-0>",
          "--set",
          "*.output=type=cacheonly",
          "--set",
          "vllm.cache-to=c1",
          "vllm",
        ],
        metadataFile: "<metadata-0>",
      },
      {
        targets: ["vllm-dev"],
        argv: [
          ...BAKE,
          "--progress=rawjson",
          "--metadata-file",
          "<metadata-1>",
          "--set",
          "*.output=type=cacheonly",
          "--set",
          "vllm-dev.cache-to=c2",
          "vllm-dev",
        ],
        metadataFile: "<metadata-1>",
      },
      {
        targets: ["sglang"],
        argv: [
          ...BAKE,
          "--progress=rawjson",
          "--metadata-file",
          "<metadata-2>",
          "--set",
          "*.output=type=cacheonly",
          "--set",
          "sglang.cache-to=c3",
          "sglang",
        ],
        metadataFile: "<metadata-2>",
      },
    ]);
  });
});

describe("--cache-warm", () => {
  // prettier-ignore
  it.each([
    { options: { push: true }, refused: true },
    { options: { load: true }, refused: true },
    { options: { extra: ["--push"] }, refused: true },
    { options: { extra: ["--set", "*.output=type=registry"] }, refused: true },
    { options: { extra: ["--set=vllm.push=true"] }, refused: true },
    { options: { extra: ["--no-cache", "--progress=plain"] }, refused: false },
  ])("with $options: refused $refused", ({ options, refused }) => {
    const check = () => refuseCacheWarmOutputs({ cacheWarm: true, push: false, load: false, extra: [], ...options });
    if (refused) expect(check).toThrow(new UsageError("--cache-warm writes only cache; it cannot be combined with --push, --load or an output override"));
    else expect(check).not.toThrow();
    expect(() => refuseCacheWarmOutputs({ cacheWarm: false, push: false, load: false, extra: [], ...options })).not.toThrow();
  });

  it("needs a cache: section", () => {
    const { plan } = capturedProjectPlan();
    expect(() => cacheWarmAttributes(plan, loadProject(MINI_CONTEXT), [], {})).toThrow(
      new UsageError("--cache-warm needs a `cache:` section in context.yaml"),
    );
  });

  it("writes cache, even where the plan reads it only", () => {
    const { plan } = capturedProjectPlan();
    // Planned without --branch: the plan writes no cache, so only --cache-warm makes this bake write it.
    expect(builderNeeds(plan, TARGETS, false).cacheExport).toBe(false);
    expect(builderNeeds(plan, TARGETS, true).cacheExport).toBe(true);
  });
});

describe("builderNeeds", () => {
  it("needs the engine's bridge network unless every selected target builds with network none", () => {
    // The captured fixture builds with `network: none`.
    expect(builderNeeds(capturedProjectPlan().plan, TARGETS, false)).toEqual({
      cacheExport: false,
      bridgeNetwork: false,
    });
    const onDefault = buildPlan(loadProject(MINI_CONTEXT), templateFiles(), {
      configLabel: "context.yaml",
      inputs: {},
    });
    const names = onDefault.targets.map((t) => t.variant.name);
    expect(names.length).toBeGreaterThan(0);
    expect(builderNeeds(onDefault, names, false).bridgeNetwork).toBe(true);
  });
});

describe("userProgressMode", () => {
  it.each([
    [[], undefined],
    [["--progress=plain"], "plain"],
    [["--no-cache", "--progress", "rawjson"], "rawjson"],
    [["--progress"], ""],
  ])("%j -> %j", (extra, mode) => {
    expect(userProgressMode(extra)).toBe(mode);
  });
});

describe.each(capturedBuildxVersions())("with buildx %s's output", (version) => {
  it("a cold bake: the argv bakeplan runs, each target's steps built, digest and tags from the metadata", () => {
    const cold = capturedRun(version, "bake-cold");
    const [run] = runs({ args: TARGETS, targets: TARGETS }, { extra: ["--no-cache"] });
    expect(run!.argv).toEqual(cold.argv);
    expect(cold.exitCode).toBe(0);
    const progress = progressOf(cold.stderr, TARGETS);
    expect(progress.failedTargets).toEqual([]);
    const digest = (t: string) => (cold.metadata![t] as Record<string, string>)["containerimage.digest"]!.slice(0, 19);
    expect(summaryTable(summarize(summaryInput(TARGETS, cold.metadata!, progress)))).toBe(
      [
        "TARGET            CACHE               DIGEST                       TAGS",
        `alpha-cuda12      4 of 4 steps built  ${digest("alpha-cuda12")} (index)  127.0.0.1:5000/bakeplan-e2e/app:latest-alpha-cuda12`,
        `alpha-cuda12-dev  5 of 5 steps built  ${digest("alpha-cuda12-dev")} (index)  127.0.0.1:5000/bakeplan-e2e/app:latest-alpha-cuda12-dev`,
        "",
      ].join("\n"),
    );
    // The renderer keeps buildx's export lines, as plain progress prints them.
    const raw = new RawProgress(TARGETS);
    const shown = cold.stderr
      .split("\n")
      .map((l) => raw.feed(l))
      .join("");
    expect(shown).toMatch(/^#\d+ exporting layers( [\d.]+s)? done$/m);
    expect(shown).toMatch(/^#\d+ exporting manifest list sha256:[0-9a-f]{64}( [\d.]+s)? done$/m);
    expect(shown).toMatch(/^#\d+ naming to 127\.0\.0\.1:5000\/bakeplan-e2e\/app:latest-alpha-cuda12( [\d.]+s)? done$/m);
  });

  it("the same bake again: every step came from cache", () => {
    const warm = capturedRun(version, "bake-warm");
    expect(runs({ args: TARGETS, targets: TARGETS })[0]!.argv).toEqual(warm.argv);
    const progress = progressOf(warm.stderr, TARGETS);
    expect(progress.byTarget.get("alpha-cuda12")).toEqual({ steps: 4, cached: 4, built: 0, errors: 0 });
    expect(progress.byTarget.get("alpha-cuda12-dev")).toEqual({ steps: 5, cached: 5, built: 0, errors: 0 });
    expect(summaryTable(summarize(summaryInput(TARGETS, warm.metadata!, progress)))).toMatch(
      /^alpha-cuda12 {6}fully cached {2}sha256:[0-9a-f]{12} \(index\) {2}127\.0\.0\.1:5000\/bakeplan-e2e\/app:latest-alpha-cuda12$/m,
    );
  });

  it("a failing RUN step: buildx's exit code and the target that failed, not the one built beside it", () => {
    const failed = capturedRun(version, "bake-failed");
    const targets = ["alpha-cuda12", "beta-cuda13-dev"];
    expect(runs({ args: targets, targets })[0]!.argv).toEqual(failed.argv);
    expect(failed.exitCode).not.toBe(0);
    const progress = progressOf(failed.stderr, targets);
    expect(progress.failedTargets).toEqual(["beta-cuda13-dev"]);
    // buildx names the failing step's Dockerfile line; bakeplan maps it to the template line.
    expect(progress.failedAt).toEqual({ dockerfile: "beta-cuda13-dev.Dockerfile", line: 34 });
    const dev = 'RUN sleep 1 && echo "dev {{ framework }} {{ cuda }}" > /target.txt';
    const { plan, project, templates } = capturedProjectPlan({
      file: "Dockerfile.liquid",
      from: dev,
      to: `{% if framework == "beta" %}RUN sleep 1 && exit 7{% endif %}\n${dev}`,
    });
    // The step's template line (as lint maps findings), next to the Dockerfile line buildx named.
    expect(templateLocation(plan, { project, templates }, { dockerfile: "beta-cuda13.Dockerfile", line: 21 })).toBe(
      "templates/framework.liquid:8 (bake/beta-cuda13.Dockerfile:21)",
    );
    // The failing step follows the include of framework.liquid: it is Dockerfile.liquid's own line.
    expect(templateLocation(plan, { project, templates }, progress.failedAt!)).toBe(
      "templates/Dockerfile.liquid:28 (bake/beta-cuda13-dev.Dockerfile:34)",
    );
    // The failed target, and the one its bake stopped; with --one-by-one the later bakes never ran.
    // Of its 6 steps 1 came from cache, 3 were built, 1 failed and the last never ran.
    const runsAfter = failedRunOutcome({ targets }, [{ targets: ["beta-cuda12"] }], progress);
    const summary = summarize({
      ...summaryInput(targets, {}, progress),
      runs: runsAfter,
      failure: { targets: progress.failedTargets },
    });
    expect(summary.targets.map((t) => [t.target, t.status])).toEqual([
      ["alpha-cuda12", "stopped"],
      ["beta-cuda13-dev", "failed"],
    ]);
    expect(runsAfter.get("beta-cuda12")).toEqual({ status: "not started" });
    expect(summary.targets[1]!.steps).toEqual({ total: 6, cached: 1, built: 3, failed: 1 });
    expect(bakeFailure(failed.exitCode, progress.failedTargets)).toBe(
      `docker buildx bake failed with exit code ${failed.exitCode}: target beta-cuda13-dev failed`,
    );
    expect(bakeFailure(failed.exitCode, progress.failedTargets, { done: ["alpha-cuda12"], notStarted: 2 })).toBe(
      `docker buildx bake failed with exit code ${failed.exitCode}: target beta-cuda13-dev failed (--one-by-one: built alpha-cuda12 before it; 2 not started)`,
    );
  });

  /** The target as `buildx bake --print` resolved it, with bakeplan's overrides applied. */
  function printed(run: { stdout: string }): { output?: unknown; "cache-to"?: unknown } {
    return (JSON.parse(run.stdout) as { target: Record<string, { output?: unknown; "cache-to"?: unknown }> }).target[
      "alpha-cuda12"
    ]!;
  }

  it("--cache-warm's override file: buildx merges it as cache-only output and this target's cache-to", () => {
    const capture = capturedRun(version, "print-cache-warm") as CapturedRun & { override: string };
    const { plan, project } = capturedProjectPlan();
    const override = withTargetAttributes(
      bakeOverride(plan.bakeFile, plan.bakeFile, ["alpha-cuda12"]),
      cacheWarmAttributes(plan, project, ["alpha-cuda12"], { registry: "127.0.0.1:5000" }),
    );
    expect(override.json).toBe(capture.override);
    const [run] = runs(
      { args: ["alpha-cuda12"], targets: ["alpha-cuda12"] },
      { extra: ["--print"] },
      { overrideFile: "<override>", sets: override.sets },
    );
    expect(run!.argv).toEqual(capture.argv);
    expect(printed(capture)).toMatchObject({
      output: [{ type: "cacheonly" }],
      "cache-to": [
        {
          type: "registry",
          ref: "127.0.0.1:5000/bakeplan-e2e/app-cache:alpha-cuda12-main",
          mode: "max",
          "image-manifest": "true",
          "oci-mediatypes": "true",
          "ignore-error": "true",
        },
      ],
    });
  });

  it("--push --builder: buildx pushes the image", () => {
    const capture = capturedRun(version, "print-push");
    const [run] = runs(
      { args: ["alpha-cuda12"], targets: ["alpha-cuda12"] },
      { push: true, builder: "default", extra: ["--print"] },
    );
    expect(run!.argv).toEqual(capture.argv);
    expect(printed(capture).output).toEqual([{ type: "image", push: "true" }]);
  });
});
