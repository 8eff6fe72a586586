import type * as LiquidJS from "liquidjs";

let loaded: typeof LiquidJS | undefined;

/**
 * liquidjs, loaded on first use (only renders that need it do: a compiled template set never
 * loads it). A plain `require()`: in the bundle (scripts/build-dist.mjs) esbuild turns it into a
 * call of the bundled CommonJS module, run the first time this is called; under vitest it is
 * Node's own require, which skips the ESM loader's scan of liquidjs's 200 KB for export names
 * (~30 ms).
 */
export function liquidjs(): typeof LiquidJS {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy and synchronous: see above
  return (loaded ??= require("liquidjs") as typeof LiquidJS);
}
