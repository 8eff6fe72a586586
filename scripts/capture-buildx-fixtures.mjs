// Captures what the real buildx prints for the commands bakeplan runs, as unit-test data:
// test/fixtures/buildx/<buildx version>/<case>.json = {argv, exitCode, stdout, stderr} (bake runs
// add `metadata`, the --metadata-file buildx wrote). Each case runs in a copy of test/fixtures/e2e
// planned with `--registry 127.0.0.1:5000`; the copy's path reads `<project>` and the metadata
// file `<metadata>` (the private DOCKER_CONFIG `<docker-config>`). Needs the engine `make docker-up` starts; run it under the end-to-end lock:
//   flock /tmp/bakeplan-itg.lock node scripts/capture-buildx-fixtures.mjs
// CAPTURE_ONLY=inspect-docker,inspect-down captures only the cases named (a prefix matches too).
// history-ls and history-inspect-failed, captured with bake-failed, are what buildx's history says
// of that run (the records created since it started: the builder's older records are dropped; the
// failed record's Error.Stack, buildkit's Go stack trace, is dropped too).
// The inspect-* cases need a second engine (`scripts/docker-up --engines 2`) for inspect-docker.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ensureBuilt, REPO } from "./build-dist.mjs";

const REGISTRY = "127.0.0.1:5000";
const METADATA = "<metadata>";
const PROJECT = "<project>";
const OVERRIDE = "<override>";
/** The fixture's dev stage, and the same with a failing step for the beta framework (as bake-modes.test.ts). */
const DEV_STEP = 'RUN sleep 1 && echo "dev {{ framework }} {{ cuda }}" > /target.txt';
const FAILING_DEV_STEP = `{% if framework == "beta" %}RUN sleep 1 && exit 7{% endif %}\n${DEV_STEP}`;
/** A deprecated instruction BuildKit's checks report (as bake-modes.test.ts). */
const BETA_STEP = 'RUN sleep 1 && echo "beta=$BETA_REF" > /framework.txt';

function run(cmd, args, cwd) {
  const res = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 256 << 20 });
  if (res.error) throw res.error;
  return res;
}

/**
 * This run's value of the fixture's shared stage (as the end-to-end tests set one), so what comes
 * from cache depends on this run alone, not on what the engine built before: bake-failed finds
 * only the shared step that bake-cold built in cache, and builds its other steps.
 */
const NONCE = `capture-${randomBytes(4).toString("hex")}`;

/** A fresh copy of the e2e fixture, `edit` applied to one template, planned. */
function project(edit) {
  const dir = mkdtempSync(join(tmpdir(), "bakeplan-capture-"));
  cpSync(join(REPO, "test/fixtures/e2e"), dir, { recursive: true });
  const context = join(dir, "context.yaml");
  const text = readFileSync(context, "utf8");
  if (!text.includes("SHARED_REF: s1")) throw new Error("context.yaml does not contain SHARED_REF: s1");
  writeFileSync(context, text.replace("SHARED_REF: s1", `SHARED_REF: ${NONCE}`));
  if (edit) {
    const path = join(dir, "templates", edit.file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(edit.from)) throw new Error(`${edit.file} does not contain ${edit.from}`);
    writeFileSync(path, text.replace(edit.from, edit.to));
  }
  const plan = run(process.execPath, [join(REPO, "bin/bakeplan.js"), "plan", "--registry", REGISTRY], dir);
  if (plan.status !== 0) throw new Error(`bakeplan plan failed:\n${plan.stderr}`);
  return dir;
}

const only = (process.env.CAPTURE_ONLY ?? "").split(",").filter((x) => x !== "");

