// A token's usage policies on its page: rate limits, credits, allowlist and meta as GET /v1/tokens/{id}
// returns them (credits: what is left now), and their fields in the edit dialog.
//
// Who may loosen (README, "Usage policies"): a limit raised, shortened, removed or no longer shared,
// credits above what is left now or a larger or more frequent refill, an allowlist widened or removed
// take tokens:manage, and never the token itself. The dialog greys out the controls that can only
// loosen when the session may not; anything else it sends, and the API's refusal is shown in words.

import { h, field } from "./console.js";

const DAYS = 86400;

// 60 → "minute", 86400 → "day", 90 → "90 s".
function duration(seconds) {
  const named = { 1: "second", 60: "minute", 3600: "hour", [DAYS]: "day" };
  return named[seconds] || `${seconds} s`;
}

function rateLimitText(limit) {
  const shared = limit.shared === "owner" ? " (shared by the owner's tokens)" : "";
  return `${limit.name}: ${limit.limit} per ${duration(limit.duration_seconds)}${shared}`;
}

function refillText(refill) {
  if (!refill) return "none";
  if (refill.interval === "daily") return `${refill.amount} every day (UTC)`;
  return `${refill.amount} every month from day ${refill.day_of_month || 1} (UTC)`;
}

function list(id, items, empty) {
  if (!items || !items.length) return h("span", { id }, empty);
  return h("ul", { class: "plain", id }, items.map((item) => h("li", {}, item)));
}

// "2030-01-15T12:01:00Z" → "2030-01-15 12:01:00 UTC": a window's end, to the second.
function instant(iso) {
  return iso.replace("T", " ").replace("Z", " UTC");
}

// "minute: 98 of 100 left until 2030-01-15 12:01:00 UTC": one window as GET /v1/tokens/{id}/usage answers it.
function windowText(window) {
  return `${window.name}: ${window.remaining} of ${window.limit} left until ${instant(window.reset_at)}`;
}

// The panel: the token's policies, read-only, and where they stand now (usage: GET /v1/tokens/{id}/usage,
// null when it could not be read). The credits left come with the token itself.
export function policyPanel(token, usage) {
  const credits = token.credits;
  const windows = usage && usage.ratelimits.length ? list("policy-windows", usage.ratelimits.map(windowText)) : null;
  const periodEnds = usage?.credits?.period_ends_at;
  const meta = token.meta && Object.keys(token.meta).length ? JSON.stringify(token.meta, null, 2) : null;
  return h(
    "section",
    { class: "panel", id: "policies", "aria-labelledby": "policies-heading" },
    h("h2", { id: "policies-heading" }, "Usage policies"),
    h(
      "dl",
      { class: "fields" },
      field("Rate limits", list("policy-ratelimits", (token.ratelimits || []).map(rateLimitText), "none")),
      windows ? field("Windows now", windows) : null,
      field("Credits left", h("span", { id: "policy-credits" }, credits ? String(credits.remaining) : "unlimited")),
      credits ? field("Refill", h("span", { id: "policy-refill" }, refillText(credits.refill))) : null,
      periodEnds ? field("Next refill", h("span", { id: "policy-next-refill" }, instant(periodEnds))) : null,
      credits ? field("Low at", credits.low_threshold ?? null) : null,
      field("Allowed from", list("policy-cidrs", token.allowed_cidrs || [], "anywhere")),
      field("Meta", meta ? h("pre", { class: "mono", id: "policy-meta" }, meta) : null),
    ),
  );
}

// --- the edit dialog's policy fields -----------------------------------------------------------------

// "minute 100 60" or "minute 100 60 owner": one rate limit a line.
function rateLimitLine(limit) {
  return [limit.name, limit.limit, limit.duration_seconds, limit.shared === "owner" ? "owner" : ""].join(" ").trim();
}

function parseRateLimits(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name, limit, seconds, shared] = line.split(/\s+/);
      const parsed = { name, limit: Number(limit), duration_seconds: Number(seconds) };
      if (shared) parsed.shared = shared;
      return parsed;
    });
}

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function numberInput(id, value, attributes = {}) {
  return h("input", { type: "number", id, min: "0", step: "1", value: value ?? "", ...attributes });
}

