import type * as LiquidJS from "liquidjs";

let loaded: typeof LiquidJS | undefined;

/**
 * liquidjs, loaded on first use (only renders that need it do: a compiled template set never
 * loads it). A plain `require()`: the bundle resolves it to `dist/liquidjs.cjs`, a file of its own
 * that a run reads only when this is called (scripts/build-dist.mjs); under vitest it is Node's
 * require, which skips the ESM loader's scan of liquidjs's 200 KB for export names (~30 ms).
 */
export function liquidjs(): typeof LiquidJS {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy and synchronous: see above
  return (loaded ??= require("liquidjs") as typeof LiquidJS);
}
