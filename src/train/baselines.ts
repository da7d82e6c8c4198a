/**
 * Baselines every report shows beside the model, computed on the same eval
 * rows and the same scaled features:
 *
 * - direction: the training positive rate as the probability of every row
 *   (the majority class, with a calibrated loss); momentum (1 when last
 *   quarter's move was up, else 0); L2-regularized logistic regression.
 * - magnitude: the training mean; momentum (last quarter's move as the
 *   prediction); ridge regression.
 *
 * The regularization strength of the linear models is chosen on the training
 * rows only, by 5-fold cross-validation over {@link REGULARIZATION_GRID}
 * (folds from a seeded shuffle, so the choice is deterministic), or fixed by
 * the caller. Penalties follow scikit-learn's conventions: ridge minimizes
 * `||y - Xw - b||² + α||w||²`, logistic minimizes
 * `Σ BCE + (λ/2)||w||²` (scikit-learn's `C = 1/λ`); the intercept is never
 * penalized. Logistic regression is fitted by Newton's method (IRLS) with
 * step halving, in float64, to convergence.
 *
 * @module
 */
import {
  type ClassificationMetrics,
  classificationMetrics,
  type RegressionMetrics,
  regressionMetrics,
} from "./metrics.ts";
import { checkMatrix, type Matrix, Prng } from "@alfred/core";

/** Regularization strengths tried by cross-validation. */
export const REGULARIZATION_GRID: readonly number[] = [0.01, 0.1, 1, 10, 100, 1000];

/** Folds of the cross-validation that picks the regularization strength. */
export const CV_FOLDS = 5;

/** Arguments of {@link baselines}. */
export interface BaselineArgs {
  mode: "direction" | "magnitude";
  /** Scaled training features (the model's training rows). */
  xTrain: Matrix;
  yTrain: ArrayLike<number>;
  /** Scaled eval features. */
  xEval: Matrix;
  yEval: ArrayLike<number>;
  /** Last quarter's move (fractional return) per eval row; NaN where unknown. */
  momentumEval: ArrayLike<number>;
  /** Quarter of each eval row, for the magnitude IC. */
  quartersEval?: readonly string[];
  /** Seeds the cross-validation folds. */
  seed: number;
  /** A fixed regularization strength instead of cross-validation. */
  regularization?: number;
}

/** One baseline's predictions and metrics. */
export interface BaselineResult<M> {
  name: "majority" | "mean" | "momentum" | "logistic" | "ridge";
  description: string;
  /** Probabilities (direction) or predicted returns (magnitude), one per eval row. */
  predictions: Float32Array;
  metrics: M;
  /** Fitted values: class rate, mean, chosen regularization, iterations, rows without momentum. */
  details: Record<string, number>;
}

/** A fitted linear model: `intercept + Σ weights[j] * x[j]`. */
export interface LinearFit {
  weights: Float64Array;
  intercept: number;
  /** Newton iterations (logistic) or 1 (ridge). */
  iterations: number;
}

/** Solve `A x = b` for symmetric positive definite `A` (n x n, row-major) by Cholesky. */
function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) {
          throw new RangeError(
            "Cannot fit the linear baseline: the system is not positive definite",
          );
        }
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/**
 * Ridge regression in closed form on the given rows: centre, solve
 * `(XcᵀXc + αI) w = Xcᵀyc`, intercept `ȳ - x̄ᵀw`.
 *
 * @param x features
 * @param y targets
 * @param alpha penalty on the weights (> 0)
 * @param rows rows to fit on (default all)
 * @returns weights and intercept
 */
