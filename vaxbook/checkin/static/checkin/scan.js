// The scan page (checkin/validate.html): reads a confirmation's QR code with the camera,
// and goes on validating without a network.
//
// Progressive enhancement: without this script the typed form and the server's answer
// work as before. With it:
// - "Scan with camera" opens the rear camera, decodes frames with jsQR (vendored, see
//   vendor/README.md) and submits the token through the same form.
// - While online, the page keeps the JWK Set and the centre's list for today in
//   localStorage, fetched afresh on every load.
// - Offline (navigator.onLine is false, or the server cannot be reached), a confirmation
//   is checked here: its ES256 signature with WebCrypto against the saved keys, then its
//   claims (this centre, today in the centre's zone, not expired) and the saved list and
//   queue, in the server's order of outcomes. A check-in is queued on this device and
//   sent when the connection is back; the server decides (the first check-in wins).
//
// Words come from the page (data-text-* of #scan-app and the outcome words of
// #scan-words) so they are translated with the rest of it.

const TOKEN_TYPE = "vaxbook-confirmation+jwt";
const MAX_TOKEN_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ISO_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const HOURS_MINUTES = /^[0-9]{2}:[0-9]{2}$/;
// The server takes at most this many queued check-ins in one request.
const BATCH = 100;
// The longest side of a camera frame handed to the decoder: enough for a version 19 code
// held at arm's length, small enough to decode several frames a second on a tablet.
const FRAME_SIDE = 720;
const FRAME_INTERVAL_MS = 150;
const PROBE_TIMEOUT_MS = 5000;

const app = document.getElementById("scan-app");
const form = document.getElementById("presented-form");
const input = document.getElementById("id_presented");

class SignedOut extends Error {}

