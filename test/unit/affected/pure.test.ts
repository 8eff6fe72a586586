import { describe, expect, it } from "vitest";
import { checkImages, failureLines, preflightTable } from "../../../src/images/preflight.js";
import { emptyLock, lockProblems, parseLock, serializeLock, unpinned } from "../../../src/images/lock.js";
import {
  apiHost,
  apiScheme,
  canonical,
  findPlatform,
  indexPlatforms,
  manifestKind,
  MANIFEST_ACCEPT,
  parseChallenge,
  parseReference,
} from "../../../src/images/reference.js";
import { expandWord, parseInstructions } from "../../../src/render/instructions.js";
import { TargetBuilds, targetBuild } from "../../../src/plan/stage-graph.js";
import type { ImageNeed } from "../../../src/images/collect.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;

describe("image references (Docker Hub naming)", () => {
  it.each([
    ["ubuntu", "docker.io/library/ubuntu:latest"],
    ["ubuntu:24.04", "docker.io/library/ubuntu:24.04"],
    ["lmsysorg/sglang:v0.5", "docker.io/lmsysorg/sglang:v0.5"],
    ["index.docker.io/library/ubuntu:1", "docker.io/library/ubuntu:1"],
    ["nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04", "nvcr.io/nvidia/cuda:12.9.1-runtime-ubuntu24.04"],
    ["127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest"],
    ["localhost/a:1", "localhost/a:1"],
    [`ubuntu:24.04@${D("a")}`, `docker.io/library/ubuntu:24.04@${D("a")}`],
  ])("%s -> %s", (ref, full) => {
    expect(canonical(parseReference(ref)!)).toBe(full);
  });

  it("refuses malformed references", () => {
    expect(parseReference("Ubuntu")).toBeUndefined();
    expect(parseReference("a@sha256:xyz")).toBeUndefined();
  });

  it("Docker Hub's API host, and plain HTTP only for loopback registries", () => {
    expect(apiHost("docker.io")).toBe("registry-1.docker.io");
    expect(apiHost("nvcr.io")).toBe("nvcr.io");
    expect(apiScheme("127.0.0.1:5000")).toBe("http");
    expect(apiScheme("localhost:5000")).toBe("http");
    expect(apiScheme("nvcr.io")).toBe("https");
  });

  it("accepts OCI and Docker indexes before single manifests", () => {
    expect(MANIFEST_ACCEPT.split(", ")).toEqual([
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
    ]);
    expect(manifestKind("application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8")).toBe("index");
    expect(manifestKind("application/vnd.oci.image.manifest.v1+json")).toBe("manifest");
    expect(manifestKind("text/plain")).toBeUndefined();
  });

  it("reads a Bearer challenge", () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull" },
    });
    expect(parseChallenge('Basic realm="x"')?.scheme).toBe("basic");
  });

  it("index platforms leave attestations out; arm64 is arm64/v8", () => {
    const entries = indexPlatforms({
      manifests: [
        { digest: D("1"), platform: { os: "linux", architecture: "amd64" } },
        { digest: D("2"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
        { digest: D("3"), platform: { os: "unknown", architecture: "unknown" } },
      ],
    });
    expect(entries.map((e) => e.platform)).toEqual(["linux/amd64", "linux/arm64/v8"]);
    expect(findPlatform(entries, "linux/arm64")?.digest).toBe(D("2"));
    expect(findPlatform(entries, "linux/arm64/v8")?.digest).toBe(D("2"));
    expect(findPlatform(entries, "linux/arm/v7")).toBeUndefined();
  });
});

describe("preflight report", () => {
  const need = (ref: string, byTarget: Record<string, string[]>): ImageNeed => ({
    ref,
    platforms: [...new Set(Object.values(byTarget).flat())].sort(),
    targets: Object.keys(byTarget).sort(),
    byTarget: new Map(Object.entries(byTarget)),
    sources: ["context.yaml:3:5: defaults.images.BASE_IMAGE"],
    args: ["BASE_IMAGE"],
  });

  it("a missing platform names the targets that need it; a failed look-up names every user", () => {
    const checks = checkImages(
      [need("a:1", { x: ["linux/amd64", "linux/arm64"], y: ["linux/amd64"] }), need("b:1", { y: ["linux/amd64"] })],
      new Map([
        [
          "a:1",
          { digest: D("a"), mediaType: "", platforms: [{ platform: "linux/amd64", digest: D("a") }], via: "registry" },
        ],
        ["b:1", { failure: 'tag "1" not found in docker.io/library/b' }],
      ]),
    );
    expect(failureLines(checks)).toEqual([
      "a:1: no linux/arm64 image (it has linux/amd64; needed by x for linux/arm64)",
      'b:1: tag "1" not found in docker.io/library/b (needed by y)',
    ]);
    expect(preflightTable(checks)).toMatch(
      /^a:1 +sha256:aaaaaaaaaaaa +linux\/amd64 ✓ linux\/arm64 ✗ +x, y +context.yaml:3:5/m,
    );
    expect(preflightTable(checks)).toMatch(/^b:1 +FAILED \(below\) +linux\/amd64 \? +y /m);
  });
});

