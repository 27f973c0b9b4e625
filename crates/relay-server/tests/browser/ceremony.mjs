// The web page in Debian's Chromium (headless), driven by tests/web.rs against a real
// `mailrelay serve`. Environment: BASE_URL, TOKEN, MAIL_DIR (the next-hop sink's messages),
// OUT_DIR (downloads and result.json), SHOT_DIR (screenshots), CHROMIUM.
//
// It signs in, adds and verifies a mailbox (reading the code from the sink), creates an alias
// and toggles it, starts a thread and blocks/unblocks the contact, turns strict mode on, runs
// the ceremony (reviewing what the root signs), downloads every file, and takes screenshots of
// every page at 1280x800 and 390x844. It records what WebCrypto was asked to do (through an
// init script, outside the page's CSP) and every request body the page sent, for the Rust side
// to check that no private key left the page. Any console error or CSP violation fails it.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const BASE = env("BASE_URL");
const TOKEN = env("TOKEN");
const MAIL_DIR = env("MAIL_DIR");
const OUT = env("OUT_DIR");
const SHOTS = env("SHOT_DIR");
const MAILBOX = "alice@example.org";
const PAGES = ["mailboxes", "aliases", "contacts", "profiles", "ceremony", "settings"];

const problems = [];
const requests = [];

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

// Records generateKey/exportKey calls; runs before the page's scripts, in its world.
function recordCrypto() {
  const log = (window.__cryptoLog = []);
  const subtle = crypto.subtle;
  const gen = subtle.generateKey.bind(subtle);
  const exp = subtle.exportKey.bind(subtle);
  subtle.generateKey = async (alg, extractable, usages) => {
    const pair = await gen(alg, extractable, usages);
    log.push({ op: "generateKey", alg: alg.name, extractable, privateExtractable: pair.privateKey.extractable });
    return pair;
  };
  subtle.exportKey = async (format, key) => {
    log.push({ op: "exportKey", format, type: key.type, extractable: key.extractable });
    return exp(format, key);
  };
}

/** The TBSCertificate inside a PEM certificate (DER: SEQUENCE { tbs, alg, sig }). */
function tbsOf(pemText) {
  const der = Buffer.from(pemText.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  const hdr = (off) => (der[off + 1] & 0x80 ? 2 + (der[off + 1] & 0x7f) : 2);
  const len = (off) => {
    const b = der[off + 1];
    if (!(b & 0x80)) return b;
    let n = 0;
    for (let i = 0; i < (b & 0x7f); i++) n = n * 256 + der[off + 2 + i];
    return n;
  };
  const start = hdr(0);
  return der.subarray(start, start + hdr(start) + len(start));
}

async function newPage(browser, viewport) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  const page = await context.newPage();
  await page.addInitScript(recordCrypto);
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    if (r.method() !== "GET") requests.push({ method: r.method(), url: r.url(), body: r.postData() ?? "" });
  });
  page.on("dialog", (d) => d.accept());
  return page;
}

async function ready(page, name) {
  await page.waitForSelector(`body[data-ready="1"][data-page="${name}"]`, { timeout: 20000 });
}

async function go(page, name) {
  await page.evaluate((h) => (location.hash = h), `#${name}`);
  await ready(page, name);
}

async function status(page, pattern) {
  try {
    await page.waitForFunction((p) => new RegExp(p).test(document.getElementById("status").textContent), pattern.source, { timeout: 60000 });
  } catch (e) {
    const text = await page.locator("#status").textContent();
    throw new Error(`waiting for ${pattern} in the status line, which says ${JSON.stringify(text)}; problems: ${problems.join("; ")}`);
  }
}

