// Build-time platform ARGs are set by BuildKit per platform; declaring one with a value
// (or at global scope) shadows the automatic value. https://docs.docker.com/build/building/variables/#multi-platform-build-arguments
export const AUTOMATIC_ARGS = new Set([
  "TARGETPLATFORM",
  "TARGETOS",
  "TARGETARCH",
  "TARGETVARIANT",
  "BUILDPLATFORM",
  "BUILDOS",
  "BUILDARCH",
  "BUILDVARIANT",
]);
