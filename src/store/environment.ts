/**
 * What a run ran on: versions, git commit, host. Recorded in every run record
 * so a result can be reproduced.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import denoJson from "../../deno.json" with { type: "json" };
import type { RunEnvironment } from "../record/mod.ts";

/** The version pinned in `deno.json` for an npm import, e.g. `0.25.2` for `nodejs-polars`. */
export function pinnedVersion(name: string): string {
  const spec = (denoJson.imports as Record<string, string>)[name];
  const match = spec?.match(/@([^@/]+)$/);
  return match ? match[1] : "unknown";
}

/** Alfred's own version (from `deno.json`). */
export const ALFRED_VERSION: string = denoJson.version;

/**
 * The git commit of the working tree and whether it has uncommitted changes.
 * Outside a git checkout (or without `--allow-run=git`) the commit is null.
 *
 * @param cwd the folder to ask (default: the current one)
 * @returns commit and dirty flag
 */
export async function gitState(cwd?: string): Promise<{ commit: string | null; dirty: boolean }> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "null" })
      .output();
    if (!out.success) throw new Error(`git ${args.join(" ")} failed`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  try {
    const commit = await git("rev-parse", "HEAD");
    const status = await git("status", "--porcelain", "--untracked-files=no");
    return { commit, dirty: status.length > 0 };
  } catch {
    return { commit: null, dirty: false };
  }
}

/**
 * The environment part of a run record.
 *
 * @param backend the tfjs backend that ran
 * @param device the device it ran on (adapter name for WebGPU)
 * @returns versions, git state, host and platform
 */
export async function captureEnvironment(
  backend: string,
  device: string,
): Promise<RunEnvironment> {
  let host = "unknown";
  try {
    host = Deno.hostname();
  } catch {
    // no --allow-sys: the host stays unknown
  }
  return {
    backend,
    device,
    versions: {
      deno: Deno.version.deno,
      tfjs: tf.version.tfjs,
      polars: pinnedVersion("nodejs-polars"),
      alfred: ALFRED_VERSION,
    },
    git: await gitState(),
    host,
    platform: `${Deno.build.os} ${Deno.build.arch}`,
  };
}
