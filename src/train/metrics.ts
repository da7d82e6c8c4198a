/**
 * Evaluation metrics, computed on the host in float64.
 *
 * Direction (classification, label PQ in {0, 1}, prediction a probability):
 * BCE loss, accuracy, precision, recall, F1 and the confusion matrix.
 * Magnitude (regression, label PM a fractional return): MSE (the loss),
 * MAE, R², Pearson, sign accuracy, and the cross-sectional information
 * coefficient per quarter (IC: Pearson between prediction and realized
 * return over the names of one quarter; Rank IC: Spearman) summarized as
 * mean, standard deviation and ICIR = mean / std.
 *
 * Edge cases are defined rather than left to produce NaN: a ratio whose
 * denominator is zero (no predicted positives, no actual positives, constant
 * predictions or labels) is 0 for precision/recall/F1 or `null` for
 * correlations and R², and a note says why.
 *
 * @module
 */
import { pearson, spearman } from "@alfred/core";

/** The warning the notes print when a model that was never trained is evaluated. */
export const UNTRAINED_MODEL_WARNING =
  "WARNING: You are evaluating an empty model. This model was unknown to the system.";

/** Probabilities are clipped to [EPS, 1 - EPS] in the BCE loss (Keras's epsilon). */
export const BCE_EPSILON = 1e-7;

/** Counts of the confusion matrix (positive = label 1 / predicted probability above threshold). */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Direction metrics. */
export interface ClassificationMetrics {
  n: number;
  threshold: number;
  /** Binary cross-entropy of the probabilities (clipped to [1e-7, 1 - 1e-7]). */
  loss: number;
  accuracy: number;
  /** tp / (tp + fp); 0 with a note when nothing is predicted positive. */
  precision: number;
  /** tp / (tp + fn); 0 with a note when there are no actual positives. */
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
  confusion: Confusion;
  /** Share of rows whose label is 1 (the majority-class baseline's accuracy is max(p, 1 - p)). */
  positiveRate: number;
  notes: string[];
}

/** Mean, standard deviation (sample, n - 1) and ICIR of per-quarter coefficients. */
export interface IcSummary {
  mean: number | null;
  std: number | null;
  /** mean / std; `null` when fewer than two quarters or std is 0. */
  icir: number | null;
  /** Quarters whose coefficient is defined and enters the summary. */
  quarters: number;
}

/** One quarter's cross-sectional coefficients. */
export interface QuarterIc {
  quarter: string;
  /** Pearson; `null` when predictions or labels are constant within the quarter. */
  ic: number | null;
  /** Spearman (average ranks for ties); `null` when either side is constant. */
  rankIc: number | null;
  n: number;
}

/** Magnitude metrics. */
export interface RegressionMetrics {
  n: number;
  /** The MSE (the loss the notes report). */
  loss: number;
  mse: number;
  mae: number;
  /** 1 - SSres / SStot; `null` when the labels are constant. */
  r2: number | null;
  /** `null` when predictions or labels are constant. */
  pearson: number | null;
  /** Share of rows where (prediction > 0) equals (label > 0): a zero return counts as "not up", as in the PQ label. */
  signAccuracy: number;
  /** `null` when no quarters were given. */
  ic:
    | (IcSummary & {
      perQuarter: QuarterIc[];
      /** Quarters left out because they have fewer than 3 names. */
      skipped: number;
    })
    | null;
  rankIc: IcSummary | null;
  notes: string[];
}

function checkLengths(yTrue: ArrayLike<number>, pred: ArrayLike<number>, what: string): void {
  if (yTrue.length !== pred.length) {
    throw new RangeError(
      `Length mismatch: ${yTrue.length} labels but ${pred.length} ${what}`,
    );
  }
  if (yTrue.length === 0) throw new RangeError("Cannot compute metrics: no rows");
}

/**
 * Direction metrics for probabilities against 0/1 labels.
 *
 * @param yTrue labels, each 0 or 1
 * @param prob predicted probability of label 1, per row
 * @param threshold a row is predicted positive when its probability is above this (default 0.5)
 * @returns loss, accuracy, precision, recall, F1, confusion counts and notes
 * @throws {RangeError} on length mismatch, no rows, or a label other than 0/1 (naming the row)
 * @example
 * ```ts
 * classificationMetrics(Float32Array.of(1, 0), Float32Array.of(0.9, 0.2)).accuracy; // 1
 * ```
 */
