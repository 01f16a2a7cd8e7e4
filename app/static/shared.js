// Shared by every page: the admin token kept per browser, calls to the gateway's API with
// errors shown in words, toasts, and small formatting helpers. No build step.
"use strict";

const Gateway = (() => {
  const TOKEN_KEY = "authToken";
  const EXPIRY_KEY = "authTokenExpiry";
  const DAY_MS = 24 * 60 * 60 * 1000;

  // SPEC §13: the token is kept for 24 hours; an expired one is forgotten on load.
  function storedToken() {
    const expiry = Number(localStorage.getItem(EXPIRY_KEY) || 0);
    if (!expiry || Date.now() > expiry) {
      localStorage.removeItem(TOKEN_KEY);
      localStorage.removeItem(EXPIRY_KEY);
      return "";
    }
    return localStorage.getItem(TOKEN_KEY) || "";
  }

  function rememberToken(value) {
    if (value) {
      localStorage.setItem(TOKEN_KEY, value);
      localStorage.setItem(EXPIRY_KEY, String(Date.now() + DAY_MS));
    } else {
      localStorage.removeItem(TOKEN_KEY);
      localStorage.removeItem(EXPIRY_KEY);
    }
  }

  function tokenField() {
    return document.getElementById("auth-token");
  }

  function adminToken() {
    return tokenField().value.trim();
  }

  function toast(message, kind = "info") {
    const box = document.createElement("div");
    box.className = `toast toast-${kind}`;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = message;
    document.getElementById("toasts").appendChild(box);
    setTimeout(() => box.remove(), kind === "error" ? 6000 : 3000);
  }

  // Routes under ROUTE_PREFIX (/v1/models) must carry it (D12).
  function prefixed(path) {
    return (document.body.dataset.prefix || "") + path;
  }

  // The message an API error carries, in whichever shape the route uses.
  function errorText(body) {
    if (!body || typeof body !== "object") return "";
    if (typeof body.error === "object" && body.error) return body.error.message || body.error.code || "";
    return [body.error, body.message].filter((part) => typeof part === "string").join(": ");
  }

  // POST (by default) with the admin token; resolves to the JSON body, rejects with words.
  async function call(path, { method = "POST", body, auth = true, token } = {}) {
    const headers = {};
    if (auth) {
      const bearer = token ?? adminToken();
      if (!bearer) throw new Error("please enter AUTH_TOKEN");
      headers.Authorization = `Bearer ${bearer}`;
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new Error(`request failed: the gateway cannot be reached (${error.message})`);
    }
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const detail = errorText(parsed) || (response.status === 401 ? "the admin token is not accepted" : text.slice(0, 200));
      throw new Error(`request failed: HTTP error! status: ${response.status}${detail ? ` (${detail})` : ""}`);
    }
    return parsed;
  }

  // Run an action with a busy button and a toast for the outcome; never swallow an error.
  async function act(button, action, success) {
    if (button) button.disabled = true;
    try {
      const result = await action();
      if (success) toast(typeof success === "function" ? success(result) : success, "success");
      return result;
    } catch (error) {
      toast(error.message, "error");
      return undefined;
    } finally {
      if (button) button.disabled = false;
    }
  }

  function escape(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function shortToken(token) {
    return token && token.length > 24 ? `${token.slice(0, 12)}…${token.slice(-8)}` : token || "";
  }

  const MEMBERSHIP = { free_trial: "Pro Trial", pro: "Pro", free: "Free", enterprise: "Business" };

  // A usage bar: requests / max, or ∞ when unlimited.
  function usageBar(bucket) {
    if (!bucket) return '<span class="muted">—</span>';
    const max = bucket.max_requests;
    if (max === undefined || max === null) return `<span class="usage">${bucket.requests} / ∞</span>`;
    const percent = Math.min(100, Math.round((bucket.requests / Math.max(max, 1)) * 100));
    const level = percent >= 100 ? "full" : percent >= 80 ? "high" : "ok";
    return `<span class="usage"><span class="bar bar-${level}"><span style="width:${percent}%"></span></span>${bucket.requests} / ${max}</span>`;
  }

  async function copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
      toast(`${what} copied`, "success");
    } catch {
      toast(`could not copy ${what}: the browser refused clipboard access`, "error");
    }
  }

  function openModal(id) {
    document.getElementById(id).showModal();
  }

  function init() {
    const field = tokenField();
    field.value = storedToken();
    field.addEventListener("input", () => rememberToken(field.value.trim()));
    document.getElementById("forget-token").addEventListener("click", () => {
      field.value = "";
      rememberToken("");
      toast("admin token forgotten in this browser", "success");
    });
    for (const closer of document.querySelectorAll("[data-close]")) {
      closer.addEventListener("click", () => closer.closest("dialog").close());
    }
  }

  document.addEventListener("DOMContentLoaded", init);
  return { adminToken, call, act, toast, prefixed, escape, shortToken, usageBar, copy, openModal, MEMBERSHIP };
})();
