import { describe, expect, it } from "vitest";
import { bakeArgv, parseBuildxVersion, versionAtLeast } from "../../src/io/buildx.js";
import { shellQuote } from "../../src/text.js";
import { capturedBuildxVersions, capturedRun } from "../helpers.js";
import { parsePlainProgress, RawProgress } from "../../src/io/progress.js";

describe("bakeArgv", () => {
  it("passes each entitlement as --allow, before --set and the user's args", () => {
    expect(
      bakeArgv({
        file: "f.json",
        targets: ["t"],
        allow: ["fs.read=/run/token"],
        sets: ["t.x=1"],
        extra: ["--no-cache"],
      }),
    ).toEqual(["buildx", "bake", "-f", "f.json", "--allow=fs.read=/run/token", "--set", "t.x=1", "--no-cache", "t"]);
  });

  it("puts bakeplan's flags first, then --set, then the user's buildx args, then the targets", () => {
    expect(
      bakeArgv({
        file: "docker-bake.json",
        targets: ["vllm-cuda12", "dev"],
        builder: "ci",
        progress: "rawjson",
        metadataFile: "/tmp/m.json",
        push: true,
        sets: ["*.output=type=cacheonly", "vllm-cuda12.cache-to=type=registry,ref=r/c:t"],
        extra: ["--no-cache"],
      }),
    ).toEqual([
      "buildx",
      "bake",
      "-f",
      "docker-bake.json",
      "--builder",
      "ci",
      "--progress=rawjson",
      "--metadata-file",
      "/tmp/m.json",
      "--push",
      "--set",
      "*.output=type=cacheonly",
      "--set",
      "vllm-cuda12.cache-to=type=registry,ref=r/c:t",
      "--no-cache",
      "vllm-cuda12",
      "dev",
    ]);
  });

  it("adds only what is asked for", () => {
    expect(bakeArgv({ file: "b.json", targets: ["all"], call: "check,format=json" })).toEqual([
      "buildx",
      "bake",
      "-f",
      "b.json",
      "--call=check,format=json",
      "all",
    ]);
    expect(bakeArgv({ file: "b.json", targets: [], load: true })).toEqual(["buildx", "bake", "-f", "b.json", "--load"]);
  });
});

describe("shellQuote", () => {
  it("leaves plain words alone and single-quotes the rest so a shell reads back the same argv", () => {
    expect(
      shellQuote([
        "docker",
        "buildx",
        "bake",
        "-f",
        "docker-bake.json",
        "--set",
        "*.output=type=cacheonly",
        "it's",
        "",
        "a b",
        "$HOME",
      ]),
    ).toBe("docker buildx bake -f docker-bake.json --set '*.output=type=cacheonly' 'it'\\''s' '' 'a b' '$HOME'");
  });
});

describe("parseBuildxVersion", () => {
  it.each([
    ["github.com/docker/buildx v0.29.1 a9cb4b4", "0.29.1"],
    ["github.com/docker/buildx 0.29.1+ds1 0.29.1+ds1-4", "0.29.1"],
    ["github.com/docker/buildx v0.13.1-desktop.1 abc", "0.13.1"],
  ])("%s -> %s", (stdout, version) => {
    expect(parseBuildxVersion(stdout)?.version).toBe(version);
  });

  it.each(capturedBuildxVersions())("reads %s from that buildx's own `docker buildx version`", (version) => {
    expect(parseBuildxVersion(capturedRun(version, "version").stdout)?.version).toBe(version);
  });

  it("returns undefined for text without a version", () => {
    expect(parseBuildxVersion("buildx: command not found")).toBeUndefined();
  });

  it("compares versions field by field", () => {
    expect(versionAtLeast([0, 29, 1], [0, 17, 0])).toBe(true);
    expect(versionAtLeast([0, 9, 9], [0, 17, 0])).toBe(false);
    expect(versionAtLeast([1, 0, 0], [0, 17, 0])).toBe(true);
    expect(versionAtLeast([0, 17, 0], [0, 17, 0])).toBe(true);
  });
});

// Shapes as buildx 0.29.1 prints them with --progress=plain for a two-target bake.
const PLAIN = `#0 building with "default" instance using docker driver

#8 [b] importing cache manifest from 127.0.0.1:5000/x-cache:b-main
#8 ERROR: failed to configure registry cache importer: 127.0.0.1:5000/x-cache:b-main: not found

#9 [a shared 1/2] FROM docker.io/local/busybox:1@sha256:ee47
#9 DONE 0.1s

#10 [a shared 2/2] RUN sleep 1
#10 CACHED

#11 [b framework 1/1] RUN echo b
#11 DONE 1.2s

#12 [a framework 1/1] RUN exit 7
#12 ERROR: process "/bin/sh -c exit 7" did not complete successfully: exit code: 7

#13 [b runtime 1/1] RUN echo r
#13 ERROR: context canceled
ERROR: target a: failed to solve: process "/bin/sh -c exit 7" did not complete successfully: exit code: 7
`;

