// The registry client against a small HTTP registry on 127.0.0.1 (in-process, so each request is
// seen): the Accept types of every manifest request, the timeout and its one retry, the bounded
// concurrency of the look-ups, and credentials from a `credsStore` helper on PATH.
import { createHash } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CredentialStore } from "../../src/io/credentials.js";
import { mapConcurrent, RegistryClient } from "../../src/io/registry.js";
import { testdir } from "../helpers.js";

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
const INDEX = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: `sha256:${"a".repeat(64)}`,
        size: 1,
        platform: { os: "linux", architecture: "amd64" },
      },
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: `sha256:${"b".repeat(64)}`,
        size: 1,
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      },
    ],
  }),
);
const INDEX_DIGEST = `sha256:${createHash("sha256").update(INDEX).digest("hex")}`;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A registry on 127.0.0.1 with `handler`; its host:port. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function answerIndex(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "content-type": OCI_INDEX, "docker-content-digest": INDEX_DIGEST });
  res.end(req.method === "HEAD" ? undefined : INDEX);
}

const client = (timeoutMs = 5_000, credentials = new CredentialStore(join(testdir(), "config.json"))) =>
  new RegistryClient({ credentials, timeoutMs });

describe("RegistryClient", () => {
  it("asks HEAD, then GET by digest, each accepting the OCI and Docker index and manifest types", async () => {
    const seen: { method: string; url: string; accept: string[] }[] = [];
    const host = await serve((req, res) => {
      seen.push({
        method: req.method!,
        url: req.url!,
        accept: String(req.headers.accept)
          .split(",")
          .map((t) => t.trim()),
      });
      answerIndex(req, res);
    });
    const found = await client().resolve(`${host}/demo/base:1`);
    expect(found).toEqual({
      digest: INDEX_DIGEST,
      mediaType: OCI_INDEX,
      platforms: [
        { platform: "linux/amd64", digest: `sha256:${"a".repeat(64)}` },
        { platform: "linux/arm64/v8", digest: `sha256:${"b".repeat(64)}` },
      ],
      via: "registry",
    });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "HEAD /v2/demo/base/manifests/1",
      `GET /v2/demo/base/manifests/${INDEX_DIGEST}`,
    ]);
    for (const s of seen) expect([...s.accept].sort()).toEqual([...TYPES].sort());
  });

  it("a registry that does not answer: the timeout, tried twice, and the message says so", async () => {
    let requests = 0;
    const host = await serve(() => {
      requests++; // never answered
    });
    const found = await client(150).resolve(`${host}/demo/base:1`);
    expect(found).toEqual({ failure: `registry ${host} did not answer within 0.15 s (tried twice)` });
    expect(requests).toBe(2);
  });

  it("credentials from the credsStore helper (docker-credential-<name> on PATH) answer the registry's Basic challenge", async () => {
    const basic = `Basic ${Buffer.from("robot:s3cret").toString("base64")}`;
    const host = await serve((req, res) => {
      if (req.headers.authorization !== basic) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="test"' });
        res.end();
        return;
      }
      answerIndex(req, res);
    });
    const bin = testdir();
    const helper = join(bin, "docker-credential-teststore");
    writeFileSync(
      helper,
      `#!/bin/sh\nread server\n[ "$server" = "${host}" ] || exit 1\necho '{"ServerURL":"'"$server"'","Username":"robot","Secret":"s3cret"}'\n`,
    );
    chmodSync(helper, 0o755);
    const config = join(testdir({ "config.json": JSON.stringify({ credsStore: "teststore" }) }), "config.json");
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? ""}`;
    try {
      const store = new CredentialStore(config);
      expect(await store.get(host)).toEqual({
        username: "robot",
        password: "s3cret",
        from: "credential helper docker-credential-teststore",
      });
      expect(await client(5_000, store).resolve(`${host}/demo/base:1`)).toMatchObject({ digest: INDEX_DIGEST });
      // Without the helper: no credentials, and the registry says unauthorized.
      const none = await client().resolve(`${host}/demo/base:1`);
      expect(none).toMatchObject({ failure: expect.stringContaining(`unauthorized at ${host}`) as string });
    } finally {
      process.env.PATH = path;
    }
  });
});

describe("mapConcurrent", () => {
  it("runs at most `limit` at a time and keeps the input order", async () => {
    let running = 0;
    let most = 0;
    const out = await mapConcurrent([5, 1, 4, 2, 3, 0, 6, 7, 9, 8], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      // Later items finish first now and then: the result order is still the input's.
      await new Promise((r) => setImmediate(r));
      if (n % 2 === 0) await new Promise((r) => setImmediate(r));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0, 60, 70, 90, 80]);
    expect(most).toBe(3);
    expect(await mapConcurrent([], 8, () => Promise.resolve(1))).toEqual([]);
  });
});
