// The hostile-input fuzzer's buildx part (issue 10): the cases of test/unit/fuzz.test.ts's
// structure property that plan are sent, all in one bake file, through real
// `docker buildx bake --print`; every target must come back as planned (nothing a value carried
// was read as structure, nothing dropped). BAKEPLAN_FUZZ_RUNS runs more cases.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { expect, it } from "vitest";
import { runCli, testdir } from "../helpers.js";
import { fuzzRuns, fuzzWorld, skeletonCase, skeletonProject } from "../fuzz-cases.js";
import { describeWithDocker } from "./docker.js";
import { expectPrintedAsPlanned, type Printed } from "./print-plan.js";

describeWithDocker("buildx", "fuzz: accepted plans round-trip through docker buildx bake --print", () => {
  it("every target of every accepted case comes back from bake as planned", async () => {
    const cases = fc.sample(skeletonCase, {
      numRuns: fuzzRuns(200),
      seed: Number(process.env.BAKEPLAN_FUZZ_SEED ?? 10),
    });
    const merged: Printed = { target: {} };
    let accepted = 0;
    for (const [i, c] of cases.entries()) {
      const { yaml, templates } = skeletonProject(c);
      const { dir } = fuzzWorld(yaml, templates);
      const res = await runCli(["plan"], dir);
      expect([0, 1], res.stderr).toContain(res.code);
      if (res.code !== 0) continue;
      accepted++;
      const planned = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as Printed;
      // One bake file for the batch: each case's targets under its own prefix, its context absolute.
      for (const [name, t] of Object.entries(planned.target)) merged.target[`c${i}-${name}`] = { ...t, context: dir };
    }
    expect(accepted, "some cases must plan").toBeGreaterThan(cases.length / 10);
    const work = testdir();
    writeFileSync(join(work, "docker-bake.json"), `${JSON.stringify(merged, null, 2)}\n`);
    // A case may carry a 200,000-character value: room for all of them in one answer.
    const out = execFileSync(
      "docker",
      ["buildx", "bake", "--print", "-f", "docker-bake.json", ...Object.keys(merged.target)],
      {
        cwd: work,
        encoding: "utf8",
        maxBuffer: 1 << 30,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const printed = JSON.parse(out) as Printed;
    expectPrintedAsPlanned(merged, printed);
  }, 600_000);
});