describe("parsePlainProgress", () => {
  it("counts RUN steps per target (not FROM) and names only the target whose step failed", () => {
    const p = parsePlainProgress(PLAIN, ["a", "b"]);
    expect(p.byTarget.get("a")).toEqual({ steps: 2, cached: 1, built: 0, errors: 1 });
    expect(p.byTarget.get("b")).toEqual({ steps: 2, cached: 0, built: 1, errors: 1 });
    // b's missing cache ref and its canceled step are not failures.
    expect(p.failedTargets).toEqual(["a"]);
  });
});

/** One rawjson line with one vertex update. */
function vertex(digest: string, name: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ vertexes: [{ digest, name, ...fields }] });
}

const T0 = "2026-01-01T00:00:00.000Z";
const T1 = "2026-01-01T00:00:01.200Z";

describe("RawProgress", () => {
  it("attributes a step shared by several targets to each of them, and renders it once", () => {
    const p = new RawProgress(["a", "a-dev", "b"]);
    const lines = [
      vertex("sha256:from", "[a shared 1/2] FROM docker.io/local/busybox:1", { started: T0 }),
      vertex("sha256:from", "[b shared 1/2] FROM docker.io/local/busybox:1", { started: T0, completed: T1 }),
      vertex("sha256:shared", "[a shared 2/2] RUN sleep 1", { started: T0 }),
      vertex("sha256:shared", "[a-dev shared 2/2] RUN sleep 1", { started: T0 }),
      vertex("sha256:shared", "[b shared 2/2] RUN sleep 1", { started: T0 }),
      JSON.stringify({
        logs: [{ vertex: "sha256:shared", stream: 1, data: Buffer.from("hello\nworld\n").toString("base64") }],
      }),
      vertex("sha256:shared", "[a shared 2/2] RUN sleep 1", { started: T0, completed: T1 }),
      vertex("sha256:shared", "[b shared 2/2] RUN sleep 1", { started: T0, completed: T1 }),
      vertex("sha256:dev", "[a-dev dev 1/1] RUN echo dev", { started: T0, completed: T1, cached: true }),
    ];
    const text = lines.map((l) => p.feed(l)).join("");
    expect(text).toBe(
      [
        "#1 [a shared 1/2] FROM docker.io/local/busybox:1",
        "#1 DONE 1.2s",
        "",
        "#2 [a shared 2/2] RUN sleep 1",
        "#2 hello",
        "#2 world",
        "#2 DONE 1.2s",
        "",
        "#3 [a-dev dev 1/1] RUN echo dev",
        "#3 CACHED",
        "",
      ].join("\n"),
    );
    const r = p.result();
    expect(r.byTarget.get("a")).toEqual({ steps: 1, cached: 0, built: 1, errors: 0 });
    expect(r.byTarget.get("a-dev")).toEqual({ steps: 2, cached: 1, built: 1, errors: 0 });
    expect(r.byTarget.get("b")).toEqual({ steps: 1, cached: 0, built: 1, errors: 0 });
    expect(r.failedTargets).toEqual([]);
  });

  it("keeps a remote-cache hit cached when the vertex is reported again for export", () => {
    const p = new RawProgress(["a"]);
    p.feed(vertex("sha256:x", "[a s 1/1] RUN x", { started: T0, completed: T0, cached: true }));
    const again = p.feed(vertex("sha256:x", "[a s 1/1] RUN x", { started: T0, completed: T1 }));
    expect(again).toBe("");
    expect(p.result().byTarget.get("a")).toEqual({ steps: 1, cached: 1, built: 0, errors: 0 });
  });

  it("names the failed target, not targets whose cache ref is missing or whose steps were canceled", () => {
    const p = new RawProgress(["a", "b"]);
    const text = [
      vertex("sha256:imp", "[b] importing cache manifest from r/c:b-main", {
        started: T0,
        completed: T0,
        error: "failed to configure registry cache importer: r/c:b-main: not found",
      }),
      vertex("sha256:fail", "[a framework 1/1] RUN exit 7", {
        started: T0,
        completed: T1,
        error: 'process "/bin/sh -c exit 7" did not complete successfully: exit code: 7',
      }),
      vertex("sha256:cxl", "[b runtime 1/1] RUN sleep 5", { started: T0, completed: T1, error: "context canceled" }),
      "ERROR: target a: failed to solve: exit code: 7",
    ]
      .map((l) => p.feed(l))
      .join("");
    expect(text).toContain('#2 ERROR: process "/bin/sh -c exit 7" did not complete successfully: exit code: 7\n');
    expect(text).toContain("ERROR: target a: failed to solve: exit code: 7\n");
    const r = p.result();
    expect(r.failedTargets).toEqual(["a"]);
    expect(r.byTarget.get("a")).toEqual({ steps: 1, cached: 0, built: 0, errors: 1 });
    expect(r.byTarget.get("b")).toEqual({ steps: 1, cached: 0, built: 0, errors: 0 });
  });

  it("passes through lines that are not JSON and ignores blank ones", () => {
    const p = new RawProgress(["a"]);
    expect(p.feed("  28 | >>> RUN exit 7")).toBe("  28 | >>> RUN exit 7\n");
    expect(p.feed("")).toBe("");
  });
});