describe("lock", () => {
  it("serialises sorted and stable, parses back, and names what is missing or unused", () => {
    const lock = emptyLock();
    lock.images["b:1"] = {
      digest: D("b"),
      mediaType: "m",
      platforms: { "linux/arm64": D("2"), "linux/amd64": D("1") },
    };
    lock.images["a:1"] = { digest: D("a"), mediaType: "m", platforms: {} };
    const text = serializeLock(lock);
    expect(Object.keys((JSON.parse(text) as { images: object }).images)).toEqual(["a:1", "b:1"]);
    expect(text).toContain('"linux/amd64": "sha256:1111');
    expect(text.indexOf("linux/amd64")).toBeLessThan(text.indexOf("linux/arm64"));
    expect(serializeLock(parseLock(text, "x"))).toBe(text);
    expect(unpinned(`b:1@${D("b")}`, lock)).toBe("b:1");
    expect(unpinned(`b:1@${D("c")}`, lock)).toBeUndefined();
    expect(lockProblems(lock, ["a:1", "c:1", `d@${D("d")}`], "bakeplan.lock.json")).toEqual([
      "bakeplan.lock.json has no entry for c:1; run `bakeplan lock`",
      "bakeplan.lock.json pins b:1, which no target uses any more; run `bakeplan lock`",
    ]);
    const problem = (text: string) => {
      try {
        parseLock(text, "bakeplan.lock.json");
      } catch (e) {
        return (e as Error).message;
      }
      return "parsed";
    };
    const tail = "; regenerate it with `bakeplan lock`";
    const at = "bakeplan.lock.json: ";
    // In the lock's words (key, what is there, what belongs), never zod's ("Invalid input: expected 1").
    expect(problem('{"version": 2, "images": {}}')).toBe(
      `${at}version: expected 1 (the lock format this bakeplan writes), found number 2${tail}`,
    );
    expect(problem('{"mine": true}')).toBe(
      `${at}version: expected 1 (the lock format this bakeplan writes), found nothing${tail}`,
    );
    expect(problem('{"version": 1}')).toBe(`${at}images: missing (expected an object)${tail}`);
    expect(problem('{"version": 1, "images": []}')).toBe(`${at}images: expected an object, found a list${tail}`);
    expect(problem('{"version": 1, "images": {}, "extra": 1}')).toBe(`${at}(the file): unknown key "extra"${tail}`);
    expect(
      problem(`{"version": 1, "images": {"a:1": {"digest": "sha256:12", "mediaType": "x", "platforms": {}}}}`),
    ).toBe(`${at}images.a:1.digest: must be sha256:<64 hex digits>, found string "sha256:12"${tail}`);
    expect(problem(`{"version": 1, "images": {"a:1": {"digest": "${D("a")}", "platforms": {}}}}`)).toBe(
      `${at}images.a:1.mediaType: missing (expected string)${tail}`,
    );
  });
});

