// A failed bake on a terminal: buildx's closing error went to the terminal, so bakeplan asks
// buildx's history what failed and where. The output was captured by hand from buildx 0.29.1 on the
// local engine (`docker buildx history ls --format json --no-trunc`, three records; `history
// inspect REF --format json` of the e2e fixture's failing dev step, its Error.Stack removed).
import { describe, expect, it } from "vitest";
import { failedInHistory } from "../../src/commands/bake.js";
import { parseHistoryFailure, parseHistoryList } from "../../src/io/buildx.js";
import { capturedProjectPlan, capturedRun } from "../helpers.js";
import { plannedTarget } from "../../src/command-support/targets.js";

const ls = capturedRun("0.29.1", "history-ls");
const inspect = capturedRun("0.29.1", "history-inspect-failed");

describe("buildx history of a failed bake", () => {
  it("the failed records created since the bake started", () => {
    expect(parseHistoryList(ls.stdout, new Date("2026-12-01T17:35:00Z"))).toEqual([
      "default/default/tqp73b4lpgk7rt9696lhpvhmj",
      "default/default/nkv2pl1ip9logzduvq2cpzfbr",
      "default/default/k9u05n0zo0lm9jzea5h922a7l",
    ]);
    expect(parseHistoryList(ls.stdout, new Date("2026-12-01T17:36:00Z"))).toEqual([]);
    expect(parseHistoryList("not json\n{}\n", new Date(0))).toEqual([]);
  });

  it("a failed record: its Dockerfile, stage and the line its error names", () => {
    expect(parseHistoryFailure(inspect.stdout)).toEqual({
      dockerfile: "beta-cuda13.Dockerfile",
      stage: "dev",
      at: { dockerfile: "beta-cuda13.Dockerfile", line: 28 },
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
      at: { dockerfile: "beta-cuda13.Dockerfile", line: 28 },
    });
    // beta-cuda13 (runtime) shares the Dockerfile, not the stage.
    expect(failedInHistory(recorded, ["beta-cuda13", "beta-cuda13-dev"], of).targets).toEqual(["beta-cuda13-dev"]);
    // The Dockerfile as a build context of "." names it.
    const nested = [{ ...recorded[0]!, dockerfile: "bake/beta-cuda13.Dockerfile" }];
    expect(failedInHistory(nested, ["alpha-cuda12", "beta-cuda13-dev"], of).targets).toEqual(["beta-cuda13-dev"]);
    // Not a selected target's: another bake's record.
    expect(failedInHistory(recorded, ["alpha-cuda12"], of)).toEqual({ targets: [] });
  });
});