// The dialog's fields for the policies, and the PATCH body they make (only what changed).
// mayLoosen: the session holds tokens:manage and this is not its own token.
export function policyFields(token, mayLoosen) {
  const credits = token.credits;
  const refill = credits?.refill;
  const limitsText = (token.ratelimits || []).map(rateLimitLine).join("\n");
  const cidrsText = (token.allowed_cidrs || []).join("\n");
  const metaText = token.meta && Object.keys(token.meta).length ? JSON.stringify(token.meta) : "";
  // Without tokens:manage no control may exceed what the token has now (a grant, a larger refill).
  const ceiling = (value) => (mayLoosen || value === undefined || value === null ? {} : { max: String(value) });
  const ratelimits = h("textarea", { id: "edit-ratelimits", rows: "3", class: "mono", "aria-describedby": "edit-ratelimits-hint" }, limitsText);
  const remaining = numberInput("edit-credits", credits?.remaining, ceiling(credits?.remaining));
  const refillAmount = numberInput("edit-refill-amount", refill?.amount, ceiling(refill?.amount));
  // A refill where credits had none loosens them, and daily is more often than monthly (from
  // unlimited, any credits tighten).
  const metered = !mayLoosen && Boolean(credits);
  const interval = h(
    "select",
    { id: "edit-refill-interval" },
    h("option", { value: "" }, "no refill"),
    h("option", { value: "daily", selected: refill?.interval === "daily", disabled: metered && refill?.interval !== "daily" }, "daily"),
    h("option", { value: "monthly", selected: refill?.interval === "monthly", disabled: metered && !refill }, "monthly"),
  );
  const lowThreshold = numberInput("edit-low-threshold", credits?.low_threshold);
  const cidrs = h("textarea", { id: "edit-cidrs", rows: "2", class: "mono", "aria-describedby": "edit-cidrs-hint" }, cidrsText);
  const meta = h("textarea", { id: "edit-meta", rows: "2", class: "mono" }, metaText);
  const who = mayLoosen
    ? null
    : h(
        "p",
        { class: "hint", id: "edit-policies-tighten-only" },
        "You may only tighten these: lower limits, longer windows, fewer credits, a narrower allowlist. Loosening takes tokens:manage, and never the token itself (greyed-out controls would loosen).",
      );
  const fields = [
    h(
      "fieldset",
      { id: "edit-policies" },
      h("legend", {}, "Usage policies"),
      who,
      h("label", { for: "edit-ratelimits" }, "Rate limits"),
      ratelimits,
      h("p", { class: "hint", id: "edit-ratelimits-hint" }, "One a line: name, limit, window in seconds, and “owner” to count all the owner's tokens together (minute 100 60)."),
      h("div", { class: "row" }, h("div", {}, h("label", { for: "edit-credits" }, "Credits left"), remaining), h("div", {}, h("label", { for: "edit-low-threshold" }, "Low at"), lowThreshold)),
      h("div", { class: "row" }, h("div", {}, h("label", { for: "edit-refill-amount" }, "Refill amount"), refillAmount), h("div", {}, h("label", { for: "edit-refill-interval" }, "Refill"), interval)),
      h("label", { for: "edit-cidrs" }, "Allowed from (CIDRs)"),
      cidrs,
      h("p", { class: "hint", id: "edit-cidrs-hint" }, "One a line; empty: anywhere."),
      h("label", { for: "edit-meta" }, "Meta (JSON object)"),
      meta,
    ),
  ];

  // The PATCH body's policy part; throws an Error with words when an input cannot be read.
  function body() {
    const changed = {};
    if (ratelimits.value.trim() !== limitsText) changed.ratelimits = parseRateLimits(ratelimits.value);
    if (cidrs.value.trim() !== cidrsText) changed.allowed_cidrs = lines(cidrs.value);
    if (meta.value.trim() !== metaText) {
      try {
        changed.meta = meta.value.trim() ? JSON.parse(meta.value) : {};
      } catch {
        throw new Error("Meta is not JSON: write an object such as {\"plan\": \"pro\"}.");
      }
    }
    const creditInputs = [remaining.value, refillAmount.value, interval.value, lowThreshold.value];
    const creditsBefore = [credits?.remaining ?? "", refill?.amount ?? "", refill?.interval ?? "", credits?.low_threshold ?? ""].map(String);
    if (creditInputs.join("|") !== creditsBefore.join("|")) {
      // No number left: unlimited (credits: null), a loosening the API refuses without tokens:manage.
      if (remaining.value === "") {
        changed.credits = null;
        return changed;
      }
      const next = { remaining: Number(remaining.value) };
      if (interval.value) {
        next.refill = { interval: interval.value, amount: Number(refillAmount.value || 0) };
        if (interval.value === "monthly" && refill?.day_of_month) next.refill.day_of_month = refill.day_of_month;
      }
      if (lowThreshold.value !== "") next.low_threshold = Number(lowThreshold.value);
      changed.credits = next;
    }
    return changed;
  }
  return { fields, body };
}
