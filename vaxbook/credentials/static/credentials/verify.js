// The public verify page (credentials/verify.html): checks a vaccination certificate (a
// SMART Health Card) in this browser, with no request to any server.
//
// The page carries our published JWK Set and the names of the vaccines by CVX code (two
// JSON data blocks, read once), so once it is loaded the check works offline:
// 1. the `shc:/` numeric string (two digits a character, ord(c) - 45) or the JWS itself,
//    or a .smart-health-card file ({"verifiableCredential": [jws]});
// 2. the header: ES256, zip DEF, a kid of our set (else: not ours);
// 3. the ES256 signature with WebCrypto over the JWS as it is (the compressed payload);
// 4. the payload inflated with DecompressionStream("deflate-raw"), then the FHIR bundle.
// What an altered or foreign card claims is never shown.
//
// Words come from the page (data-text-* of #verify-app) so they are translated with it.

const MAX_INPUT_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const NUMERIC = /^shc:\/([0-9]+)$/i;
const HEALTH_CARD = "https://smarthealth.cards#health-card";

const app = document.getElementById("verify-app");
if (app) {
  start();
}

function start() {
  const form = document.getElementById("verify-form");
  const input = document.getElementById("verify-input");
  const fileInput = document.getElementById("verify-file");
  const result = document.getElementById("verify-result");
  const jwks = JSON.parse(document.getElementById("verify-jwks").textContent);
  const vaccines = JSON.parse(document.getElementById("verify-vaccines").textContent);
  const say = (name) => app.dataset[name] || name;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(await check(input.value));
  });
  fileInput.addEventListener("change", async () => {
    const [file] = fileInput.files;
    if (!file) {
      return;
    }
    let token = "";
    try {
      const content = JSON.parse(await file.text());
      token = String(content.verifiableCredential[0]);
    } catch {
      token = "";
    }
    show(await check(token));
  });

  async function check(text) {
    try {
      return await verified(text.trim());
    } catch {
      return { verdict: "malformed" };
    }
  }

  async function verified(text) {
    if (!text || text.length > MAX_INPUT_LENGTH) {
      return { verdict: "malformed" };
    }
    const token = NUMERIC.test(text) ? fromNumeric(text) : text;
    if (!token || !COMPACT_JWS.test(token)) {
      return { verdict: "malformed" };
    }
    const [header64, payload64, signature64] = token.split(".");
    const header = JSON.parse(new TextDecoder().decode(bytes(header64)));
    if (header.alg !== "ES256" || header.zip !== "DEF" || typeof header.kid !== "string") {
      return { verdict: "malformed" };
    }
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    if (!jwk) {
      return { verdict: "unknown_issuer" };
    }
    if (!globalThis.crypto || !crypto.subtle) {
      return { verdict: "no_crypto" };
    }
    const key = await crypto.subtle.importKey(
      "jwk",
      { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const genuine = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      bytes(signature64),
      new TextEncoder().encode(`${header64}.${payload64}`),
    );
    if (!genuine) {
      return { verdict: "invalid_signature" };
    }
    const payload = JSON.parse(new TextDecoder().decode(await inflate(bytes(payload64))));
    return { verdict: "genuine", card: read(payload) };
  }

  function read(payload) {
    const vc = payload.vc;
    if (!vc.type.includes(HEALTH_CARD)) {
      throw new Error("not a health card");
    }
    const resources = vc.credentialSubject.fhirBundle.entry.map((entry) => entry.resource);
    const patient = resources.find((resource) => resource.resourceType === "Patient");
    const name = patient.name[0];
    return {
      issuer: String(payload.iss),
      name: name.text || [...(name.given || []), name.family || ""].join(" ").trim(),
      birthDate: String(patient.birthDate),
      doses: resources
        .filter((r) => r.resourceType === "Immunization" && r.status === "completed")
        .map((r) => {
          const cvx = String(r.vaccineCode.coding[0].code);
          return {
            date: String(r.occurrenceDateTime).slice(0, 10),
            vaccine: vaccines[cvx] || `CVX ${cvx}`,
            lot: String(r.lotNumber || ""),
            performer: String(r.performer?.[0]?.actor?.display || ""),
          };
        }),
    };
  }

  function show(answer) {
    const verdict = answer.verdict;
    const tone = verdict === "genuine" ? "good" : verdict === "unknown_issuer" ? "warn" : "bad";
    result.replaceChildren();
    result.className = `outcome outcome-${tone}`;
    result.dataset.verdict = verdict;
    result.append(element("h2", say(`${verdict}Headline`)));
    result.append(element("p", say(`${verdict}Advice`)));
    if (answer.card) {
      const list = document.createElement("dl");
      list.className = "summary";
      const row = (term, value) => list.append(element("dt", term), element("dd", value));
      row(say("name"), answer.card.name);
      row(say("dateOfBirth"), answer.card.birthDate);
      answer.card.doses.forEach((dose, index) => {
        const text = `${dose.date}: ${dose.vaccine}, ${say("lot")} ${dose.lot}, ${dose.performer}`;
        row(`${say("dose")} ${index + 1}`, text);
      });
      row(say("issuer"), answer.card.issuer);
      result.append(list);
    }
    result.hidden = false;
    result.focus();
  }
}

function element(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

function fromNumeric(text) {
  const digits = NUMERIC.exec(text)[1];
  if (digits.length % 2) {
    return "";
  }
  let token = "";
  for (let index = 0; index < digits.length; index += 2) {
    const value = Number(digits.slice(index, index + 2));
    if (value > 77) {
      return "";
    }
    token += String.fromCharCode(value + 45);
  }
  return token;
}

function bytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (character) => character.charCodeAt(0));
}

async function inflate(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