export function classificationMetrics(
  yTrue: ArrayLike<number>,
  prob: ArrayLike<number>,
  threshold = 0.5,
): ClassificationMetrics {
  checkLengths(yTrue, prob, "probabilities");
  const n = yTrue.length;
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  let lossSum = 0;
  let nonFinite = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    if (y !== 0 && y !== 1) {
      throw new RangeError(`Invalid direction label at row ${i}: "${y}", expected 0 or 1`);
    }
    const raw = prob[i];
    if (!Number.isFinite(raw)) nonFinite++;
    const p = Math.min(1 - BCE_EPSILON, Math.max(BCE_EPSILON, raw));
    lossSum += y === 1 ? -Math.log(p) : -Math.log(1 - p);
    const positive = raw > threshold;
    if (positive) {
      if (y === 1) c.tp++;
      else c.fp++;
    } else if (y === 1) c.fn++;
    else c.tn++;
  }
  const notes: string[] = [];
  if (nonFinite > 0) notes.push(`${nonFinite} predictions are not finite numbers`);
  let precision = 0;
  if (c.tp + c.fp === 0) notes.push("no positive predictions: precision set to 0");
  else precision = c.tp / (c.tp + c.fp);
  let recall = 0;
  if (c.tp + c.fn === 0) notes.push("no positive labels: recall set to 0");
  else recall = c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    n,
    threshold,
    loss: lossSum / n,
    accuracy: (c.tp + c.tn) / n,
    precision,
    recall,
    f1,
    confusion: c,
    positiveRate: (c.tp + c.fn) / n,
    notes,
  };
}

function isConstant(v: ArrayLike<number>): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

function summarize(values: (number | null)[]): IcSummary {
  const v = values.filter((x): x is number => x !== null);
  if (v.length === 0) return { mean: null, std: null, icir: null, quarters: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  if (v.length < 2) return { mean, std: null, icir: null, quarters: v.length };
  const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1));
  return { mean, std, icir: std > 0 ? mean / std : null, quarters: v.length };
}

/**
 * Magnitude metrics for predicted against realized returns.
 *
 * @param yTrue realized labels (fractional returns)
 * @param yPred predictions
 * @param quarters the quarter (`YYYYQn`) of each row, for the cross-sectional IC; quarters with
 *   fewer than 3 names are skipped and counted
 * @returns loss (MSE), MSE, MAE, R², Pearson, sign accuracy, IC and Rank IC, notes
 * @throws {RangeError} on length mismatch or no rows
 * @example
 * ```ts
 * const m = regressionMetrics(y, pred, rowsQuarter);
 * console.log(m.ic?.mean, m.ic?.icir);
 * ```
 */