function capture(outDir, name, dir, argv, more = {}) {
  if (only.length > 0 && !only.some((o) => name.startsWith(o))) return;
  const metadataFile = join(dir, "metadata.json");
  rmSync(metadataFile, { force: true });
  const res = run(
    "docker",
    argv.map((a) => (a === METADATA ? metadataFile : a === OVERRIDE ? join(dir, "override.json") : a)),
    dir,
  );
  const scrub = (text) => text.replaceAll(dir, PROJECT).replaceAll(dockerConfig, "<docker-config>");
  const fixture = { argv, exitCode: res.status, stdout: scrub(res.stdout), stderr: scrub(res.stderr), ...more };
  if (argv.includes(METADATA))
    fixture.metadata = existsSync(metadataFile) ? JSON.parse(scrub(readFileSync(metadataFile, "utf8"))) : null;
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
  console.log(`${name}: exit ${res.status}`);
}

/** `docker buildx history ls` and `inspect` of the failed build, as bake reads them (src/io/buildx.ts recordedFailures). */
function captureHistory(outDir, dir, since) {
  if (only.length > 0 && !only.some((o) => "bake-failed".startsWith(o))) return;
  const lsArgv = ["buildx", "history", "ls", "--format", "json", "--no-trunc"];
  // buildx names a record after its context directory: the copy's random name reads `<project>` too.
  const scrub = (text) =>
    text.replaceAll(dir, PROJECT).replaceAll(basename(dir), PROJECT).replaceAll(dockerConfig, "<docker-config>");
  const ls = run("docker", lsArgv, dir);
  if (ls.status !== 0) throw new Error(`docker buildx history ls: ${ls.stderr}`);
  const records = ls.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .filter((l) => Date.parse(JSON.parse(l).created_at) >= since.getTime());
  const stdout = scrub(records.map((l) => `${l}\n`).join(""));
  const list = { argv: lsArgv, exitCode: ls.status, stdout, stderr: ls.stderr, metadata: null };
  writeFileSync(join(outDir, "history-ls.json"), `${JSON.stringify(list, null, 2)}\n`);
  console.log(`history-ls: exit ${ls.status}, ${records.length} records`);
  for (const record of records.map((l) => JSON.parse(l)).filter((r) => r.status === "Error")) {
    const argv = ["buildx", "history", "inspect", record.ref.split("/").at(-1), "--format", "json"];
    const res = run("docker", argv, dir);
    const inspected = JSON.parse(res.stdout);
    // A target buildx cancelled because the other failed is recorded failed too: not the one wanted.
    if (/context canceled/.test(inspected.Error?.Message ?? "")) continue;
    delete inspected.Error.Stack;
    const stdout = scrub(`${JSON.stringify(inspected, null, 2)}\n`);
    const fixture = { argv, exitCode: res.status, stdout, stderr: res.stderr, metadata: null };
    writeFileSync(join(outDir, "history-inspect-failed.json"), `${JSON.stringify(fixture, null, 2)}\n`);
    console.log(`history-inspect-failed: exit ${res.status}`);
    return;
  }
  throw new Error("docker buildx history recorded no failed build of bake-failed");
}

