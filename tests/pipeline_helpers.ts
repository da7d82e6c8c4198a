/**
 * What the tests that run experiments share: quiet run options under a temporary folder, and the
 * tiny experiment on the committed synthetic dataset that the command, task and Ctrl-C tests run.
 *
 * @module
 */
import type { RunOptions } from "../src/pipeline.ts";
import { FileModelStore } from "../src/store/model_store.ts";

/**
 * Options of a run that prints nothing and keeps everything under `root`: `results/`,
 * `models/` and `checkpoints/`.
 *
 * @param root a temporary folder
 * @param extra options to add or override
 * @returns the run options
 */
export function quietRun(root: string, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    resultsDir: `${root}/results`,
    store: new FileModelStore(`${root}/models`),
    checkpointDir: `${root}/checkpoints`,
    log: () => {},
    write: () => {},
    tty: false,
    ...extra,
  };
}

/** Options of {@linkcode tinySynthYaml}. */
export interface TinySynthOptions {
  /** Training tickers, SYN01 on (default 6). */
  train?: number;
  /** Eval tickers, after the training ones (default 3). */
  eval?: number;
  /** The `model:` value (default a 1×4 vanilla.small). */
  model?: string;
  /** The lines after `loss:` (default 2 epochs on wasm). */
  rest?: string;
}

/**
 * A tiny direction experiment on `synth-small`: price features, a small MLP, a few epochs.
 *
 * @param name the experiment's name
 * @param o tickers, model and the lines after `loss:`
 * @returns the YAML text
 */
export function tinySynthYaml(name: string, o: TinySynthOptions = {}): string {
  const train = o.train ?? 6;
  const tickers = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => `SYN${String(from + i).padStart(2, "0")}`).join(", ");
  return `name: ${name}
data:
  dataset: synth-small
  train_tickers: [${tickers(1, train)}]
  eval_tickers: [${tickers(train + 1, o.eval ?? 3)}]
features:
  families:
    price: { ma_windows: [7, 90], close: false }
label: { mode: direction }
model: ${o.model ?? "{ family: vanilla.small, size: 4, layers: 1 }"}
loss: { name: bce }
${o.rest ?? "train: { epochs: 2, backend: wasm }\n"}`;
}