async function signIn(page) {
  await page.goto(`${BASE}/app/`);
  await ready(page, "signin");
  await page.getByLabel("API token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await ready(page, "mailboxes");
}

async function verificationCode() {
  for (let i = 0; i < 100; i++) {
    for (const f of fs.existsSync(MAIL_DIR) ? fs.readdirSync(MAIL_DIR) : []) {
      const m = /verification code is: ([A-Za-z0-9-]+)/.exec(fs.readFileSync(path.join(MAIL_DIR, f), "utf8"));
      if (m) return m[1];
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("no verification code reached the sink");
}

async function shoot(page, name, tag) {
  await page.screenshot({ path: path.join(SHOTS, `${name}-${tag}.png`), fullPage: true });
}

async function flow(browser) {
  const page = await newPage(browser, { width: 1280, height: 800 });
  // The headers of the page itself.
  const resp = await page.goto(`${BASE}/app/`);
  const csp = resp.headers()["content-security-policy"] ?? "";
  check(csp.includes("script-src 'self' 'wasm-unsafe-eval'") && csp.includes("default-src 'none'"), `CSP: ${csp}`);
  check(resp.headers()["x-content-type-options"] === "nosniff", "nosniff");
  await ready(page, "signin");
  await shoot(page, "signin", "desktop");
  await signIn(page);

  // Mailboxes: add, verify with the code the sink received.
  await page.getByLabel("Address", { exact: true }).fill(MAILBOX);
  await page.getByRole("button", { name: "Add and send a code" }).click();
  await status(page, /code was sent/);
  await page.getByLabel(`Code mailed to ${MAILBOX}`).fill(await verificationCode());
  await page.getByRole("button", { name: "Verify", exact: true }).click();
  await status(page, /Mailbox verified/);
  await page.locator("#mailbox-list .badge.ok").first().waitFor();
  check(await page.locator("#mailbox-list .badge.ok").count() === 1, "mailbox shown as verified");
  // An app password for the submission port: shown once, listed by name, revoked.
  await page.getByLabel(`New app password for ${MAILBOX}`).fill("phone");
  await page.getByRole("button", { name: "Make app password" }).click();
  await status(page, /App password “phone” made/);
  const appPassword = (await page.locator("code.app-password").textContent()).trim();
  check(/^[0-9a-z]{5}(-[0-9a-z]{5}){3}$/.test(appPassword), `app password ${appPassword}`);
  await go(page, "aliases");
  await go(page, "mailboxes");
  await page.getByRole("button", { name: "Revoke phone" }).waitFor();
  check(!(await page.locator("#mailbox-list").textContent()).includes(appPassword), "the password is not listed");
  await page.getByRole("button", { name: "Revoke phone" }).click();
  await status(page, /App password “phone” revoked/);

  // Aliases: create, copy, disable, enable.
  await go(page, "aliases");
  await page.getByLabel("Prefix (optional)").fill("shop");
  await page.getByRole("button", { name: "Create alias" }).click();
  await status(page, /Created/);
  const alias = (await page.locator("#alias-list li strong").first().textContent()).trim();
  check(/^shop.*@pportal\.io$/.test(alias), `alias ${alias}`);
  await page.getByRole("button", { name: `Copy ${alias}` }).click();
  await status(page, /Copied/);
  // The name replies from the alias carry (the owner's own never leaves).
  await page.getByLabel(`Name on replies from ${alias}`).fill("Shop desk");
  await page.getByRole("button", { name: `Save name for ${alias}` }).click();
  await status(page, /show “Shop desk”/);
  check((await page.evaluate(() => navigator.clipboard.readText())) === alias, "copied to the clipboard");
  await page.getByRole("button", { name: "Disable" }).click();
  await status(page, /disabled/);
  await page.getByRole("button", { name: "Enable" }).click();
  await status(page, /enabled/);

  // Contacts: start a thread, block, unblock.
  await go(page, "contacts");
  await page.getByLabel("Their address").fill("bob@example.net");
  await page.getByLabel("Their name (optional)").fill("Bob");
  await page.getByRole("button", { name: "Get a reverse alias" }).click();
  await status(page, /Write to .*@pportal\.io/);
  const reverse = (await page.locator("#contact-list code").first().textContent()).trim();
  await page.getByRole("button", { name: "Block (drop)" }).click();
  await status(page, /blocked/);
  await page.getByRole("button", { name: "Unblock" }).click();
  await status(page, /unblocked/);

  // Settings: strict mode on.
  await go(page, "settings");
  await page.getByLabel(/Strict mode/).check();
  await page.getByRole("button", { name: "Save" }).click();
  await status(page, /Strict mode is on.*Replies must be signed/);
  // The spoofable envelope check is off by default, and can be turned on.
  if (await page.getByLabel(/unsigned replies/).isChecked()) throw new Error("check failed: reply_auth is strong by default");
  await page.getByLabel(/unsigned replies/).check();
  await page.getByRole("button", { name: "Save" }).click();
  await status(page, /Unsigned replies from your mailbox are sent/);
  await page.getByLabel(/unsigned replies/).uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await status(page, /Replies must be signed/);

  // A relay that sends something else than this user's intermediate (here: the end-entity
  // certificate's TBS) is refused before the root signs anything.
  await go(page, "ceremony");
  await page.route("**/api/profiles", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    const resp = await route.fetch();
    const body = await resp.json();
    body.intermediate_tbs = tbsOf(body.end_entity).toString("base64");
    await route.fulfill({ response: resp, json: body });
  });
  await page.getByRole("button", { name: "Make my keys and ask the relay" }).click();
  await status(page, /refused, nothing was signed/);
  check(await page.locator("#ceremony-review").isHidden(), "no review of a refused intermediate");
  check(!requests.some((r) => r.url.endsWith("/complete")), "nothing completed");
  await page.unroute("**/api/profiles");

  // The ceremony, with RSA and then with P-256 (which replaces the RSA profile).
  const passwords = {};
  for (const key of ["rsa2048", "p256"]) {
    await go(page, "ceremony");
    await page.locator(`input[name="key"][value="${key}"]`).check();
    await page.getByRole("button", { name: "Make my keys and ask the relay" }).click();
    await page.waitForSelector("#ceremony-review:not([hidden])", { timeout: 60000 });
    const review = await page.locator("#review-list").textContent();
    check(review.includes("pathLen 0") && review.includes("pportal.io") && review.includes(MAILBOX), `review: ${review}`);
    if (key === "rsa2048") await shoot(page, "ceremony-review", "desktop");
    await page.getByRole("button", { name: "Sign it with my root" }).click();
    await page.waitForSelector("#ceremony-done:not([hidden])", { timeout: 60000 });
    if (key === "rsa2048") await shoot(page, "ceremony-done", "desktop");
    passwords[key] = await page.locator("#p12-password").inputValue();
    const dir = path.join(OUT, key);
    fs.mkdirSync(dir, { recursive: true });
    for (const [id, name] of [["dl-compat", "ee-compat.p12"], ["dl-modern", "ee.p12"], ["dl-cer", "root.cer"], ["dl-pem", "root.pem"], ["dl-mobileconfig", "mailrelay.mobileconfig"]]) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click(`#${id}`)]);
      check(download.suggestedFilename() === name, `download name ${download.suggestedFilename()}`);
      await download.saveAs(path.join(dir, name));
    }
  }
  const metrics = await page.evaluate(() => ({
    instantiate_ms: performance.getEntriesByName("wasm-instantiate")[0]?.duration,
    root_sign_rsa2048_ms: performance.getEntriesByName("root-sign")[0]?.duration,
    root_sign_p256_ms: performance.getEntriesByName("root-sign")[1]?.duration,
  }));
  const cryptoLog = await page.evaluate(() => window.__cryptoLog);

  await go(page, "profiles");
  check((await page.locator("#profile-list .badge.ok").textContent()) === "active", "profile shown active");
  check((await page.locator("#profile-list .badge", { hasText: "retired" }).count()) === 1, "the RSA profile retired");
  check((await page.locator("#event-table tbody tr").count()) >= 1, "issuance log shown");
  await page.context().close();
  return { passwords, alias, reverse, metrics, cryptoLog };
}

