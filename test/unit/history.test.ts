// A failed bake on a terminal: buildx's closing error went to the terminal, so bakeplan asks
// buildx's history what failed and where. The output was captured from buildx 0.29.1 on the local
// engine by scripts/capture-buildx-fixtures.mjs, after its bake-failed run (`docker buildx history
// ls --format json --no-trunc`: that bake's two records, beta-cuda13-dev failed and alpha-cuda12
// completed; `history inspect REF --format json` of the failed one, its Error.Stack removed). The
// e2e fixture's beta-cuda13-dev builds the stage `debug` (a combination's), and its failing step
// is in the stage `dev` below it.
import { describe, expect, it } from "vitest";
import { failedInHistory } from "../../src/commands/bake.js";
import { parseHistoryFailure, parseHistoryList } from "../../src/io/buildx.js";
import { capturedProjectPlan, capturedRun } from "../helpers.js";
import { plannedTarget } from "../../src/command-support/targets.js";

const ls = capturedRun("0.29.1", "history-ls");
const inspect = capturedRun("0.29.1", "history-inspect-failed");

describe("buildx history of a failed bake", () => {
  it("the failed records created since the bake started", () => {
    // Only the failed one: alpha-cuda12's record completed.
    expect(parseHistoryList(ls.stdout, new Date("2026-12-01T19:29:54Z"))).toEqual([
      "default/default/dsi4o4nj2o2fle8xaqqfjaobl",
    ]);
    expect(parseHistoryList(ls.stdout, new Date("2026-12-01T19:29:55Z"))).toEqual([]);
    // Were both failed: each, in buildx's order (newest first).
    expect(ls.stdout.match(/"status":"Completed"/g)).toHaveLength(1);
    const both = ls.stdout.replace('"status":"Completed"', '"status":"Error"');
    expect(parseHistoryList(both, new Date("2026-12-01T19:29:54Z"))).toEqual([
      "default/default/dsi4o4nj2o2fle8xaqqfjaobl",
      "default/default/a8f8s19cgdlsn2g23et9jkkx2",
    ]);
    expect(parseHistoryList("not json\n{}\n", new Date(0))).toEqual([]);
  });

  it("a failed record: its Dockerfile, stage and the line its error names", () => {
    // The Dockerfile as the bake file names it (context "."), the stage the target built.
    expect(parseHistoryFailure(inspect.stdout)).toEqual({
      dockerfile: "bake/beta-cuda13-dev.Dockerfile",
      stage: "debug",
      at: { dockerfile: "beta-cuda13-dev.Dockerfile", line: 34 },
    });
    // A target buildx cancelled is recorded failed too: it is not the one that failed.
    const record = JSON.parse(inspect.stdout) as { Error: Record<string, unknown> };
    const cancelled = { ...record, Error: { Code: 1, Message: "context canceled" } };
    expect(parseHistoryFailure(JSON.stringify(cancelled))).toBeUndefined();
    expect(parseHistoryFailure(JSON.stringify({ ...record, Error: null }))).toBeUndefined();
  });

  it("maps a record to the one selected target with that Dockerfile and stage", () => {
    const dev = 'RUN sleep 1 && echo "dev {{ framework }} {{ cuda }}" > /target.txt';
    const { plan } = capturedProjectPlan({
      file: "Dockerfile.liquid",
      from: dev,
      to: `{% if framework == "beta" %}RUN sleep 1 && exit 7{% endif %}\n${dev}`,
    });
    const recorded = [parseHistoryFailure(inspect.stdout)!];
    const of = (t: string) => plannedTarget(plan, t);
    expect(failedInHistory(recorded, ["alpha-cuda12", "beta-cuda13-dev"], of)).toEqual({
      targets: ["beta-cuda13-dev"],
      at: { dockerfile: "beta-cuda13-dev.Dockerfile", line: 34 },
    });
    expect(failedInHistory(recorded, ["beta-cuda13", "beta-cuda13-dev"], of).targets).toEqual(["beta-cuda13-dev"]);
    // The stage must be the target's: its Dockerfile built to another stage is not beta-cuda13-dev's build.
    const otherStage = [{ ...recorded[0]!, stage: "dev" }];
    expect(failedInHistory(otherStage, ["alpha-cuda12", "beta-cuda13-dev"], of)).toEqual({ targets: [] });
    // The Dockerfile named by its file name alone (a build context of bake/) is the same file.
    const flat = [{ ...recorded[0]!, dockerfile: "beta-cuda13-dev.Dockerfile" }];
    expect(failedInHistory(flat, ["alpha-cuda12", "beta-cuda13-dev"], of).targets).toEqual(["beta-cuda13-dev"]);
    // Not a selected target's: another bake's record.
    expect(failedInHistory(recorded, ["alpha-cuda12"], of)).toEqual({ targets: [] });
  });
});
