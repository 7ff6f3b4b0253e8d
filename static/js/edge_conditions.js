/* FlowUI editor: branch conditions on edges. Clicking a connection opens its condition form in the side panel
   (workflows/views_conditions.py renders it from the source's output schema and checks what is applied); the
   condition lives on the edge in the page's spec (saved with the workflow) and is drawn as a label on the edge.
   Needs window.FlowEditor (static/js/editor.js); the endpoints come from this script tag's data attributes. */
(function () {
  "use strict";

  const script = document.currentScript;
  const fe = window.FlowEditor;
  if (!fe || !script) return;
  const formUrl = script.dataset.formUrl, checkUrl = script.dataset.conditionUrl;
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]")?.value ||
    JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  const SVG = "http://www.w3.org/2000/svg";

  function edgeOf(source, target) {
    return fe.state.spec.edges.find((e) => e.source === source && e.target === target);
  }
  function labelText(when) {
    if (!when) return "";
    if (when.op === "truthy") return when.field;
    const value = Array.isArray(when.value) ? "[" + when.value.map((v) => JSON.stringify(v)).join(", ") + "]" : JSON.stringify(when.value);
    return when.field + " " + when.op + " " + value;
  }
  async function post(url, data) {
    const response = await fetch(url, {
      method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
      headers: { "X-CSRFToken": csrf },
    });
    return response;
  }

  // --- labels on the canvas -------------------------------------------------------------------
  function connectionSvg(edge) {
    const a = fe.state.flowIdByNode[edge.source], b = fe.state.flowIdByNode[edge.target];
    return a && b ? fe.editor.precanvas.querySelector(".connection.node_out_node-" + a + ".node_in_node-" + b) : null;
  }
  function drawLabels() {
    fe.state.spec.edges.forEach((edge) => {
      const svg = connectionSvg(edge);
      if (!svg) return;
      let label = svg.querySelector("text.edge-condition");
      svg.classList.toggle("conditional", !!edge.when);
      if (!edge.when) { if (label) label.remove(); return; }
      const path = svg.querySelector(".main-path");
      if (!path || !path.getAttribute("d")) return;
      if (!label) {
        label = document.createElementNS(SVG, "text");
        label.setAttribute("class", "edge-condition");
        label.setAttribute("text-anchor", "middle");
        svg.appendChild(label);
      }
      const middle = path.getPointAtLength(path.getTotalLength() / 2);
      label.setAttribute("x", middle.x);
      label.setAttribute("y", middle.y - 6);
      label.textContent = labelText(edge.when);  // textContent: a field name is never markup
      label.dataset.source = edge.source;
      label.dataset.target = edge.target;
    });
  }
  let pending = false;
  function scheduleLabels() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; drawLabels(); });
  }
  // Drawflow rewrites a connection's path when a node moves or the graph is redrawn: follow it.
  new MutationObserver(scheduleLabels).observe(fe.editor.precanvas, { subtree: true, childList: true, attributes: true, attributeFilter: ["d"] });

  // --- the form -------------------------------------------------------------------------------
  const panel = document.getElementById("node-panel");
  async function openForm(source, target) {
    if (!edgeOf(source, target)) return;
    const response = await post(formUrl, { spec: fe.specJSON(), source, target });
    if (!response.ok) {
      let message = "The server answered " + response.status + ".";
      try { message = (await response.json()).error || message; } catch (e) { /* keep the status */ }
      panel.textContent = message;
      return;
    }
    panel.innerHTML = await response.text();  // rendered by Django's templates: every value escaped
  }
  async function apply(form, remove) {
    const box = form.querySelector("#edge-errors");
    const holder = form.closest(".edge-form");
    const source = holder.dataset.source, target = holder.dataset.target;
    const data = { spec: fe.specJSON(), source, target, field: form.field.value, op: remove ? "" : form.op.value, value: form.value.value };
    const response = await post(checkUrl, data);
    let payload = {};
    try { payload = await response.json(); } catch (e) { payload = { error: "The server answered " + response.status + "." }; }
    if (!response.ok || !payload.edge) {
      box.hidden = false;
      box.innerHTML = "";
      const item = document.createElement("li");
      item.textContent = payload.error || "The condition was not accepted.";
      box.appendChild(item);
      return;
    }
    const edge = edgeOf(source, target);
    if (!edge) return;
    if (payload.edge.when) edge.when = payload.edge.when; else delete edge.when;
    box.hidden = true;
    if (remove) form.op.value = "";
    fe.markDirty();
    drawLabels();
  }
  panel.addEventListener("submit", (event) => {
    if (event.target.id !== "edge-condition-form") return;
    event.preventDefault();
    apply(event.target, false);
  });
  panel.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-edge-action=remove]");
    if (button) apply(button.form, true);
  });

  fe.editor.on("connectionSelected", (c) => {
    openForm(fe.state.nodeByFlowId[c.output_id], fe.state.nodeByFlowId[c.input_id]);
  });
  drawLabels();
  window.FlowEdgeConditions = { drawLabels, openForm };
})();