/** Sign-in with the keyboard only: Tab past the skip link to the token field, type, Enter. */
async function signInByKeyboard(page) {
  await page.goto(`${BASE}/app/`);
  await ready(page, "signin");
  for (let i = 0; i < 5 && (await page.evaluate(() => document.activeElement?.id)) !== "token"; i++) {
    await page.keyboard.press("Tab");
  }
  check((await page.evaluate(() => document.activeElement?.id)) === "token", "the token field is reachable by Tab");
  await page.keyboard.type(TOKEN);
  await page.keyboard.press("Enter");
  await ready(page, "mailboxes");
}

async function screenshots(browser, viewport, tag) {
  const page = await newPage(browser, viewport);
  await (tag === "phone" ? signInByKeyboard(page) : signIn(page));
  for (const name of PAGES) {
    await go(page, name);
    await shoot(page, name, tag);
  }
  await page.context().close();
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
});
try {
  fs.mkdirSync(SHOTS, { recursive: true });
  const result = await flow(browser);
  await screenshots(browser, { width: 1280, height: 800 }, "desktop");
  await screenshots(browser, { width: 390, height: 844 }, "phone");
  check(problems.length === 0, `console errors or CSP violations:\n${problems.join("\n")}`);
  result.requests = requests;
  fs.writeFileSync(path.join(OUT, "result.json"), JSON.stringify(result, null, 2));
  console.log(`METRICS ${JSON.stringify(result.metrics)}`);
} finally {
  await browser.close();
}