export function fitRidge(
  x: Matrix,
  y: ArrayLike<number>,
  alpha: number,
  rows: Int32Array = allRows(x.rows),
): LinearFit {
  const d = x.cols;
  const n = rows.length;
  if (n === 0) throw new RangeError("Cannot fit ridge regression: no rows");
  const mx = new Float64Array(d);
  let my = 0;
  for (const r of rows) {
    for (let j = 0; j < d; j++) mx[j] += x.data[r * d + j];
    my += y[r];
  }
  for (let j = 0; j < d; j++) mx[j] /= n;
  my /= n;
  const a = new Float64Array(d * d);
  const b = new Float64Array(d);
  const xc = new Float64Array(d);
  for (const r of rows) {
    for (let j = 0; j < d; j++) xc[j] = x.data[r * d + j] - mx[j];
    const yc = y[r] - my;
    for (let j = 0; j < d; j++) {
      b[j] += xc[j] * yc;
      for (let k = 0; k <= j; k++) a[j * d + k] += xc[j] * xc[k];
    }
  }
  for (let j = 0; j < d; j++) {
    a[j * d + j] += alpha;
    for (let k = 0; k < j; k++) a[k * d + j] = a[j * d + k];
  }
  const w = solveSpd(a, b, d);
  let intercept = my;
  for (let j = 0; j < d; j++) intercept -= w[j] * mx[j];
  return { weights: w, intercept, iterations: 1 };
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Σ BCE(y, σ(z)) computed stably from the logits. */
function logLoss(y: number, z: number): number {
  // -[y log σ(z) + (1-y) log(1-σ(z))] = softplus(z) - y z
  const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  return softplus - y * z;
}

/**
 * L2-regularized logistic regression by Newton's method (IRLS) with step
 * halving: minimizes `Σ BCE + (λ/2)||w||²`, intercept unpenalized.
 *
 * @param x features
 * @param y labels in {0, 1}
 * @param lambda penalty on the weights (> 0)
 * @param rows rows to fit on (default all)
 * @param maxIterations Newton steps at most (default 100)
 * @returns weights, intercept and iterations used
 */
export function fitLogistic(
  x: Matrix,
  y: ArrayLike<number>,
  lambda: number,
  rows: Int32Array = allRows(x.rows),
  maxIterations = 100,
): LinearFit {
  const d = x.cols;
  const p = d + 1; // last parameter is the intercept
  if (rows.length === 0) throw new RangeError("Cannot fit logistic regression: no rows");
  const theta = new Float64Array(p);
  const z = new Float64Array(rows.length);
  const logits = (t: Float64Array) => {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      let s = t[d];
      for (let j = 0; j < d; j++) s += t[j] * x.data[r * d + j];
      z[i] = s;
    }
  };
  const objective = (t: Float64Array) => {
    logits(t);
    let f = 0;
    for (let i = 0; i < rows.length; i++) f += logLoss(y[rows[i]], z[i]);
    for (let j = 0; j < d; j++) f += 0.5 * lambda * t[j] * t[j];
    return f;
  };
  let f = objective(theta);
  let iterations = 0;
  const h = new Float64Array(p * p);
  const g = new Float64Array(p);
  const xi = new Float64Array(p);
  xi[d] = 1;
  for (; iterations < maxIterations; iterations++) {
    h.fill(0);
    g.fill(0);
    logits(theta);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      for (let j = 0; j < d; j++) xi[j] = x.data[r * d + j];
      const mu = sigmoid(z[i]);
      const resid = mu - y[r];
      const w = Math.max(mu * (1 - mu), 1e-12);
      for (let j = 0; j < p; j++) {
        g[j] += resid * xi[j];
        const wx = w * xi[j];
        for (let k = 0; k <= j; k++) h[j * p + k] += wx * xi[k];
      }
    }
    for (let j = 0; j < d; j++) {
      g[j] += lambda * theta[j];
      h[j * p + j] += lambda;
    }
    for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) h[k * p + j] = h[j * p + k];
    const step = solveSpd(h, g, p);
    let t = 1;
    let next = new Float64Array(p);
    let fNext = Infinity;
    for (let halvings = 0; halvings < 30; halvings++) {
      next = theta.map((v, j) => v - t * step[j]);
      fNext = objective(next);
      if (fNext <= f) break;
      t /= 2;
    }
    if (!(fNext <= f)) break; // no descent possible: at the optimum to machine precision
    const moved = step.reduce((m, s) => Math.max(m, Math.abs(t * s)), 0);
    theta.set(next);
    const improvement = f - fNext;
    f = fNext;
    if (moved < 1e-10 || improvement <= 1e-12 * Math.max(1, Math.abs(f))) {
      iterations++;
      break;
    }
  }
  return { weights: theta.slice(0, d), intercept: theta[d], iterations };
}