class HttpError extends Error {
  constructor(status, detail) {
    super(`HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

if (app && form && input) {
  start();
}

function start() {
  const data = app.dataset;
  const centreId = Number(data.centre);
  // The site's English is British: dates read "28 February 1961", as on the server's pages.
  const pageLang = document.documentElement.lang || undefined;
  const lang = pageLang === "en" ? "en-GB" : pageLang;
  const keys = {
    jwks: "vaxbook.jwks",
    day: `vaxbook.day.${centreId}`,
    // Per staff member: a queue is sent in the session of whoever made it, so a check-in
    // is never recorded in someone else's name.
    queue: `vaxbook.queue.${data.staff}.${centreId}`,
  };
  const $ = (id) => document.getElementById(id);
  const banner = $("scan-offline-banner");
  const offlineOutcome = $("scan-offline-outcome");
  const queueSection = $("scan-queue");
  const queueCount = $("scan-queue-count");
  const queueProblem = $("scan-queue-problem");
  const sendButton = $("scan-send");
  const sentHeading = $("scan-sent-heading");
  const sentList = $("scan-sent");

  // --- words ----------------------------------------------------------------------------

  function say(name, values = {}) {
    const key = `text${name[0].toUpperCase()}${name.slice(1)}`;
    const template = data[key] || name;
    return template.replace(/\{(\w+)\}/g, (whole, field) =>
      field in values ? String(values[field]) : whole,
    );
  }

  function words(outcome) {
    const item = document.querySelector(`#scan-words [data-outcome="${outcome}"]`);
    if (!item) {
      return { headline: outcome, advice: "", tone: "bad" };
    }
    return {
      headline: item.dataset.headline,
      advice: item.dataset.advice,
      tone: item.dataset.tone,
    };
  }

  function zone() {
    const day = saved(keys.day);
    return (day && day.centre && day.centre.time_zone) || data.centreZone;
  }

  function formatDate(isoDate) {
    const [year, month, day] = isoDate.split("-").map(Number);
    return new Intl.DateTimeFormat(lang, {
      day: "numeric",
      month: "long",
      year: "numeric",
      timeZone: "UTC",
    }).format(new Date(Date.UTC(year, month - 1, day)));
  }

  function formatMoment(moment) {
    return new Intl.DateTimeFormat(lang, {
      day: "numeric",
      month: "long",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: zone(),
    }).format(new Date(moment));
  }

  // The calendar date at the centre now, as YYYY-MM-DD: "today" is always the centre's day,
  // never the device's.
  function today() {
    const parts = new Intl.DateTimeFormat("en-CA", {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      timeZone: zone(),
    }).formatToParts(new Date());
    const part = (type) => parts.find((p) => p.type === type).value;
    return `${part("year")}-${part("month")}-${part("day")}`;
  }

  // --- storage --------------------------------------------------------------------------

  function saved(key) {
    try {
      return JSON.parse(localStorage.getItem(key));
    } catch {
      return null;
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch {
      // Storage full or refused (private mode): the page still works online.
    }
  }

  function queue() {
    const items = saved(keys.queue);
    return Array.isArray(items) ? items : [];
  }

  // --- the network ----------------------------------------------------------------------

  async function fetchJson(url, options = {}) {
    const response = await fetch(url, {
      credentials: "same-origin",
      // Staff pages send a signed-out visitor to the sign-in page: that is not an answer.
      redirect: "manual",
      ...options,
      headers: { Accept: "application/json", ...(options.headers || {}) },
    });
    if (response.type === "opaqueredirect") {
      throw new SignedOut();
    }
    if (!response.ok) {
      let detail = response.statusText;
      try {
        detail = (await response.json()).detail || detail;
      } catch {
        // Not a problem+json (a CSRF failure page, a proxy's error page).
      }
      throw new HttpError(response.status, detail);
    }
    return response.json();
  }

  function timeout(ms) {
    return typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(ms) : undefined;
  }

  async function refreshJwks(signal) {
    // no-cache: revalidated with the server (a 304 costs nothing), so a rotated key is known.
    const jwks = await fetchJson(data.jwksUrl, { cache: "no-cache", signal });
    if (jwks && Array.isArray(jwks.keys)) {
      save(keys.jwks, jwks);
    }
  }

  let signingOut = false;

  async function refreshDay() {
    const day = await fetchJson(data.dayUrl, { cache: "no-store" });
    // A list arriving while the staff member signs out is not kept.
    if (day && Array.isArray(day.appointments) && !signingOut) {
      save(keys.day, day);
    }
  }

  async function refreshAll() {
    await Promise.allSettled([refreshJwks(), refreshDay()]);
  }

  // The server answers but can neither check nor record anything: 503 when it cannot reach
  // its database, 502 or 504 from the proxy in front of it when it is down or stuck. For
  // the desk that is no connection: check here, queue the check-ins.
  function unavailable(error) {
    return error instanceof HttpError && [502, 503, 504].includes(error.status);
  }

  // Whether the server answers now, and can record a check-in. navigator.onLine only knows
  // about the device's own link; a dead Wi-Fi uplink shows up only when a request fails, a
  // server without its database only in the health check.
  async function reachable() {
    if (!navigator.onLine) {
      return false;
    }
    const probes = [
      refreshJwks(timeout(PROBE_TIMEOUT_MS)),
      fetchJson(data.healthUrl, { cache: "no-store", signal: timeout(PROBE_TIMEOUT_MS) }),
    ];
    for (const probe of await Promise.allSettled(probes)) {
      const error = probe.reason;
      // Any other answer (a 4xx): the server is there, and the form's page will say why.
      const answered =
        probe.status === "fulfilled" || (error instanceof HttpError && !unavailable(error));
      if (!answered) {
        return false;
      }
    }
    return true;
  }

  function showOnline(online) {
    banner.hidden = online;
    sendButton.hidden = !online || queue().length === 0;
  }

  // --- presenting a code ----------------------------------------------------------------

  let submitting = false;
  // Back to this page from the answer (the back-forward cache keeps it as it was): the next
  // code is checked again like the first.
  window.addEventListener("pageshow", () => {
    submitting = false;
  });

  async function present(presented, submitOnline) {
    if (await reachable()) {
      showOnline(true);
      submitting = true;
      submitOnline();
      return;
    }
    showOnline(false);
    render(await checkHere(presented.trim()));
  }

  form.addEventListener("submit", (event) => {
    // An empty field is the server's to explain; online the form goes as it is.
    if (submitting || !input.value.trim()) {
      return;
    }
    event.preventDefault();
    present(input.value, () => form.submit());
  });

  const checkInForm = document.querySelector("#server-outcome .check-in-form");
  if (checkInForm) {
    checkInForm.addEventListener("submit", (event) => {
      if (submitting) {
        return;
      }
      event.preventDefault();
      present(checkInForm.elements.presented.value, () => checkInForm.submit());
    });
  }

  // --- checking on this device ----------------------------------------------------------

  // As the server's form reads it: a JWS has exactly two dots, anything else is a reference.
  async function checkHere(presented) {
    // A vaccination certificate is checked by the server (or on the public verify page),
    // not by this offline list of today's confirmations.
    if (/^shc:\//i.test(presented)) {
      return cannotCheck(say("certificateOffline"));
    }
    if (presented.split(".").length === 3) {
      return checkToken(presented);
    }
    return checkReference(presented);
  }

  function cannotCheck(why) {
    return { outcome: "cannot_check", headline: say("cannotCheck"), advice: why, tone: "warn" };
  }

  function listed(match) {
    const day = saved(keys.day);
    if (!day || !day.centre || day.centre.id !== centreId || !Array.isArray(day.appointments)) {
      return undefined;
    }
    return day.appointments.find(match);
  }

  function queuedFor(appointmentId) {
    return queue().find((item) => item.appointment_id === appointmentId);
  }

  function checkedInDetail(entry, queued) {
    if (entry && entry.status === "checked_in") {
      return say("checkedInDetail", {
        when: entry.checked_in_at ? formatMoment(entry.checked_in_at) : say("unknown"),
        who: entry.checked_in_by || say("unknown"),
      });
    }
    return say("queuedHere", { when: formatMoment(queued.queued_at) });
  }

  function outcome(name, extra = {}) {
    return { outcome: name, ...words(name), ...extra };
  }

  async function checkToken(token) {
    if (!globalThis.crypto || !crypto.subtle) {
      return cannotCheck(say("noCrypto"));
    }
    const jwks = saved(keys.jwks);
    if (!jwks || !Array.isArray(jwks.keys)) {
      return cannotCheck(say("noKeys"));
    }
    const claims = await verifiedClaims(token, jwks);
    if (!claims) {
      return outcome("invalid_signature");
    }
    const entry = listed((item) => item.id === claims.aid && item.reference === claims.ref);
    const queued = queuedFor(claims.aid);
    const holder = { name: claims.name, dob: claims.dob };
    const details = {
      vaccine: claims.vac,
      dose: claims.dose,
      startsAt: `${formatDate(claims.date)}, ${claims.time}`,
      reference: displayReference(claims.ref),
    };
    // DESIGN.md's order, as far as this device can know: the signature, then what the
    // saved list and queue say, then the claims.
    if (entry && entry.status === "cancelled") {
      return outcome("cancelled", { details });
    }
    if (claims.cid !== centreId) {
      return outcome("wrong_centre", { details });
    }
    if (entry && entry.status === "vaccinated") {
      return outcome("already_vaccinated", { details });
    }
    if ((entry && entry.status === "checked_in") || queued) {
      return outcome("already_checked_in", {
        detail: checkedInDetail(entry, queued),
        details: { ...holder, ...details },
      });
    }
    const day = today();
    if (claims.date > day) {
      return outcome("too_early", { details });
    }
    const missed = entry && entry.status === "no_show";
    if (claims.date < day || missed || Date.now() / 1000 > claims.exp) {
      return outcome("expired", { details });
    }
    return {
      outcome: "valid",
      headline: say("authentic"),
      advice: say("authenticAdvice"),
      tone: "good",
      details: { ...holder, ...details },
      queueable: { token, appointment_id: claims.aid, label: claims.name },
    };
  }

  function checkReference(typed) {
    const reference = typed.replace(/[\s-]/g, "").toUpperCase();
    const day = saved(keys.day);
    if (!day || !Array.isArray(day.appointments)) {
      return cannotCheck(say("noKeys"));
    }
    const entry = listed((item) => item.reference === reference);
    if (!entry) {
      return {
        outcome: "unknown_reference",
        headline: say("notOnList"),
        advice: say("notOnListAdvice"),
        tone: "bad",
      };
    }
    const queued = queuedFor(entry.id);
    const holder = { name: entry.holder_name, dob: entry.holder_date_of_birth };
    const details = {
      vaccine: entry.vaccine,
      dose: entry.dose_number,
      startsAt: formatMoment(entry.starts_at),
      reference: entry.display_reference,
    };
    if (entry.status === "cancelled") {
      return outcome("cancelled", { details });
    }
    if (entry.status === "vaccinated") {
      return outcome("already_vaccinated", { details });
    }
    if (entry.status === "checked_in" || queued) {
      return outcome("already_checked_in", {
        detail: checkedInDetail(entry, queued),
        details: { ...holder, ...details },
      });
    }
    // A list kept from an earlier day (the page left open overnight) is about that day.
    if (day.date < today() || entry.status === "no_show") {
      return outcome("expired", { details });
    }
    return {
      outcome: "valid",
      headline: say("onList"),
      advice: say("onListAdvice"),
      tone: "good",
      details: { ...holder, ...details },
      queueable: { reference, appointment_id: entry.id, label: entry.holder_name },
    };
  }

  function displayReference(reference) {
    return `${reference.slice(0, 3)}-${reference.slice(3, 6)}-${reference.slice(6)}`;
  }

  function base64url(text) {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  }

  function json(bytes) {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  }

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

  // The claims of a token whose signature one of the saved keys verifies, or null. As
  // strict as the server (vaxbook.credentials.tokens): only ES256, only our `typ`, exactly
  // three header members, every claim of the right type.
  async function verifiedClaims(token, jwks) {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      return null;
    }
    const [header64, payload64, signature64] = token.split(".");
    let header;
    let claims;
    let signature;
    try {
      header = json(base64url(header64));
      claims = json(base64url(payload64));
      signature = base64url(signature64);
    } catch {
      return null;
    }
    if (
      !isObject(header) ||
      Object.keys(header).sort().join(",") !== "alg,kid,typ" ||
      header.alg !== "ES256" ||
      header.typ !== TOKEN_TYPE ||
      signature.length !== 64
    ) {
      return null;
    }
    const jwk = jwks.keys.find(
      (key) => isObject(key) && key.kid === header.kid && key.kty === "EC" && key.crv === "P-256",
    );
    if (!jwk) {
      return null;
    }
    try {
      const key = await crypto.subtle.importKey(
        "jwk",
        { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      // A JWS ES256 signature is the raw r || s that WebCrypto expects.
      const genuine = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        signature,
        new TextEncoder().encode(`${header64}.${payload64}`),
      );
      if (!genuine) {
        return null;
      }
    } catch {
      return null;
    }
    return wellFormed(claims) ? claims : null;
  }

  function wellFormed(claims) {
    const text = (name) => typeof claims[name] === "string" && claims[name] !== "";
    const positive = (name) => Number.isInteger(claims[name]) && claims[name] > 0;
    return (
      isObject(claims) &&
      ["iss", "ref", "aid", "tz", "vac", "name"].every(text) &&
      ["cid", "dose", "iat", "exp"].every(positive) &&
      ISO_DATE.test(claims.date) &&
      ISO_DATE.test(claims.dob) &&
      HOURS_MINUTES.test(claims.time)
    );
  }

  // --- showing an answer ----------------------------------------------------------------

  function element(tag, attributes = {}, text = undefined) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      node.setAttribute(name, value);
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function summary(details) {
    const list = element("dl", { class: "summary outcome-summary" });
    const row = (label, value, className) => {
      list.append(element("dt", {}, label), element("dd", className ? { class: className } : {}, value));
    };
    if (details.name) {
      row(say("name"), details.name, "holder-name");
      row(say("dateOfBirth"), formatDate(details.dob), "holder-dob");
    }
    row(say("vaccineAndDose"), say("vaccineDose", { vaccine: details.vaccine, dose: details.dose }));
    row(say("appointment"), details.startsAt);
    row(say("reference"), details.reference);
    return list;
  }

  function render(result) {
    const serverOutcome = document.getElementById("server-outcome");
    if (serverOutcome) {
      // An answer from before the connection went: not about this person.
      serverOutcome.hidden = true;
    }
    const section = offlineOutcome;
    section.replaceChildren();
    section.className = `outcome outcome-${result.tone}`;
    section.dataset.outcome = result.outcome;
    const mark = { good: "✓", warn: "!" }[result.tone] || "✗";
    const headline = element("h2", { class: "outcome-headline", tabindex: "-1" }, result.headline);
    section.append(element("p", { class: "outcome-mark", "aria-hidden": "true" }, mark), headline);
    if (result.advice) {
      section.append(element("p", { class: "outcome-advice" }, result.advice));
    }
    if (result.detail) {
      section.append(element("p", { class: "outcome-detail" }, result.detail));
    }
    if (result.details) {
      section.append(summary(result.details));
    }
    if (result.queueable) {
      const button = element(
        "button",
        { type: "button", class: "button button-large" },
        say("queueButton"),
      );
      button.addEventListener("click", () => enqueue(result));
      section.append(button);
    }
    section.hidden = false;
    input.value = "";
    headline.focus();
  }

  function enqueue(result) {
    const item = {
      client_id: crypto.randomUUID(),
      queued_at: new Date().toISOString(),
      ...result.queueable,
    };
    save(keys.queue, [...queue(), item]);
    render({
      outcome: "queued",
      headline: say("queued"),
      advice: say("queuedAdvice"),
      tone: "good",
      details: result.details,
    });
    renderQueue();
    if (navigator.onLine) {
      flushQueue();
    }
  }

  // --- the queue ------------------------------------------------------------------------

  function renderQueue() {
    const count = queue().length;
    queueCount.textContent = say("queueCount", { count });
    queueCount.dataset.count = String(count);
    sendButton.hidden = count === 0 || !navigator.onLine;
    queueSection.hidden = count === 0 && sentList.childElementCount === 0;
  }

  function showProblem(message) {
    queueProblem.textContent = message;
    queueProblem.hidden = !message;
  }

  function showSent(item, answer) {
    const name = answer.checked_in ? "checked_in" : answer.outcome;
    const entry = element("li", { "data-outcome": answer.outcome, "data-client-id": item.client_id });
    const who = answer.appointment
      ? [answer.appointment.holder_name || item.label, answer.appointment.display_reference]
      : [item.label];
    entry.append(element("strong", {}, words(name).headline), ` – ${who.filter(Boolean).join(", ")}`);
    if (answer.outcome === "already_checked_in") {
      entry.append(
        " ",
        say("checkedInDetail", {
          when: answer.checked_in_at ? formatMoment(answer.checked_in_at) : say("unknown"),
          who: answer.checked_in_by || say("unknown"),
        }),
      );
    }
    sentList.prepend(entry);
    sentHeading.hidden = false;
  }

  function csrfToken() {
    return form.querySelector("input[name=csrfmiddlewaretoken]").value;
  }

  let flushing = null;

  function flushQueue() {
    if (!flushing) {
      flushing = sendQueue().finally(() => {
        flushing = null;
        renderQueue();
      });
    }
    return flushing;
  }

  async function sendQueue() {
    let waiting = queue();
    const sentAny = waiting.length > 0;
    while (waiting.length > 0) {
      const batch = waiting.slice(0, BATCH);
      let answer;
      try {
        answer = await fetchJson(data.checkInsUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({
            items: batch.map(({ client_id, queued_at, token, reference }) =>
              token ? { client_id, queued_at, token } : { client_id, queued_at, reference },
            ),
          }),
        });
      } catch (error) {
        if (error instanceof SignedOut) {
          showProblem(say("signInAgain"));
        } else if (error instanceof HttpError && !unavailable(error)) {
          showProblem(say("syncRefused", { detail: error.detail }));
        } else {
          showProblem(say("syncFailed"));
          showOnline(false);
        }
        return;
      }
      showProblem("");
      const answered = new Map(answer.items.map((item) => [item.client_id, item]));
      for (const item of batch) {
        if (answered.has(item.client_id)) {
          showSent(item, answered.get(item.client_id));
        }
      }
      // Read again: a check-in may have been queued while this batch was on its way.
      waiting = queue().filter((item) => !answered.has(item.client_id));
      save(keys.queue, waiting);
      renderQueue();
    }
    if (sentAny) {
      // The answers below replace what this device said while offline.
      offlineOutcome.hidden = true;
      // What was just sent is now on the server's list.
      await refreshDay().catch(() => {});
    }
  }

  sendButton.addEventListener("click", () => flushQueue());

  // --- the camera -----------------------------------------------------------------------

  const cameraStart = $("scan-camera-start");
  const cameraBox = $("scan-camera");
  const video = $("scan-video");
  const cameraStatus = $("scan-camera-status");
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let stream = null;
  let timer = 0;

  function showCameraProblem(message) {
    cameraStatus.textContent = message;
    cameraStatus.hidden = !message;
  }

  async function startCamera() {
    showCameraProblem("");
    if (typeof globalThis.jsQR !== "function") {
      showCameraProblem(say("cameraUnavailable"));
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" } },
      });
    } catch {
      showCameraProblem(say("cameraError"));
      return;
    }
    video.srcObject = stream;
    cameraBox.hidden = false;
    cameraStart.hidden = true;
    try {
      await video.play();
    } catch {
      // Autoplay of a muted inline video is allowed; frames are read whether it plays or not.
    }
    scanFrame();
  }

  function stopCamera() {
    clearTimeout(timer);
    if (stream) {
      for (const track of stream.getTracks()) {
        track.stop();
      }
    }
    stream = null;
    video.srcObject = null;
    cameraBox.hidden = true;
    cameraStart.hidden = false;
  }

  function scanFrame() {
    if (!stream) {
      return;
    }
    if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) {
      const scale = Math.min(1, FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight));
      const width = Math.round(video.videoWidth * scale);
      const height = Math.round(video.videoHeight * scale);
      canvas.width = width;
      canvas.height = height;
      context.drawImage(video, 0, 0, width, height);
      const pixels = context.getImageData(0, 0, width, height);
      const code = globalThis.jsQR(pixels.data, width, height, { inversionAttempts: "dontInvert" });
      if (code && code.data) {
        stopCamera();
        input.value = code.data.trim();
        if (typeof form.requestSubmit === "function") {
          form.requestSubmit();
        } else {
          present(input.value, () => form.submit());
        }
        return;
      }
    }
    timer = setTimeout(scanFrame, FRAME_INTERVAL_MS);
  }

  if (navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function") {
    cameraStart.hidden = false;
    $("scan-start").addEventListener("click", startCamera);
    $("scan-stop").addEventListener("click", stopCamera);
    window.addEventListener("pagehide", stopCamera);
  }

  // --- signing out ----------------------------------------------------------------------

  // The day's list names people and their dates of birth: it leaves the device with the
  // staff member. (A queue stays: it is sent at their next sign-in here.)
  for (const signOut of document.querySelectorAll("form")) {
    if (new URL(signOut.action, location.href).pathname === data.signOutUrl) {
      signOut.addEventListener("submit", () => {
        signingOut = true;
        for (const key of Object.keys(localStorage)) {
          if (key.startsWith("vaxbook.day.")) {
            localStorage.removeItem(key);
          }
        }
      });
    }
  }

  // --- connection changes ---------------------------------------------------------------

  window.addEventListener("offline", () => showOnline(false));
  window.addEventListener("online", () => {
    showOnline(true);
    flushQueue().then(refreshAll);
  });

  renderQueue();
  showOnline(navigator.onLine);
  if (navigator.onLine) {
    flushQueue().then(refreshAll);
  }
}