export function regressionMetrics(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  quarters?: readonly string[],
): RegressionMetrics {
  checkLengths(yTrue, yPred, "predictions");
  const n = yTrue.length;
  if (quarters && quarters.length !== n) {
    throw new RangeError(`Length mismatch: ${n} labels but ${quarters.length} quarters`);
  }
  let se = 0;
  let ae = 0;
  let mean = 0;
  let signHits = 0;
  for (let i = 0; i < n; i++) {
    const d = yPred[i] - yTrue[i];
    se += d * d;
    ae += Math.abs(d);
    mean += yTrue[i];
    if ((yPred[i] > 0) === (yTrue[i] > 0)) signHits++;
  }
  mean /= n;
  let ssTot = 0;
  for (let i = 0; i < n; i++) ssTot += (yTrue[i] - mean) ** 2;
  const notes: string[] = [];
  const r = pearson(yTrue, yPred);
  if (r === null) notes.push("predictions or labels are constant: pearson is undefined (null)");
  let r2: number | null = null;
  if (!isConstant(yTrue) && ssTot > 0) r2 = 1 - se / ssTot;
  else notes.push("labels are constant: r2 is undefined (null)");

  let ic: RegressionMetrics["ic"] = null;
  let rankIc: IcSummary | null = null;
  if (quarters) {
    const byQuarter = new Map<string, number[]>();
    quarters.forEach((q, i) => {
      const list = byQuarter.get(q);
      if (list) list.push(i);
      else byQuarter.set(q, [i]);
    });
    const perQuarter: QuarterIc[] = [];
    let skipped = 0;
    for (const q of [...byQuarter.keys()].sort()) {
      const rows = byQuarter.get(q)!;
      if (rows.length < 3) {
        skipped++;
        continue;
      }
      const t = rows.map((i) => yTrue[i]);
      const p = rows.map((i) => yPred[i]);
      perQuarter.push({ quarter: q, ic: pearson(p, t), rankIc: spearman(p, t), n: rows.length });
    }
    if (skipped > 0) notes.push(`${skipped} quarters with fewer than 3 names skipped in the IC`);
    const undefinedIc = perQuarter.filter((q) => q.ic === null).length;
    if (undefinedIc > 0) {
      notes.push(`${undefinedIc} quarters with constant predictions or labels have no IC`);
    }
    ic = { ...summarize(perQuarter.map((q) => q.ic)), perQuarter, skipped };
    rankIc = summarize(perQuarter.map((q) => q.rankIc));
  }
  return {
    n,
    loss: se / n,
    mse: se / n,
    mae: ae / n,
    r2,
    pearson: r,
    signAccuracy: signHits / n,
    ic,
    rankIc,
    notes,
  };
}

/** Metrics of one group of rows (e.g. one eval ticker). */
export interface GroupMetrics<M> {
  group: string;
  n: number;
  metrics: M;
}

/**
 * Metrics per group of rows, e.g. per eval ticker, groups in sorted order.
 *
 * @param mode "direction" for {@link classificationMetrics}, "magnitude" for {@link regressionMetrics}
 * @param yTrue labels
 * @param pred predictions (probabilities for direction)
 * @param groups the group (ticker) of each row
 * @param options `quarters` of each row (magnitude IC within the group's rows, which for one
 *   ticker has a single name per quarter and is therefore skipped), `threshold` for direction
 * @returns one entry per group
 * @throws {RangeError} on length mismatch
 * @example
 * ```ts
 * for (const g of metricsByGroup("direction", y, prob, tickers)) console.log(g.group, g.metrics.f1);
 * ```
 */
export function metricsByGroup(
  mode: "direction",
  yTrue: ArrayLike<number>,
  pred: ArrayLike<number>,
  groups: readonly string[],
  options?: { threshold?: number },
): GroupMetrics<ClassificationMetrics>[];
export function metricsByGroup(
  mode: "magnitude",
  yTrue: ArrayLike<number>,
  pred: ArrayLike<number>,
  groups: readonly string[],
  options?: { quarters?: readonly string[] },
): GroupMetrics<RegressionMetrics>[];
export function metricsByGroup(
  mode: "direction" | "magnitude",
  yTrue: ArrayLike<number>,
  pred: ArrayLike<number>,
  groups: readonly string[],
  options: { threshold?: number; quarters?: readonly string[] } = {},
): GroupMetrics<ClassificationMetrics | RegressionMetrics>[] {
  checkLengths(yTrue, pred, "predictions");
  if (groups.length !== yTrue.length) {
    throw new RangeError(`Length mismatch: ${yTrue.length} labels but ${groups.length} groups`);
  }
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = byGroup.get(g);
    if (list) list.push(i);
    else byGroup.set(g, [i]);
  });
  return [...byGroup.keys()].sort().map((group) => {
    const rows = byGroup.get(group)!;
    const t = Float64Array.from(rows, (i) => yTrue[i]);
    const p = Float64Array.from(rows, (i) => pred[i]);
    const metrics = mode === "direction"
      ? classificationMetrics(t, p, options.threshold ?? 0.5)
      : regressionMetrics(
        t,
        p,
        options.quarters ? rows.map((i) => options.quarters![i]) : undefined,
      );
    return { group, n: rows.length, metrics };
  });
}