function linearPredict(fit: LinearFit, x: Matrix, logistic: boolean): Float32Array {
  const out = new Float32Array(x.rows);
  for (let r = 0; r < x.rows; r++) {
    let s = fit.intercept;
    for (let j = 0; j < x.cols; j++) s += fit.weights[j] * x.data[r * x.cols + j];
    out[r] = logistic ? sigmoid(s) : s;
  }
  return out;
}

/**
 * Pick the regularization strength by k-fold cross-validation on the
 * training rows (mean validation MSE for ridge, mean log loss for logistic).
 * Ties go to the stronger regularization.
 *
 * @param kind "ridge" or "logistic"
 * @param x training features
 * @param y training labels
 * @param seed seeds the fold assignment
 * @param grid strengths to try (default {@link REGULARIZATION_GRID})
 * @returns the chosen strength and each strength's CV score
 */
export function chooseRegularization(
  kind: "ridge" | "logistic",
  x: Matrix,
  y: ArrayLike<number>,
  seed: number,
  grid: readonly number[] = REGULARIZATION_GRID,
): { value: number; scores: { value: number; score: number }[] } {
  const n = x.rows;
  const k = Math.min(CV_FOLDS, n);
  if (k < 2) return { value: 1, scores: [] };
  const perm = new Prng(seed ^ 0x6a09e667).permutation(n);
  const fold = new Int32Array(n);
  perm.forEach((row, i) => (fold[row] = i % k));
  const foldRows: number[][] = Array.from({ length: k }, () => []);
  for (let r = 0; r < n; r++) foldRows[fold[r]].push(r);
  const trainRowsOf = foldRows.map((valRows, f) => {
    const rows = new Int32Array(n - valRows.length);
    let t = 0;
    for (let r = 0; r < n; r++) if (fold[r] !== f) rows[t++] = r;
    return rows;
  });
  const scores = grid.map((value) => {
    let total = 0;
    for (let f = 0; f < k; f++) {
      const valRows = foldRows[f];
      const trainRows = trainRowsOf[f];
      const fit = kind === "ridge"
        ? fitRidge(x, y, value, trainRows)
        : fitLogistic(x, y, value, trainRows);
      let loss = 0;
      for (const r of valRows) {
        let s = fit.intercept;
        for (let j = 0; j < x.cols; j++) s += fit.weights[j] * x.data[r * x.cols + j];
        loss += kind === "ridge" ? (s - y[r]) ** 2 : logLoss(y[r], s);
      }
      total += loss / valRows.length;
    }
    return { value, score: total / k };
  });
  let best = scores[0];
  for (const s of scores) if (s.score <= best.score) best = s;
  return { value: best.value, scores };
}

/**
 * Compute the three baselines for one eval set.
 *
 * @param args mode, scaled train and eval features and labels, last quarter's move per eval
 *   row, eval quarters (magnitude IC), seed, optional fixed regularization
 * @returns the baselines in report order: majority/mean, momentum, logistic/ridge
 * @throws {RangeError} on inconsistent lengths, no training rows, or direction labels other than 0/1
 * @example
 * ```ts
 * const rows = baselines({ mode: "direction", xTrain, yTrain, xEval, yEval, momentumEval, seed: 42 });
 * for (const b of rows) console.log(b.name, b.metrics.accuracy);
 * ```
 */