describe("Dockerfile instructions and the stages a target builds", () => {
  const DF = `# syntax comment
ARG BASE=img:1
ARG ARM=arm-img:1
FROM --platform=linux/amd64 amd-img:1 AS b_amd64
FROM --platform=linux/arm64 \${ARM} AS b_arm64
FROM b_\${TARGETARCH} AS wheel
COPY --exclude=*.md src/ \\
  # a comment inside a continued instruction
  /src/
RUN <<EOF
# not a comment: heredoc body
echo hi
EOF
FROM \${BASE} AS runtime
ARG REF=r1
COPY --from=wheel /w /w
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /uv
RUN --mount=type=bind,from=tools:2,target=/t --mount=type=bind,source=scripts,target=/s true
FROM runtime AS dev
RUN --mount=target=/ctx true
`;

  it("parses continuations (comments dropped) and heredocs (kept)", () => {
    const df = parseInstructions(DF);
    expect(df.global.map((i) => i.args)).toEqual(["BASE=img:1", "ARM=arm-img:1"]);
    const wheel = df.stages[2]!;
    expect(wheel.name).toBe("wheel");
    expect(wheel.instructions[1]!.args).toBe("--exclude=*.md src/   /src/");
    expect(wheel.instructions[2]!.text).toContain("# not a comment: heredoc body");
    expect(df.stages.map((s) => s.name)).toEqual(["b_amd64", "b_arm64", "wheel", "runtime", "dev"]);
  });

  it("follows FROM, COPY --from and --mount from= per platform; images, ARGs and context sources", () => {
    const df = parseInstructions(DF);
    const b = targetBuild(df, {
      target: "runtime",
      platforms: ["linux/amd64", "linux/arm64"],
      args: { BASE: "img:2", REF: "r2" },
      buildPlatform: "linux/amd64",
    });
    expect(b.stages).toEqual([0, 1, 2, 3]);
    expect(b.images.map((i) => `${i.kind} ${i.ref} ${i.platform}`).sort()).toEqual([
      "copy ghcr.io/astral-sh/uv:0.8 linux/amd64",
      "copy ghcr.io/astral-sh/uv:0.8 linux/arm64",
      "from amd-img:1 linux/amd64",
      "from arm-img:1 linux/arm64",
      "from img:2 linux/amd64",
      "from img:2 linux/arm64",
      "mount tools:2 linux/amd64",
      "mount tools:2 linux/arm64",
    ]);
    expect([...b.args].sort()).toEqual(["ARM", "BASE", "REF"]);
    expect(b.sources.map((s) => [s.pattern, s.excludes])).toEqual([
      ["src", ["*.md"]],
      ["scripts", []],
    ]);
    const amd = targetBuild(df, {
      target: "wheel",
      platforms: ["linux/amd64"],
      args: {},
      buildPlatform: "linux/amd64",
    });
    expect(amd.stages).toEqual([0, 2]);
    const dev = targetBuild(df, { target: "dev", platforms: ["linux/amd64"], args: {}, buildPlatform: "linux/amd64" });
    expect(dev.sources.map((s) => s.pattern)).toContain(".");
  });

  it("shares a walk between targets and revisions only where the values it reads agree", () => {
    const TPL = (ref: string) => `ARG BASE=img:1
FROM \${BASE} AS runtime
ARG REF=${ref}
ARG SRC=src
RUN echo \${REF}
COPY \${SRC}/ /src/
FROM runtime AS dev
`;
    const builds = new TargetBuilds();
    const q = (args: Record<string, string>, target = "runtime") => ({
      target,
      platforms: ["linux/amd64", "linux/arm64"],
      args,
      buildPlatform: "linux/amd64",
    });
    const base = parseInstructions(TPL("r1"));
    const head = parseInstructions(TPL("r2"));
    const walked = (df: typeof base, args: Record<string, string>, target?: string) => {
      const shared = builds.of(df, q(args, target));
      // The same answer as a walk of its own.
      expect(shared).toEqual(targetBuild(df, q(args, target)));
      return shared;
    };
    const first = walked(base, { BASE: "img:2", REF: "r1", SRC: "src" });
    // A value only a RUN line reads, and a Dockerfile that differs in an overridden ARG default: one walk.
    expect(walked(head, { BASE: "img:2", REF: "r2", SRC: "src" })).toBe(first);
    // A value a COPY source or a FROM line reads: a walk of its own.
    const other = walked(head, { BASE: "img:2", REF: "r2", SRC: "lib" });
    expect(other).not.toBe(first);
    expect(other.sources.map((s) => s.pattern)).toEqual(["lib"]);
    expect(walked(head, { BASE: "img:3", REF: "r2", SRC: "src" }).images.map((i) => i.ref)).toEqual(["img:3", "img:3"]);
    // The default counts where no bake arg overrides it.
    expect(walked(head, { BASE: "img:2", REF: "r2" }).sources.map((s) => s.pattern)).toEqual(["src"]);
    expect(walked(head, { BASE: "img:2", REF: "r2", SRC: "src" }, "dev")).not.toBe(first);
  });

  it("expands variables as BuildKit does", () => {
    const vars: Record<string, string> = { A: "v1.2", E: "" };
    const get = (n: string) => vars[n];
    expect(expandWord("x-${A}-$A", get).value).toBe("x-v1.2-v1.2");
    expect(expandWord("${E:-d}|${E-d}|${U-d}|${A:+set}|${U:+set}", get).value).toBe("d||d|set|");
    expect(expandWord("${A#v}|${A%.*}|\\$A", get).value).toBe("1.2|v1|$A");
    expect(expandWord("${A}", get).used).toEqual(["A"]);
  });
});
