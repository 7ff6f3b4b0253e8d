/* The editor's deploy and run controls (on top of editor.js's window.FlowEditor): the "saved vX, live vY"
   state, Deploy, Deploy and run (save if needed, deploy, wait until Airflow runs the new version, then run),
   and Run now (one click when the live version has no required run parameter; the params page otherwise). */
(function () {
  "use strict";
  const E = window.FlowEditor;
  const box = document.getElementById("editor-deploy");
  if (!E || !box) return;
  const { state, urls } = E;
  const WAIT_LIVE_MS = 180000;

  function badge() {
    const el = document.querySelector("#deploy-badge [data-state]");
    return el ? { state: el.dataset.state, version: parseInt(el.dataset.version || "", 10) || null } : { state: "", version: null };
  }
  function liveVersion() { const b = badge(); return b.state === "live" ? b.version : null; }
  function showVersions() {
    const saved = state.baseVersion, live = liveVersion();
    const text = document.getElementById("version-state");
    let line = saved ? "Saved v" + saved : "Not saved yet";
    line += live ? " · live v" + live : " · not live";
    if (live && saved && live !== saved) line += " (Run now runs v" + live + ": deploy to run v" + saved + ")";
    if (state.dirty) line = "Unsaved changes · " + line;
    text.textContent = line;
    text.classList.toggle("stale", !!(state.dirty || (saved && live !== saved)));
    const run = document.getElementById("editor-run-now");
    if (run) run.title = live ? "Runs the live version v" + live : "Deploy first: nothing is live";
  }
  setInterval(showVersions, 1000);
  document.body.addEventListener("flowui:saved", showVersions);
  showVersions();

  async function deploy() {
    if (state.dirty) {
      await E.save();
      if (state.dirty) return false;  // the save failed: its message is shown
    }
    if (!state.baseVersion) { E.announce("Add nodes and save before deploying.", "warn"); return false; }
    E.announce("Deploying version " + state.baseVersion + "…");
    const response = await fetch(urls.deploy, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": E.csrf, "HX-Request": "true" },
      body: new URLSearchParams({ next: location.pathname }),
    });
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const fresh = holder.querySelector("#deploy-badge");
    const old = document.getElementById("deploy-badge");
    if (fresh && old) { old.replaceWith(fresh); htmx.process(fresh); }
    const error = fresh && fresh.querySelector(".error");
    if (!response.ok || error) { E.announce(error ? error.textContent : "Deploy failed.", "error"); return false; }
    E.announce("Deploying version " + state.baseVersion + ": waiting for Airflow…", "ok");
    return true;
  }
  function waitLive(version) {
    const started = Date.now();
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const b = badge();
        if ((b.state === "live" && b.version === version) || b.state === "failed" || Date.now() - started > WAIT_LIVE_MS) {
          clearInterval(timer);
          resolve(b.state === "live" && b.version === version);
        }
      }, 500);
    });
  }
  // Start a run with every param at its default (workflow_run reads the form); a param without a default
  // needs the params page.
  function run(params) {
    if ((params || []).some((p) => p.default === null || p.default === undefined)) { location.href = urls.run; return; }
    const form = document.createElement("form");
    form.method = "post";
    form.action = urls.run;
    const add = (name, value) => {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = value;
      form.appendChild(input);
    };
    add("csrfmiddlewaretoken", E.csrf);
    (params || []).forEach((p) => {
      if (p.type === "boolean") { if (p.default === true) add("param_" + p.name, "true"); } else add("param_" + p.name, String(p.default));
    });
    document.body.appendChild(form);
    form.submit();
  }
  async function deployAndRun() {
    if (!(await deploy())) return;
    const version = state.baseVersion;
    if (await waitLive(version)) { E.announce("Version " + version + " is live: starting a run…", "ok"); run(state.spec.params); }
    else E.announce("Version " + version + " did not go live; see the deploy status.", "error");
  }
  const actions = { deploy, "deploy-run": deployAndRun };
  box.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (!button || !actions[button.dataset.action]) return;
    event.preventDefault();
    box.querySelectorAll("button").forEach((b) => { b.disabled = true; });  // no double deploys from a double click
    actions[button.dataset.action]().finally(() => box.querySelectorAll("button").forEach((b) => { b.disabled = false; }));
  });
  Object.assign(E, { deploy, deployAndRun, runWithDefaults: run });
})();
