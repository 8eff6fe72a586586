// The build log of `bakeplan bake`: off a terminal (a CI log) every line buildx prints, export and
// push lines included, then the summary; on a terminal (a pseudo-terminal from `script`) buildx's
// own live view, then the summary, its step counts read back from buildx's build history.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { REPO } from "../helpers.js";
import { shellQuote } from "../../src/text.js";
import { describeWithDocker, REGISTRY } from "./docker.js";
import { bakeplan, e2eProject, localEnv, summaryRows, type Project } from "./e2e.js";

describeWithDocker("engine", "bakeplan bake's build log", () => {
  const projects: Project[] = [];
  afterAll(() => projects.forEach((p) => p.cleanup()));

  it("off a terminal: buildx's export and push lines, the summary, and the job summary for GitHub", async () => {
    const p = e2eProject();
    projects.push(p);
    const stepSummary = join(p.dir, "step-summary.md");
    const run = await bakeplan(
      ["bake", "alpha-cuda12", "--push", "--registry", REGISTRY, "--branch", "main"].concat([
        "--summary-json",
        "summary.json",
        "--metadata-file",
        "metadata.json",
      ]),
      { cwd: p.dir, env: { ...localEnv(), GITHUB_STEP_SUMMARY: stepSummary } },
    );
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(run.stderr).toMatch(/^#\d+ \[[a-z0-9 -]+ \d+\/\d+\] RUN /m);
    expect(run.stderr).toMatch(/^#\d+ exporting layers( [\d.]+s)? done$/m);
    expect(run.stderr).toMatch(/^#\d+ naming to 127\.0\.0\.1:5000\/\S+( [\d.]+s)? done$/m);
    expect(run.stderr).toMatch(/^#\d+ pushing layers( [\d.]+s)? done$/m);
    expect(run.stderr).toMatch(/^#\d+ pushing manifest for 127\.0\.0\.1:5000\/\S+( [\d.]+s)? done$/m);
    expect(summaryRows(run.stdout).get("alpha-cuda12")?.cache).toBe("4 of 4 steps built");
    // Every tag, the whole digest (what buildx pushed), and the cache refs buildx was given.
    const metadata = JSON.parse(readFileSync(join(p.dir, "metadata.json"), "utf8")) as Record<
      string,
      { "containerimage.digest": string }
    >;
    const summary = JSON.parse(readFileSync(join(p.dir, "summary.json"), "utf8")) as {
      targets: Record<string, unknown>[];
    };
    expect(summary.targets).toHaveLength(1);
    const { durationSeconds, ...target } = summary.targets[0]!;
    // Four RUN steps of `sleep 1` at least.
    expect(durationSeconds).toBeGreaterThanOrEqual(3);
    expect(target).toEqual({
      target: "alpha-cuda12",
      status: "built",
      steps: { total: 4, cached: 0, built: 4 },
      digest: { kind: "index", digest: metadata["alpha-cuda12"]!["containerimage.digest"] },
      tags: [p.image("alpha-cuda12", "main"), p.image("alpha-cuda12", "latest")],
      cacheFrom: [expect.stringContaining(`ref=${REGISTRY}/${p.cacheRepository}:alpha-cuda12-main`)],
      cacheTo: [expect.stringContaining(`ref=${REGISTRY}/${p.cacheRepository}:alpha-cuda12-main`)],
    });
    const md = readFileSync(stepSummary, "utf8");
    expect(md).toContain("### bakeplan bake alpha-cuda12");
    expect(md).toMatch(
      /^\| `alpha-cuda12` \| ✅ built \| 0\/4 cached \| [\d.]+s \| `sha256:[0-9a-f]{12}` \(index\) \| /m,
    );
  });

  it("on a terminal: buildx's live view, then the summary with step counts from buildx's history", () => {
    const p = e2eProject();
    projects.push(p);
    const bake = (args: string[]) =>
      execFileSync(
        "script",
        ["-qefc", shellQuote([process.execPath, join(REPO, "bin/bakeplan.js"), "bake", ...args]), "/dev/null"],
        { cwd: p.dir, env: { ...localEnv(), TERM: "xterm" }, encoding: "utf8", timeout: 300_000 },
      );
    const first = bake(["alpha-cuda12", "--registry", REGISTRY, "--summary-json", "summary.json"]);
    // buildx's tty view ("[+] Building 1.2s (12/12) FINISHED"), not bakeplan's plain-style rendering.
    expect(first).toMatch(/\[\+\] Building [\d.]+s \(\d+\/\d+\)/);
    expect(first).not.toMatch(/^#\d+ \[alpha-cuda12 /m);
    const rows = summaryRows(first.replace(/\r/g, ""));
    expect(rows.get("alpha-cuda12")?.cache).toBe("4 of 4 steps built");
    const summary = JSON.parse(readFileSync(join(p.dir, "summary.json"), "utf8")) as {
      targets: { steps: unknown; durationSeconds: unknown }[];
    };
    expect(summary.targets[0]!.steps).toEqual({ total: 4, cached: 0, built: 4 });
    expect(summary.targets[0]!.durationSeconds).toBeGreaterThanOrEqual(3);
    const again = summaryRows(bake(["alpha-cuda12", "--registry", REGISTRY]).replace(/\r/g, ""));
    expect(again.get("alpha-cuda12")?.cache).toBe("fully cached");
  });

  it("on a terminal, a failing step: the target and its template line from buildx's history", () => {
    const p = e2eProject();
    projects.push(p);
    const dev = 'RUN sleep 1 && echo "dev {{ framework }} {{ cuda }}" > /target.txt';
    p.edit("templates/Dockerfile.liquid", dev, `{% if framework == "beta" %}RUN sleep 1 && exit 7{% endif %}\n${dev}`);
    const argv = [process.execPath, join(REPO, "bin/bakeplan.js"), "bake", "alpha-cuda12", "beta-cuda13-dev"];
    const run = spawnSync("script", ["-qefc", shellQuote([...argv, "--registry", REGISTRY]), "/dev/null"], {
      cwd: p.dir,
      env: { ...localEnv(), TERM: "xterm" },
      encoding: "utf8",
      timeout: 300_000,
    });
    const text = run.stdout.replace(/\r/g, "");
    expect(run.status, text.slice(-3000)).not.toBe(0);
    // buildx's own view of the failure, then bakeplan's line with what it read back.
    expect(text).toMatch(/\[\+\] Building [\d.]+s \(\d+\/\d+\)/);
    expect(text).toContain(
      "bakeplan: error: docker buildx bake failed with exit code 1: target beta-cuda13-dev failed; the failing step: templates/Dockerfile.liquid:28 (bake/beta-cuda13-dev.Dockerfile:34)\n",
    );
  });
});