export function baselines(
  args: BaselineArgs & { mode: "direction" },
): BaselineResult<ClassificationMetrics>[];
export function baselines(
  args: BaselineArgs & { mode: "magnitude" },
): BaselineResult<RegressionMetrics>[];
export function baselines(
  args: BaselineArgs,
): BaselineResult<ClassificationMetrics | RegressionMetrics>[];
export function baselines(
  args: BaselineArgs,
): BaselineResult<ClassificationMetrics | RegressionMetrics>[] {
  const { mode, xTrain, yTrain, xEval, yEval, momentumEval, quartersEval, seed } = args;
  checkMatrix("xTrain", xTrain, yTrain, "yTrain");
  checkMatrix("xEval", xEval, yEval, "yEval");
  if (xTrain.rows === 0) throw new RangeError("Cannot compute baselines: no training rows");
  if (xTrain.cols !== xEval.cols) {
    throw new RangeError(
      `Column count mismatch: "xTrain" has ${xTrain.cols} columns but "xEval" has ${xEval.cols}`,
    );
  }
  if (momentumEval.length !== xEval.rows) {
    throw new RangeError(
      `Length mismatch: ${momentumEval.length} momentum values but ${xEval.rows} eval rows`,
    );
  }
  if (args.regularization !== undefined && !(args.regularization > 0)) {
    throw new RangeError(`Invalid regularization "${args.regularization}": expected a number > 0`);
  }
  const n = xTrain.rows;
  const m = xEval.rows;
  let missing = 0;
  for (let i = 0; i < m; i++) if (!Number.isFinite(momentumEval[i])) missing++;
  // Last quarter's move made a prediction; rows without a previous quarter get `fallback`.
  const fromMomentum = (predict: (move: number) => number, fallback: number) =>
    Float32Array.from(
      { length: m },
      (_, i) => Number.isFinite(momentumEval[i]) ? predict(momentumEval[i]) : fallback,
    );
  // The linear baseline's penalty: the one given, or chosen by cross-validation on training rows.
  const penalty = (kind: "logistic" | "ridge") =>
    args.regularization !== undefined
      ? { value: args.regularization, scores: [] }
      : chooseRegularization(kind, xTrain, yTrain, seed);
  const penaltyNote = args.regularization !== undefined
    ? ", fixed"
    : `, ${CV_FOLDS}-fold CV on training rows`;
  const scored = <M>(metrics: (p: Float32Array) => M) =>
  (
    name: BaselineResult<M>["name"],
    description: string,
    predictions: Float32Array,
    details: Record<string, number>,
  ): BaselineResult<M> => ({
    name,
    description,
    predictions,
    metrics: metrics(predictions),
    details,
  });

  if (mode === "direction") {
    let positives = 0;
    for (let i = 0; i < n; i++) {
      if (yTrain[i] !== 0 && yTrain[i] !== 1) {
        throw new RangeError(`Invalid direction label at training row ${i}: "${yTrain[i]}"`);
      }
      positives += yTrain[i];
    }
    const rate = positives / n;
    const baseline = scored((p) => classificationMetrics(yEval, p));
    const chosen = penalty("logistic");
    const fit = fitLogistic(xTrain, yTrain, chosen.value);
    return [
      baseline(
        "majority",
        `training positive rate ${rate.toFixed(3)} as every row's probability (majority class ${
          rate > 0.5 ? 1 : 0
        })`,
        new Float32Array(m).fill(rate),
        { positiveRate: rate },
      ),
      baseline(
        "momentum",
        "1 when last quarter's move was up, else 0 (rows without a previous quarter get the training positive rate)",
        fromMomentum((move) => move > 0 ? 1 : 0, rate),
        { missing },
      ),
      baseline(
        "logistic",
        `L2 logistic regression on the scaled features (lambda ${chosen.value}${penaltyNote})`,
        linearPredict(fit, xEval, true),
        { lambda: chosen.value, iterations: fit.iterations },
      ),
    ];
  }

  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrain[i];
  mean /= n;
  const baseline = scored((p) => regressionMetrics(yEval, p, quartersEval));
  const chosen = penalty("ridge");
  const fit = fitRidge(xTrain, yTrain, chosen.value);
  return [
    baseline(
      "mean",
      `training mean ${mean.toFixed(5)} for every row`,
      new Float32Array(m).fill(mean),
      { mean },
    ),
    baseline(
      "momentum",
      "last quarter's move as the prediction (rows without a previous quarter get the training mean)",
      fromMomentum((move) => move, mean),
      { missing },
    ),
    baseline(
      "ridge",
      `ridge regression on the scaled features (alpha ${chosen.value}${penaltyNote})`,
      linearPredict(fit, xEval, false),
      { alpha: chosen.value },
    ),
  ];
}