function removeImages() {
  const images = run("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
    .stdout.split("\n")
    .filter((l) => l.startsWith(`${REGISTRY}/bakeplan-e2e/app:`));
  if (images.length > 0) run("docker", ["image", "rm", "--force", ...images]);
}

// docker's client state (buildx activity, build refs) goes to a throwaway directory, not ~/.docker.
const dockerConfig = mkdtempSync(join(tmpdir(), "bakeplan-capture-docker-"));
process.env.DOCKER_CONFIG = dockerConfig;
await ensureBuilt();
const versionOutput = run("docker", ["buildx", "version"]);
const version = /(\d+\.\d+\.\d+)/.exec(versionOutput.stdout)?.[1];
if (versionOutput.status !== 0 || !version) throw new Error(`docker buildx version: ${versionOutput.stderr}`);
const outDir = join(REPO, "test/fixtures/buildx", version);
mkdirSync(outDir, { recursive: true });

const bake = ["buildx", "bake", "-f", "docker-bake.json"];
const rawjson = [...bake, "--progress=rawjson", "--metadata-file", METADATA];
const projects = [];
try {
  const plain = project();
  const failing = project({ file: "Dockerfile.liquid", from: DEV_STEP, to: FAILING_DEV_STEP });
  const maintainer = project({
    file: "framework.liquid",
    from: BETA_STEP,
    to: `MAINTAINER nobody@example.com\n${BETA_STEP}`,
  });
  projects.push(plain, failing, maintainer);

  capture(outDir, "version", plain, ["buildx", "version"]);
  // `docker buildx inspect --bootstrap` of pool builders: a docker-driver builder of a second engine
  // (its Docker context), one whose engine does not answer (buildx exits 0 and prints Error:), and
  // one that does not exist.
  const engines = existsSync("/var/lib/bakeplan-docker/engines")
    ? readFileSync("/var/lib/bakeplan-docker/engines", "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => l.split(" "))
    : [];
  const e2 = engines.find(([name]) => name === "e2");
  if (e2) {
    run("docker", ["context", "create", "e2", "--docker", `host=${e2[1]}`]);
    capture(outDir, "inspect-docker", plain, ["buildx", "inspect", "--bootstrap", "e2"]);
  } else if (only.length === 0 || only.some((o) => "inspect-docker".startsWith(o)))
    console.error("inspect-docker: skipped, no engine e2 (scripts/docker-up --engines 2)");
  run("docker", ["context", "create", "down", "--docker", `host=unix://${join(dockerConfig, "no-engine.sock")}`]);
  capture(outDir, "inspect-down", plain, ["buildx", "inspect", "--bootstrap", "down"]);
  capture(outDir, "inspect-missing", plain, ["buildx", "inspect", "--bootstrap", "nosuch"]);
  capture(outDir, "bake-cold", plain, [...rawjson, "--no-cache", "alpha-cuda12", "alpha-cuda12-dev"]);
  capture(outDir, "bake-warm", plain, [...rawjson, "alpha-cuda12", "alpha-cuda12-dev"]);
  const failedSince = new Date();
  capture(outDir, "bake-failed", failing, [...rawjson, "alpha-cuda12", "beta-cuda13-dev"]);
  captureHistory(outDir, failing, failedSince);
  // What buildx makes of bakeplan's override file, without building: --print after it.
  const override = `${JSON.stringify(
    {
      "//": "Generated by bakeplan for one build: settings of this run (branch, sha, version, registry, cache) over the committed docker-bake.json.",
      target: {
        "alpha-cuda12": {
          output: ["type=cacheonly"],
          "cache-to": [
            `type=registry,ref=${REGISTRY}/bakeplan-e2e/app-cache:alpha-cuda12-main,mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true`,
          ],
        },
      },
    },
    null,
    2,
  )}\n`;
  writeFileSync(join(plain, "override.json"), override);
  capture(
    outDir,
    "print-cache-warm",
    plain,
    [...bake, "-f", OVERRIDE, "--progress=rawjson", "--metadata-file", METADATA, "--print", "alpha-cuda12"],
    { override },
  );
  capture(outDir, "print-push", plain, [
    ...bake,
    "--builder",
    "default",
    "--progress=rawjson",
    "--metadata-file",
    METADATA,
    "--push",
    "--print",
    "alpha-cuda12",
  ]);
  capture(outDir, "lint-clean", plain, [...bake, "--call=check,format=json", "alpha-cuda12", "beta-cuda12"]);
  capture(outDir, "lint-findings", maintainer, [
    ...bake,
    "--call=check,format=json",
    "alpha-cuda12",
    "beta-cuda12",
    "beta-cuda12-dev",
    "beta-cuda13",
  ]);
  capture(outDir, "lint-unresolvable-base", plain, [
    ...bake,
    "--call=check,format=json",
    "--set",
    "alpha-cuda12.args.BASE_IMAGE=nope.invalid/x:1",
    "alpha-cuda12",
  ]);
} finally {
  removeImages();
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
  rmSync(dockerConfig, { recursive: true, force: true });
}
