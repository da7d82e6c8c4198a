/**
 * Secrets never leave the process in text: every message, log line, table, job record and error
 * Alfred prints or stores passes through {@linkcode redact}, the one function that hides them.
 *
 * It hides three kinds of secret:
 *
 * - the password in a URL's user info (`redis://:PW@host`, `mongodb://user:PW@host`,
 *   `https://user:PW@host`): kept as `user:***@`; user info without a colon may be a token
 *   (`https://TOKEN@host`) and becomes `***@`;
 * - the value of query parameters named like credentials (`apikey=`, `api_key=`, `token=`,
 *   `password=`, `secret=`, …): `apikey=***`;
 * - secrets known by value, wherever they appear (plain or URL-encoded): those registered with
 *   {@linkcode registerSecret} or {@linkcode registerUrlSecrets} (a connection's password, an API
 *   key), those passed to the call, and environment variables named like credentials
 *   (`ALPHAVANTAGE_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, and the passwords inside
 *   `*_URL` / `*_URI` values).
 *
 * @module
 */

const MASK = "***";

/** Secrets shorter than this are not matched by value (they would garble ordinary words). */
const MIN_SECRET_LENGTH = 4;
/** Values of credential-like environment variables shorter than this are taken for flags. */
const MIN_ENV_SECRET_LENGTH = 6;

/** `scheme://userinfo@`: the user info runs up to the last `@` before the path. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>`]*)@/gi;

/** Query or form parameters whose value is a credential. */
const SECRET_PARAMS =
  "apikey|api_key|api-key|access_key|access_token|auth|auth_token|client_secret|crumb|key|" +
  "passwd|password|pwd|secret|sig|signature|token";
const SECRET_PARAM = new RegExp(`([?&;](?:${SECRET_PARAMS})=)([^&#\\s"'<>\`]*)`, "gi");

/** Environment variables whose value is a credential. */
const SECRET_ENV_NAME = /(API_?KEY|ACCESS_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL)/i;
/** Environment variables whose value may be a URL with a password in it. */
const URL_ENV_NAME = /(URL|URI|DSN)$/i;

const registered = new Set<string>();
let envScanned = false;

/**
 * Remember a secret so that every later {@linkcode redact} hides it wherever it appears.
 * Values shorter than 4 characters are ignored (they cannot be told from ordinary text; a URL's
 * password is still hidden by its position).
 *
 * @param secret the secret (a password, an API key)
 * @example
 * ```ts
 * registerSecret(Deno.env.get("ALPHAVANTAGE_API_KEY") ?? "");
 * ```
 */
export function registerSecret(secret: string | undefined | null): void {
  if (secret && secret.length >= MIN_SECRET_LENGTH && secret !== MASK) registered.add(secret);
}

/**
 * Remember the password (and a lone token) in a URL's user info, so that error messages that
 * quote it without the URL around it are redacted too.
 *
 * @param url a URL, maybe with `user:password@`
 * @example
 * ```ts
 * registerUrlSecrets("redis://:s3cret@queue:6379"); // redact("AUTH s3cret") === "AUTH ***"
 * ```
 */
export function registerUrlSecrets(url: string): void {
  for (const m of url.matchAll(URL_USERINFO)) {
    const info = m[2];
    const colon = info.indexOf(":");
    const secret = colon >= 0 ? info.slice(colon + 1) : info;
    registerSecret(secret);
    try {
      registerSecret(decodeURIComponent(secret));
    } catch { /* not percent-encoded */ }
  }
}

function envGranted(variable?: string): boolean {
  try {
    const desc = variable === undefined ? { name: "env" as const } : {
      name: "env" as const,
      variable,
    };
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/** Register the credentials found in the environment (once; only with env permission). */
function scanEnvironment(): void {
  if (envScanned) return;
  envScanned = true;
  let vars: Record<string, string>;
  if (envGranted()) {
    vars = Deno.env.toObject();
  } else {
    vars = {};
    for (const name of ["ALPHAVANTAGE_API_KEY", "MONGODB_URI", "ALFRED_TEST_REDIS_URL"]) {
      if (envGranted(name)) vars[name] = Deno.env.get(name) ?? "";
    }
  }
  for (const [name, value] of Object.entries(vars)) {
    if (SECRET_ENV_NAME.test(name) && value.length >= MIN_ENV_SECRET_LENGTH) registerSecret(value);
    else if (URL_ENV_NAME.test(name)) registerUrlSecrets(value);
  }
}

function maskValue(text: string, secret: string): string {
  let out = text.split(secret).join(MASK);
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) out = out.split(encoded).join(MASK);
  return out;
}

/**
 * Hide every secret in a text: URL passwords, credential query parameters, registered and
 * environment secrets, and `secrets` given here. Idempotent: redacting twice changes nothing more.
 *
 * @param text any text: a message, a log line, a URL, an error's stack, a payload
 * @param secrets more secrets to hide by value (e.g. an API key held by the caller)
 * @returns the text with each secret replaced by `***`
 * @example
 * ```ts
 * redact('Cannot reach Redis at "redis://:hunter22@db:6379"');
 * // 'Cannot reach Redis at "redis://:***@db:6379"'
 * redact("GET https://www.alphavantage.co/query?function=EARNINGS&apikey=ABCD1234");
 * // "GET https://www.alphavantage.co/query?function=EARNINGS&apikey=***"
 * ```
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  scanEnvironment();
  let out = String(text);
  // Longest first, so a secret that contains another is hidden whole.
  const known = [...registered, ...secrets.filter((s) => s && s.length >= MIN_SECRET_LENGTH)]
    .sort((a, b) => b.length - a.length);
  for (const s of known) out = maskValue(out, s);
  out = out.replace(URL_USERINFO, (_all, scheme: string, info: string) => {
    const colon = info.indexOf(":");
    return colon >= 0 ? `${scheme}${info.slice(0, colon)}:${MASK}@` : `${scheme}${MASK}@`;
  });
  return out.replace(SECRET_PARAM, (_all, name: string) => `${name}${MASK}`);
}

/**
 * The message of a thrown value, redacted: what a printer or a job record may show.
 *
 * @param error anything thrown
 * @returns its message (`String(error)` for non-errors) with every secret hidden
 */
export function redactError(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

/**
 * Wrap a console so that everything it prints is redacted: each of `log`, `info`, `warn`, `error`
 * and `debug` formats its arguments as the console would (strings as they are, other values
 * inspected) and prints {@linkcode redact} of the line. The command line installs it once, so
 * that no printer, Alfred's or a library's, can print a secret.
 *
 * @param target the console to wrap (default: the global one)
 * @returns a function that restores the original methods
 */
export function redactConsole(target: Console = console): () => void {
  const methods = ["log", "info", "warn", "error", "debug"] as const;
  const originals = methods.map((m) => target[m]);
  methods.forEach((m, i) => {
    const original = originals[i];
    target[m] = (...args: unknown[]) => {
      if (args.length === 1 && typeof args[0] === "string") return original(redact(args[0]));
      const text = args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" ");
      original(redact(text));
    };
  });
  return () => methods.forEach((m, i) => (target[m] = originals[i]));
}
