// Image references as Docker reads them (distribution/reference `ParseNormalizedNamed`) and the
// registry API's media types: the pure half of `preflight` and `lock`.

export interface ImageRef {
  /** `docker.io`, `nvcr.io`, `127.0.0.1:5000` */
  registry: string;
  /** `library/ubuntu`, `nvidia/cuda` */
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-f0-9]{32,}$/;

/** Docker Hub naming: `ubuntu` is `docker.io/library/ubuntu:latest`. Undefined for a malformed reference. */
export function parseReference(ref: string): ImageRef | undefined {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) return undefined;
  }
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  let registry = "docker.io";
  let repository = rest;
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    repository = rest.slice(slash + 1);
  }
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = "docker.io";
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository))
    return undefined;
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository, tag, digest };
}

/** The fully qualified form, `docker.io/library/ubuntu:24.04`. */
export function canonical(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** Where the registry API of `registry` answers: Docker Hub's is not docker.io itself. */
export function apiHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

/** Loopback registries speak plain HTTP, as dockerd treats 127.0.0.0/8 as insecure by default. */
export function apiScheme(registry: string): "http" | "https" {
  const host = registry.replace(/:\d+$/, "");
  return host === "localhost" || /^127\./.test(host) || host === "[::1]" ? "http" : "https";
}

export const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
export const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
/** What a manifest request accepts: both index types first, so a registry answers with the index. */
export const MANIFEST_ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(", ");

export function manifestKind(mediaType: string | undefined): "index" | "manifest" | undefined {
  const type = mediaType?.split(";")[0]?.trim();
  if (type && INDEX_TYPES.includes(type)) return "index";
  if (type && MANIFEST_TYPES.includes(type)) return "manifest";
  return undefined;
}

export interface IndexEntry {
  platform: string;
  digest: string;
}

interface Descriptor {
  digest?: unknown;
  mediaType?: unknown;
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
}

/** The platform manifests of an index (attestation entries, `unknown/unknown`, left out). */
export function indexPlatforms(index: unknown): IndexEntry[] {
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) return [];
  const out: IndexEntry[] = [];
  for (const m of manifests as Descriptor[]) {
    const p = m.platform;
    if (typeof m.digest !== "string" || !p || typeof p.os !== "string" || typeof p.architecture !== "string") continue;
    if (p.os === "unknown" || p.architecture === "unknown") continue;
    out.push({ platform: platformString(p.os, p.architecture, p.variant), digest: m.digest });
  }
  return out;
}

export function platformString(os: string, architecture: string, variant?: unknown): string {
  return `${os}/${architecture}${typeof variant === "string" && variant !== "" ? `/${variant}` : ""}`;
}

/**
 * The entry that serves `wanted` (`linux/arm64`): same os and architecture, and the variant when
 * one is asked for (containerd's default: arm64 is v8).
 */
export function findPlatform(entries: readonly IndexEntry[], wanted: string): IndexEntry | undefined {
  const [os, arch, variant] = wanted.split("/");
  const norm = (a: string, v: string | undefined) =>
    a === "arm64" && (v === undefined || v === "v8") ? "" : (v ?? "");
  return entries.find((e) => {
    const [eo, ea, ev] = e.platform.split("/");
    if (eo !== os || ea !== arch) return false;
    return variant === undefined || norm(ea!, ev) === norm(arch!, variant);
  });
}

/** `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` */
export function parseChallenge(header: string | null): { scheme: string; params: Record<string, string> } | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
    params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? "";
  return { scheme: m[1]!.toLowerCase(), params };
}
