// preflight, lock and a locked bake against the real loopback registry: single- and
// multi-platform images pushed from local/busybox:1, a missing tag, a missing platform, an unknown
// repository, a registry that is down, a registry behind a token server (in-process), and a
// credential helper found on PATH.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testdir } from "../helpers.js";
import { describeWithDocker, REGISTRY } from "./docker.js";
import { bakeplan, deleteRepository, docker, localEnv, registry } from "./e2e.js";

const id = randomBytes(4).toString("hex");
const REPO = `bakeplan-pf-${id}/busybox`;
const OUT = `bakeplan-pf-${id}/out`;
const IMAGE = `${REGISTRY}/${REPO}`;

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

async function put(path: string, body: string | Buffer, type: string): Promise<void> {
  const res = await fetch(`http://${REGISTRY}${path}`, { method: "PUT", headers: { "content-type": type }, body });
  if (res.status >= 300) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

async function pushBlob(repo: string, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
  const start = await fetch(`http://${REGISTRY}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  const location = new URL(start.headers.get("location")!, `http://${REGISTRY}`);
  location.searchParams.set("digest", digest);
  const res = await fetch(location, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: data,
  });
  if (res.status !== 201) throw new Error(`blob upload: ${res.status}`);
  return digest;
}

/** The amd64 image manifest the push left (directly, or inside the index a containerd store pushes). */
async function amd64Manifest(tag: string): Promise<{ digest: string; manifest: Record<string, unknown> }> {
  let res = await registry(`/v2/${REPO}/manifests/${tag}`);
  let digest = res.headers.get("docker-content-digest")!;
  let body = JSON.parse(res.body) as { manifests?: { digest: string; platform?: { architecture: string } }[] };
  if (body.manifests) {
    digest = body.manifests.find((m) => m.platform?.architecture === "amd64")!.digest;
    res = await registry(`/v2/${REPO}/manifests/${digest}`);
    body = JSON.parse(res.body) as typeof body;
  }
  return { digest, manifest: body };
}

let singleDigest = "";
let multiDigest = "";

/** A project whose one target builds FROM `image` for `platforms`. */
function project(image: string, platforms: string[], extra = ""): string {
  return testdir({
    "context.yaml": `project:
  name: pf
axes:
  target:
    runtime: {}
stage_axis: target
defaults:
  platforms: [${platforms.join(", ")}]
  images:
    BASE_IMAGE: ${image}
publish:
  registry: ${REGISTRY}
  repository: ${OUT}
  tags: ["latest-{name}"]
${extra}`,
    "templates/Dockerfile.liquid": "{% arg BASE_IMAGE %}\nFROM ${BASE_IMAGE} AS runtime\nRUN echo ok > /ok.txt\n",
  });
}

/** A DOCKER_CONFIG with this config.json, so no test reads the user's. */
function dockerConfig(config: object): string {
  const dir = testdir({ "config.json": JSON.stringify(config) });
  return dir;
}

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // A developer's shell (not CI): bake plans these unplanned projects first, as the other bake tests do.
  return { ...localEnv(), DOCKER_CONFIG: dockerConfig({}), ...extra };
}

// A registry that wants a token: the token server checks Basic user:secret, the proxy in front
// of the loopback registry accepts only the token it handed out.
const TOKEN = `tok-${id}`;
let authServer: Server;
let authPort = 0;

