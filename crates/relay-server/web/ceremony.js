// The S/MIME ceremony (DESIGN.md, "The hybrid CA"), in the page:
//
//   1. WebCrypto makes the EE key (extractable: it must go into the .p12) and the root key
//      (extractable: false); pki-wasm builds the CSR, the EE key signs it; POST /api/profiles
//      with the CSR and the root's *public* key.
//   2. pki-wasm parses the intermediate's to-be-signed bytes the relay sent, refuses anything
//      but an intermediate CA (pathLen 0, emailProtection, names limited to the relay domains and
//      this user's mailboxes), and the page shows what it is; the user confirms.
//   3. The root self-signs and signs the intermediate (pki-core's two-step signing; ECDSA
//      signatures in WebCrypto's raw r||s); POST /api/profiles/{id}/complete. The root key
//      object is dropped: it was never exportable, and nothing refers to it any more.
//   4. The downloads are made here: ee-compat.p12, ee.p12, root.cer/.pem, a .mobileconfig.
import { api, relayConfig } from "./api.js";
import { load, pki } from "./pki.js";
import { b64, busy, el, offer, pem, say, unb64, unpem } from "./ui.js";

const ALGS = {
  rsa2048: {
    gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    sign: { name: "RSASSA-PKCS1-v1_5" },
  },
  p256: { gen: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
};

/** The ceremony under way: keys and what the relay answered. Cleared when done or cancelled. */
let pending = null;

const $ = (id) => document.getElementById(id);

export async function show() {
  $("ceremony-review").hidden = true;
  const { mailboxes } = await api("GET", "/api/mailboxes");
  const select = $("ceremony-mailbox");
  select.replaceChildren(...mailboxes.filter((m) => m.verified).map((m) => el("option", { value: m.address }, m.address)));
  $("ceremony-go").disabled = select.options.length === 0;
  if (select.options.length === 0) say("Verify a mailbox first (Mailboxes).");
}

async function start(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await busy(form.querySelector("button"), async () => {
    $("ceremony-done").hidden = true;
    say("Making keys…");
    await load();
    const alg = ALGS[form.elements.key.value];
    const mailbox = form.elements.mailbox.value;
    const ee = await crypto.subtle.generateKey(alg.gen, true, ["sign", "verify"]);
    const root = await crypto.subtle.generateKey(alg.gen, false, ["sign", "verify"]);
    const eeSpki = await crypto.subtle.exportKey("spki", ee.publicKey);
    const rootSpki = new Uint8Array(await crypto.subtle.exportKey("spki", root.publicKey));
    const csrTbs = pki.csrTbs(eeSpki, mailbox);
    const csr = pki.csrAssemble(await crypto.subtle.sign(alg.sign, ee.privateKey, csrTbs));
    say("Asking the relay for its certificate…");
    const started = await api("POST", "/api/profiles", {
      csr: b64(csr),
      root_public_key: b64(rootSpki),
      key_algorithm: form.elements.key.value,
    });
    const [config, { mailboxes }] = await Promise.all([relayConfig(), api("GET", "/api/mailboxes")]);
    const tbs = unb64(started.intermediate_tbs);
    pending = { alg, mailbox, ee, root, rootSpki, tbs, started };
    let described;
    try {
      described = pki.describeIntermediate(tbs, rootSpki, config.domains, mailboxes.filter((m) => m.verified).map((m) => m.address));
    } catch (e) {
      pending = null;
      throw new Error(`The relay's certificate was refused, nothing was signed. ${e.message}`);
    }
    review(described);
  });
}

function review(d) {
  const facts = [
    ["Subject", d.subject],
    ["Issuer (your root)", d.issuer],
    ["Kind", `CA, pathLen ${d.path_len}: it can issue mail certificates, but no further CAs`],
    ["Key usage", d.key_usage.join(", ")],
    ["Extended key usage", d.eku.join(", ")],
    ["May issue for", d.permitted.join(", ")],
    ["Valid", `${new Date(d.not_before * 1000).toLocaleDateString()} to ${new Date(d.not_after * 1000).toLocaleDateString()} (${d.days} days)`],
    ["Key", d.key],
    ["Serial", d.serial],
  ];
  $("review-list").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("ceremony-review").hidden = false;
  say("Check what your root is about to sign.");
  $("ceremony-sign").focus();
}

async function sign(event) {
  await busy(event.currentTarget, async () => {
    if (!pending) throw new Error("No ceremony under way.");
    const { alg, ee, mailbox, rootSpki, tbs, started } = pending;
    let { root } = pending;
    performance.mark("root-sign-start");
    const rootTbs = pki.rootTbs(rootSpki);
    const rootDer = pki.rootAssemble(await crypto.subtle.sign(alg.sign, root.privateKey, rootTbs));
    const interDer = pki.intermediateAssemble(await crypto.subtle.sign(alg.sign, root.privateKey, tbs));
    performance.measure("root-sign", "root-sign-start");
    // The root key is done: drop every reference (it was never exportable).
    root = null;
    pending.root = null;
    say("Sending the signed certificates…");
    await api("POST", `/api/profiles/${started.profile.id}/complete`, { root: b64(rootDer), intermediate: b64(interDer) });
    $("ceremony-review").hidden = true;
    await downloads(ee, mailbox, unpem(started.end_entity), interDer, rootDer);
    pending = null;
    say("Your S/MIME profile is active. Download your files below.");
  });
}

/** A password for the .p12 files: 20 characters from an unambiguous alphabet (~100 bits). */
function password() {
  const alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return [0, 5, 10, 15].map((i) => chars.slice(i, i + 5).join("")).join("-");
}

async function downloads(ee, mailbox, eeDer, interDer, rootDer) {
  const pw = password();
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", ee.privateKey));
  const compat = pki.pkcs12(pkcs8, eeDer, interDer, rootDer, pw, mailbox, true);
  const modern = pki.pkcs12(pkcs8, eeDer, interDer, rootDer, pw, mailbox, false);
  pkcs8.fill(0);
  offer($("dl-compat"), compat, "application/x-pkcs12");
  offer($("dl-modern"), modern, "application/x-pkcs12");
  offer($("dl-cer"), rootDer, "application/pkix-cert");
  offer($("dl-pem"), pem("CERTIFICATE", rootDer), "application/x-pem-file");
  offer($("dl-mobileconfig"), mobileconfig(rootDer, compat, mailbox), "application/x-apple-aspen-config");
  $("p12-password").value = pw;
  $("ceremony-done").hidden = false;
}

const xml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function payload(type, name, extra) {
  const uuid = crypto.randomUUID().toUpperCase();
  return `<dict>
<key>PayloadType</key><string>${type}</string>
<key>PayloadVersion</key><integer>1</integer>
<key>PayloadIdentifier</key><string>mailrelay.smime.${uuid}</string>
<key>PayloadUUID</key><string>${uuid}</string>
<key>PayloadDisplayName</key><string>${xml(name)}</string>
${extra}</dict>`;
}

/** An Apple configuration profile: the root (trusted on install) and the 3DES PKCS#12 (the
 *  device asks for its password). */
function mobileconfig(rootDer, p12, mailbox) {
  const root = payload("com.apple.security.root", "Mail relay user root",
    `<key>PayloadCertificateFileName</key><string>root.cer</string>\n<key>PayloadContent</key><data>${b64(rootDer)}</data>\n`);
  const id = payload("com.apple.security.pkcs12", `S/MIME ${mailbox}`,
    `<key>PayloadCertificateFileName</key><string>ee-compat.p12</string>\n<key>PayloadContent</key><data>${b64(p12)}</data>\n`);
  const uuid = crypto.randomUUID().toUpperCase();
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
<key>PayloadContent</key>
<array>
${root}
${id}
</array>
<key>PayloadDisplayName</key><string>${xml(`Mail relay S/MIME (${mailbox})`)}</string>
<key>PayloadDescription</key><string>The root to trust for mail from the relay, and your S/MIME key.</string>
<key>PayloadIdentifier</key><string>mailrelay.smime.${uuid}</string>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadUUID</key><string>${uuid}</string>
<key>PayloadVersion</key><integer>1</integer>
</dict>
</plist>
`;
}

export function init() {
  $("ceremony-start").addEventListener("submit", start);
  $("ceremony-sign").addEventListener("click", sign);
  $("ceremony-cancel").addEventListener("click", () => {
    pending = null;
    $("ceremony-review").hidden = true;
    say("Cancelled: nothing was signed. The relay's pending profile is never used.");
  });
}
