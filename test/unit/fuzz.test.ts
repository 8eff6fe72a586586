// The hostile-input fuzzer (issue 10): the bundled example with one mutation (a scalar or key
// replaced by hostile text, a value replaced by another structure, a key deleted, raw YAML
// inserted, a liquid snippet inserted into a template), and a template of known instructions with
// hostile text in every value it prints. For each case, `bakeplan plan` either exits 0 with a plan
// whose Dockerfiles have exactly the instructions their templates produce (read as BuildKit reads
// them) and that `check` agrees with, or exits 1/2 with a located message and nothing changed;
// never an internal error, a stack trace, a write outside the project, or a run past its bound.
// BAKEPLAN_FUZZ_RUNS=5000 runs more cases; test/itg/fuzz-roundtrip.test.ts sends the accepted
// plans through real buildx.
import { readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import fc from "fast-check";
import { parse } from "yaml";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCli, type CliResult } from "../helpers.js";
import { ENGINE_MESSAGES, snapshotTree, type Entry } from "../hardening-helpers.js";
import {
  fuzzRuns,
  fuzzWorld,
  instructions,
  mutateExample,
  mutation,
  SKELETON,
  skeletonCase,
  skeletonProject,
} from "../fuzz-cases.js";

/** Generous for a loaded CI machine; a hang or a quadratic blow-up is far above it. */
const CASE_MS = 15_000;

afterEach(() => vi.unstubAllEnvs());

function changed(before: Record<string, Entry>, after: Record<string, Entry>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => JSON.stringify(before[n], big) !== JSON.stringify(after[n], big));
}
const big = (_: string, v: unknown) => (typeof v === "bigint" ? String(v) : v);

/** The outcome contract of one case; returns whether it planned. */
async function runCase(
  yaml: string,
  templates: Record<string, string>,
): Promise<{ ok: boolean; res: CliResult; dir: string }> {
  const { root, dir } = fuzzWorld(yaml, templates);
  vi.stubEnv("TMPDIR", join(root, "tmp"));
  vi.stubEnv("HOME", join(root, "home"));
  const before = snapshotTree(root);
  const t0 = performance.now();
  let res: CliResult;
  try {
    res = await runCli(["plan"], dir);
  } finally {
    vi.unstubAllEnvs();
  }
  expect(performance.now() - t0, "within the per-case bound").toBeLessThan(CASE_MS);
  const why = `${res.stderr}\n--- context.yaml ---\n${yaml.slice(0, 3000)}`;
  expect(res.stderr, why).not.toContain("internal error");
  for (const raw of ENGINE_MESSAGES) expect(res.stderr, why).not.toContain(raw);
  expect(res.stderr, why).not.toMatch(/\n\s+at .+:\d+:\d+\)?$/m);
  expect([0, 1, 2], why).toContain(res.code);
  const diff = changed(before, snapshotTree(root));
  if (res.code !== 0) {
    // One message, located: a file:line(:col), a command-line option, a variable, or a path.
    expect(res.stdout, why).toBe("");
    expect(res.stderr, why).toMatch(/^bakeplan: (error|\d+ errors):/);
    expect(res.stderr, why).toMatch(
      /(^|\s|")[\w./-]+(:\d+){1,2}[:\s]|context\.yaml|templates\/|command line:|environment:/,
    );
    expect(diff, why).toEqual([]);
    return { ok: false, res, dir };
  }
  // Only the plan's own outputs changed (and the mtime of the directory the bake file is in): its
  // out_dir, which a mutation may have renamed to another directory inside the project.
  const outDir = plannedOutDir(yaml);
  for (const name of diff)
    expect(name === "project" || name === "project/docker-bake.json" || within(name, `project/${outDir}`), why).toBe(
      true,
    );
  expect((await runCli(["check"], dir)).code, why).toBe(0);
  return { ok: true, res, dir };
}

/** build.out_dir of a context.yaml that planned (posix-normalised, as bakeplan resolves it). */
function plannedOutDir(yaml: string): string {
  const doc = parse(yaml) as { build?: { out_dir?: unknown } } | null;
  const outDir = typeof doc?.build?.out_dir === "string" ? doc.build.out_dir : "bake";
  return posix.normalize(outDir).replace(/\/+$/, "");
}

function within(name: string, dir: string): boolean {
  return name === dir || name.startsWith(`${dir}/`) || dir.startsWith(`${name}/`);
}

describe("fuzz: the bundled example, mutated", () => {
  it("plans and agrees with check, or refuses with a located message and changes nothing", async () => {
    let planned = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const { yaml, templates } = mutateExample(m);
        if ((await runCase(yaml, templates)).ok) planned++;
      }),
      { numRuns: fuzzRuns(150) },
    );
    expect(planned, "some mutations must plan, or the property tests refusals only").toBeGreaterThan(0);
  }, 600_000);
});

describe("fuzz: hostile values never change the instructions a template produces", () => {
  it("every Dockerfile BuildKit reads has the template's instructions, whatever the values", async () => {
    let planned = 0;
    await fc.assert(
      fc.asyncProperty(skeletonCase, async (c) => {
        const { yaml, templates } = skeletonProject(c);
        const { ok, dir } = await runCase(yaml, templates);
        if (!ok) return;
        planned++;
        const files = readdirSync(join(dir, "bake"));
        expect(files.length).toBeGreaterThan(0);
        for (const f of files)
          expect(instructions(readFileSync(join(dir, "bake", f), "utf8")), `${f}\n${yaml}`).toEqual(SKELETON);
      }),
      { numRuns: fuzzRuns(150) },
    );
    expect(planned, "some hostile values must plan").toBeGreaterThan(0);
  }, 600_000);

  it("the instruction reader follows BuildKit's continuations and here-documents", () => {
    expect(
      instructions(
        "FROM a\n# c\nRUN a \\\n  b\n\nRUN x \\ \n# comment inside\n  y\nCOPY <<EOF /x\nRUN no\nEOF\nRUN <<-A\n\tFROM no\n\tA\nARG z\n",
      ),
    ).toEqual(["FROM", "RUN", "RUN", "COPY", "RUN", "ARG"]);
    // What a value ending in a backslash would do if it got through: the next instruction is swallowed.
    expect(instructions("FROM a\nRUN echo x\\\nFROM b\n")).toEqual(["FROM", "RUN"]);
  });
});