function startAuthServer(): Promise<void> {
  authServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith("/token")) {
      const ok = req.headers.authorization === `Basic ${Buffer.from("user:secret").toString("base64")}`;
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(ok ? JSON.stringify({ token: TOKEN }) : "{}");
      return;
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, {
        "www-authenticate": `Bearer realm="http://127.0.0.1:${authPort}/token",service="pf-test",scope="repository:${REPO}:pull"`,
        "content-type": "application/json",
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    void fetch(`http://${REGISTRY}${req.url}`, {
      method: req.method,
      headers: { accept: String(req.headers.accept ?? "*/*") },
    }).then(async (up) => {
      const headers: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (k !== "content-length" && k !== "transfer-encoding") headers[k] = v;
      });
      const body = req.method === "HEAD" ? Buffer.alloc(0) : Buffer.from(await up.arrayBuffer());
      res.writeHead(up.status, headers);
      res.end(body);
    });
  });
  return new Promise((resolve) =>
    authServer.listen(0, "127.0.0.1", () => {
      authPort = (authServer.address() as AddressInfo).port;
      resolve();
    }),
  );
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describeWithDocker("engine", "preflight and lock against the loopback registry", () => {
  beforeAll(async () => {
    docker(["tag", "local/busybox:1", `${IMAGE}:single`]);
    docker(["push", "-q", `${IMAGE}:single`]);
    docker(["image", "rm", `${IMAGE}:single`]);
    // An arm64 twin of the pushed amd64 manifest (same layers, config saying arm64), and an OCI index of both.
    const amd = await amd64Manifest("single");
    const config = amd.manifest.config as { digest: string; size: number; mediaType: string };
    const configJson = JSON.parse((await registry(`/v2/${REPO}/blobs/${config.digest}`)).body) as Record<
      string,
      unknown
    >;
    const armConfig = Buffer.from(JSON.stringify({ ...configJson, architecture: "arm64", variant: "v8" }));
    const armConfigDigest = await pushBlob(REPO, armConfig);
    const armManifest = Buffer.from(
      JSON.stringify({ ...amd.manifest, config: { ...config, digest: armConfigDigest, size: armConfig.length } }),
    );
    const manifestType = typeof amd.manifest.mediaType === "string" ? amd.manifest.mediaType : OCI_MANIFEST;
    const armDigest = `sha256:${createHash("sha256").update(armManifest).digest("hex")}`;
    await put(`/v2/${REPO}/manifests/${armDigest}`, armManifest, manifestType);
    const amdSize = Buffer.byteLength((await registry(`/v2/${REPO}/manifests/${amd.digest}`)).body);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: manifestType,
            digest: amd.digest,
            size: amdSize,
            platform: { os: "linux", architecture: "amd64" },
          },
          {
            mediaType: manifestType,
            digest: armDigest,
            size: armManifest.length,
            platform: { os: "linux", architecture: "arm64", variant: "v8" },
          },
        ],
      }),
    );
    await put(`/v2/${REPO}/manifests/multi`, index, OCI_INDEX);
    multiDigest = `sha256:${createHash("sha256").update(index).digest("hex")}`;
    singleDigest = (await registry(`/v2/${REPO}/manifests/single`, "HEAD")).headers.get("docker-content-digest")!;
    await startAuthServer();
  });

  afterAll(() => {
    authServer?.close();
    deleteRepository(REPO);
    deleteRepository(OUT);
    for (const line of docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n"))
      if (line.startsWith(`${REGISTRY}/bakeplan-pf-${id}/`)) docker(["image", "rm", "--force", line]);
  });

  it("a single-platform and a multi-platform image are found, with their digests", async () => {
    const single = await bakeplan(["preflight"], { cwd: project(`${IMAGE}:single`, ["linux/amd64"]), env: env() });
    expect(single.code, single.stderr).toBe(0);
    expect(single.stdout).toContain(`${IMAGE}:single  ${singleDigest.slice(0, 19)}  linux/amd64 ✓  runtime`);
    const multi = await bakeplan(["preflight"], {
      cwd: project(`${IMAGE}:multi`, ["linux/amd64", "linux/arm64"]),
      env: env(),
    });
    expect(multi.code, multi.stderr).toBe(0);
    expect(multi.stdout).toContain(`${multiDigest.slice(0, 19)}  linux/amd64 ✓ linux/arm64 ✓`);
    expect(multi.stderr).toContain("preflight: 1 image found, every platform present");
  });

  it.each([
    {
      name: "a missing platform",
      image: () => `${IMAGE}:single`,
      platforms: ["linux/amd64", "linux/arm64"],
      message: () => `${IMAGE}:single: no linux/arm64 image (it has linux/amd64; needed by runtime for linux/arm64)`,
    },
    {
      name: "a missing tag",
      image: () => `${IMAGE}:nope`,
      platforms: ["linux/amd64"],
      message: () => `${IMAGE}:nope: tag "nope" not found in ${IMAGE} (needed by runtime)`,
    },
    {
      name: "an unknown repository",
      image: () => `${REGISTRY}/bakeplan-pf-${id}/nothing:1`,
      platforms: ["linux/amd64"],
      message: () => `repository ${REGISTRY}/bakeplan-pf-${id}/nothing not found (needed by runtime)`,
    },
    {
      name: "a registry that requires a token, without credentials",
      image: () => `127.0.0.1:${authPort}/${REPO}:single`,
      platforms: ["linux/amd64"],
      message: () => `unauthorized at 127.0.0.1:${authPort}: no credentials found for it`,
    },
  ])("$name: the precise message and exit 1", async ({ image, platforms, message }) => {
    const res = await bakeplan(["preflight"], { cwd: project(image(), platforms), env: env() });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("bakeplan: error: preflight: 1 image missing or unreachable; nothing was built:");
    expect(res.stderr).toContain(message());
  });

  it("a registry that is down: unreachable, after one retry", async () => {
    const port = await closedPort();
    const res = await bakeplan(["preflight", "--timeout", "2"], {
      cwd: project(`127.0.0.1:${port}/x/y:1`, ["linux/amd64"]),
      env: env(),
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `127.0.0.1:${port}/x/y:1: registry 127.0.0.1:${port} unreachable: connection refused (tried twice) (needed by runtime)`,
    );
  });

  it("the token flow with credentials from the Docker config file, and from a credential helper on PATH", async () => {
    const host = `127.0.0.1:${authPort}`;
    const dir = project(`${host}/${REPO}:single`, ["linux/amd64"]);
    const auths = { auths: { [host]: { auth: Buffer.from("user:secret").toString("base64") } } };
    const fromConfig = await bakeplan(["preflight"], { cwd: dir, env: env({ DOCKER_CONFIG: dockerConfig(auths) }) });
    expect(fromConfig.code, fromConfig.stderr).toBe(0);
    expect(fromConfig.stdout).toContain(`${host}/${REPO}:single  ${singleDigest.slice(0, 19)}`);

    const bin = testdir();
    mkdirSync(bin, { recursive: true });
    const helper = join(bin, "docker-credential-bakeplantest");
    writeFileSync(
      helper,
      `#!/bin/sh\nread server\n[ "$server" = "${host}" ] || exit 1\necho '{"ServerURL":"'"$server"'","Username":"user","Secret":"'"$SECRET"'"}'\n`,
    );
    chmodSync(helper, 0o755);
    const helperConfig = dockerConfig({ credHelpers: { [host]: "bakeplantest" } });
    const path = `${bin}:${process.env.PATH ?? ""}`;
    const viaHelper = await bakeplan(["preflight"], {
      cwd: dir,
      env: env({ DOCKER_CONFIG: helperConfig, PATH: path, SECRET: "secret" }),
    });
    expect(viaHelper.code, viaHelper.stderr).toBe(0);
    const wrong = await bakeplan(["preflight"], {
      cwd: dir,
      env: env({ DOCKER_CONFIG: helperConfig, PATH: path, SECRET: "wrong" }),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`unauthorized at ${host} with the credentials found`);
  });

  it("lock writes the digests; plan --locked pins them; check fails on a stale lock; buildx reads the annotations", async () => {
    const dir = project(`${IMAGE}:multi`, ["linux/amd64", "linux/arm64"]);
    const first = await bakeplan(["lock"], { cwd: dir, env: env() });
    expect(first.code, first.stderr).toBe(0);
    const text = readFileSync(join(dir, "bakeplan.lock.json"), "utf8");
    const lock = JSON.parse(text) as { images: Record<string, { digest: string; platforms: Record<string, string> }> };
    expect(lock.images[`${IMAGE}:multi`]!.digest).toBe(multiDigest);
    expect(Object.keys(lock.images[`${IMAGE}:multi`]!.platforms)).toEqual(["linux/amd64", "linux/arm64/v8"]);
    const again = await bakeplan(["lock"], { cwd: dir, env: env() });
    expect(again.stdout).toContain("0 resolved anew, 0 dropped (unchanged)");
    expect(readFileSync(join(dir, "bakeplan.lock.json"), "utf8")).toBe(text);

    const plan = await bakeplan(["plan", "--locked"], { cwd: dir, env: env() });
    expect(plan.code, plan.stderr).toBe(0);
    const pinnedRef = `${IMAGE}:multi@${multiDigest}`;
    expect(readFileSync(join(dir, "bake/Dockerfile.Dockerfile"), "utf8")).toContain(`ARG BASE_IMAGE=${pinnedRef}`);
    const printed = JSON.parse(
      execFileSync("docker", ["buildx", "bake", "--print", "-f", "docker-bake.json", "runtime"], {
        cwd: dir,
        encoding: "utf8",
      }),
    ) as { target: { runtime: { args: Record<string, string>; annotations: string[] } } };
    expect(printed.target.runtime.args.BASE_IMAGE).toBe(pinnedRef);
    expect(printed.target.runtime.annotations).toEqual([
      `manifest:org.opencontainers.image.base.name=${IMAGE}:multi`,
      `manifest[linux/amd64]:org.opencontainers.image.base.digest=${lock.images[`${IMAGE}:multi`]!.platforms["linux/amd64"]}`,
      `manifest[linux/arm64]:org.opencontainers.image.base.digest=${lock.images[`${IMAGE}:multi`]!.platforms["linux/arm64/v8"]}`,
    ]);
    const check = await bakeplan(["check", "--locked"], { cwd: dir, env: env() });
    expect(check.code, check.stderr).toBe(0);

    const yaml = readFileSync(join(dir, "context.yaml"), "utf8");
    writeFileSync(join(dir, "context.yaml"), yaml.replace(`${IMAGE}:multi`, `${IMAGE}:single`));
    const stale = await bakeplan(["check"], { cwd: dir, env: env() });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`bakeplan.lock.json has no entry for ${IMAGE}:single; run \`bakeplan lock\``);
    expect(stale.stderr).toContain(`bakeplan.lock.json pins ${IMAGE}:multi, which no target uses any more`);
    const locked = await bakeplan(["plan", "--locked"], { cwd: dir, env: env() });
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain(
      `BASE_IMAGE: the image ${IMAGE}:single is not in bakeplan.lock.json; run \`bakeplan lock\``,
    );
  });

  it("bake runs preflight first: a missing image fails before buildx builds anything", async () => {
    // build.network: none, so the builder check (an engine without a bridge) passes and the preflight speaks.
    const dir = project(`${IMAGE}:nope`, ["linux/amd64"], "build:\n  network: none\n");
    const res = await bakeplan(["bake", "runtime", "--load"], { cwd: dir, env: env() });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${IMAGE}:nope: tag "nope" not found in ${IMAGE}`);
    expect(res.stderr).not.toContain("[runtime");
  });

  it("a locked build pulls the base by digest and pushes an image that carries the base annotations", async () => {
    const dir = project(`${IMAGE}:single`, ["linux/amd64"], "build:\n  locked: true\n  network: none\n");
    expect((await bakeplan(["lock"], { cwd: dir, env: env() })).code).toBe(0);
    const res = await bakeplan(["bake", "runtime", "--push"], { cwd: dir, env: env() });
    expect(res.code, res.stderr).toBe(0);
    const index = JSON.parse((await registry(`/v2/${OUT}/manifests/latest-runtime`)).body) as {
      manifests?: { digest: string; platform?: { architecture: string } }[];
      annotations?: Record<string, string>;
    };
    const manifestDigest = index.manifests
      ? index.manifests.find((m) => m.platform?.architecture === "amd64")!.digest
      : "latest-runtime";
    const manifest = JSON.parse((await registry(`/v2/${OUT}/manifests/${manifestDigest}`)).body) as {
      annotations?: Record<string, string>;
    };
    expect(manifest.annotations?.["org.opencontainers.image.base.name"]).toBe(`${IMAGE}:single`);
    expect(manifest.annotations?.["org.opencontainers.image.base.digest"]).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
