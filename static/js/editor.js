/* FlowUI workflow editor: the canvas (Drawflow), the working spec kept in the page, and the calls to the
   server's O(1) action endpoints (add node, node form, connect, save). Undo/redo (editor_history.js) over every
   edit; copy/paste/duplicate; fit to view. Deploy and run: editor_deploy.js. No build step. */
(function () {
  "use strict";

  const root = document.getElementById("editor");
  if (!root) return;
  const canEdit = root.dataset.canEdit === "true";
  const urls = JSON.parse(document.getElementById("editor-urls").textContent);
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]")?.value ||
    JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  const state = {
    spec: JSON.parse(document.getElementById("workflow-spec").textContent),
    baseVersion: JSON.parse(document.getElementById("base-version").textContent),
    errors: JSON.parse(document.getElementById("spec-errors").textContent) || { nodes: {}, workflow: [] },
    styles: {},          // node id -> {colour, icon, label}
    flowIdByNode: {},    // our node id -> Drawflow's numeric id
    nodeByFlowId: {},
    selected: null,
    dirty: false,
    loading: false,
  };
  state.spec.nodes = state.spec.nodes || [];
  state.spec.edges = state.spec.edges || [];

  const container = document.getElementById("canvas");
  const editor = new Drawflow(container);
  editor.reroute = false;
  editor.editor_mode = canEdit ? "edit" : "fixed";
  editor.zoom_min = 0.2;
  editor.start();
  editor.precanvas.style.transformOrigin = "0 0";  // zoom about the top-left corner, so fitView's maths hold

  // --- helpers ------------------------------------------------------------------------------
  function specJSON() { return JSON.stringify(state.spec); }
  function node(id) { return state.spec.nodes.find((n) => n.id === id); }
  // Every edit ends with record(): one undo step per user action (a node delete also removes its edges in
  // several Drawflow events: they are gathered into one step).
  let recordPending = false;
  function record() {
    if (recordPending) return;
    recordPending = true;
    queueMicrotask(() => { recordPending = false; if (window.FlowEditor.history) window.FlowEditor.history.record(specJSON()); });
  }
  function markDirty(flag = true) {
    state.dirty = flag;
    root.classList.toggle("dirty", flag);
    const status = document.getElementById("dirty-status");
    if (status) status.textContent = flag ? "Unsaved changes" : "All changes saved";
  }
  function announce(text, kind) {
    const box = document.getElementById("editor-status");
    box.textContent = text;
    box.className = "editor-status " + (kind || "");
  }
  async function post(url, data) {
    const body = new URLSearchParams(data);
    const response = await fetch(url, {
      method: "POST", body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
    });
    let payload = {};
    try { payload = await response.json(); } catch (e) { payload = { error: "The server answered " + response.status + "." }; }
    if (!response.ok && !payload.error) payload.error = "The server answered " + response.status + ".";
    return payload;
  }
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function iconHtml(n, style) {
    if (style.icon_id && /^[a-z0-9-]+$/.test(style.icon_id)) {
      return '<svg viewBox="0 0 24 24"><use href="' + escapeHtml(urls.icons) + "#" + style.icon_id + '"></use></svg>';
    }
    return escapeHtml((style.label || n.operator.name || "?").slice(0, 1));
  }
  // A node's title: its label, else the operator's display name (never the id: that is shown below it).
  function titleOf(n) { return n.label || (state.styles[n.id] || {}).label || n.operator.name; }
  function nodeHtml(n, style) {
    const colour = /^#[0-9a-fA-F]{6}$/.test(style.colour || "") ? style.colour : "#4a6fa5";
    return '<div class="fnode" style="--node-colour:' + colour + '">' +
      '<div class="fnode-head"><span class="fnode-icon" aria-hidden="true">' + iconHtml(n, style) + "</span>" +
      '<span class="fnode-label" title="' + escapeHtml(titleOf(n)) + '">' + escapeHtml(titleOf(n)) + "</span></div>" +
      '<div class="fnode-meta"><span class="fnode-id">' + escapeHtml(n.id) + '</span></div><span class="fnode-state"></span></div>';
  }

  // --- drawing ------------------------------------------------------------------------------
  function drawNode(n) {
    const style = state.styles[n.id] || {};
    const flowId = editor.addNode(n.operator.name, 1, 1, n.position?.x || 0, n.position?.y || 0,
      "flow-node", { id: n.id }, nodeHtml(n, style));
    state.flowIdByNode[n.id] = flowId;
    state.nodeByFlowId[flowId] = n.id;
    const el = document.getElementById("node-" + flowId);
    el.dataset.nodeId = n.id;
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", "Node " + titleOf(n) + " (" + n.id + ")");
    return flowId;
  }
  function drawAll() {
    state.loading = true;
    editor.clear();
    state.flowIdByNode = {};
    state.nodeByFlowId = {};
    state.spec.nodes.forEach(drawNode);
    state.spec.edges.forEach((e) => {
      const a = state.flowIdByNode[e.source], b = state.flowIdByNode[e.target];
      if (a && b) editor.addConnection(a, b, "output_1", "input_1");
    });
    state.loading = false;
    highlightErrors();
  }
  function highlightErrors() {
    const bad = (state.errors && state.errors.nodes) || {};
    document.querySelectorAll(".drawflow-node").forEach((el) => {
      const id = el.dataset.nodeId;
      const invalid = !!(id && bad[id] && Object.keys(bad[id]).length);
      el.classList.toggle("invalid", invalid);
      el.setAttribute("aria-invalid", invalid ? "true" : "false");
    });
    const list = document.getElementById("workflow-errors");
    if (list) {
      const items = (state.errors.workflow || []).map((m) => "<li>" + escapeHtml(m) + "</li>");
      Object.entries(bad).forEach(([id, fields]) => Object.entries(fields).forEach(([f, msgs]) =>
        msgs.forEach((m) => items.push('<li><a href="#" data-select="' + escapeHtml(id) + '">' + escapeHtml(id) + "</a> " +
          escapeHtml(f) + ": " + escapeHtml(m) + "</li>"))));
      list.innerHTML = items.join("");
      list.hidden = items.length === 0;
    }
  }

  // --- selection and the node form --------------------------------------------------------------
  function selectNode(id) {
    state.selected = id;
    const panel = document.getElementById("node-panel");
    if (!id) { panel.innerHTML = '<p class="help">Select a node to edit its inputs.</p>'; return; }
    htmx.ajax("POST", urls.node_form, {
      target: "#node-panel", swap: "innerHTML",
      values: { spec: specJSON(), node_id: id, errors: JSON.stringify((state.errors.nodes || {})[id] || {}) },
    });
  }
  editor.on("nodeSelected", (flowId) => selectNode(state.nodeByFlowId[flowId]));
  if (!canEdit) {
    // Drawflow selects no node in "fixed" mode; a viewer still opens node forms (read-only) by clicking.
    container.addEventListener("click", (event) => {
      const el = event.target.closest && event.target.closest(".drawflow-node");
      if (el) selectNode(el.dataset.nodeId);
    }, true);
  }
  editor.on("nodeUnselected", () => { /* keep the panel: the user may be typing in it */ });

  // The node form posts to the server, which answers with the form (errors inline) and the inputs.
  document.body.addEventListener("flowui:inputs", (event) => {
    const d = event.detail;
    const n = node(d.node_id);
    if (!n) return;
    n.inputs = d.inputs;
    if (d.label !== undefined) n.label = d.label;
    ["execution_mode", "retries", "timeout_s"].forEach((k) => { if (d[k] !== undefined) n[k] = d[k]; });
    const nodeErrors = state.errors.nodes || (state.errors.nodes = {});
    if (d.errors && Object.keys(d.errors).length) nodeErrors[d.node_id] = d.errors; else delete nodeErrors[d.node_id];
    const el = document.getElementById("node-" + state.flowIdByNode[d.node_id]);
    if (el) { const label = el.querySelector(".fnode-label"); label.textContent = label.title = titleOf(n); }
    highlightErrors();
    markDirty();
    record();
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-select]");
    if (!link) return;
    event.preventDefault();
    const flowId = state.flowIdByNode[link.dataset.select];
    if (flowId) document.getElementById("node-" + flowId).scrollIntoView({ block: "center", inline: "center" });
    selectNode(link.dataset.select);
  });

  // The node form's list buttons (Add item / Remove) post the form with what they ask for.
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#node-form [data-form-action]");
    if (!button) return;
    event.preventDefault();
    const form = button.closest("form");
    form.querySelector("[name=_form_action]").value = button.dataset.formAction;
    htmx.trigger(form, "submit");
  });

  // --- adding nodes ---------------------------------------------------------------------------
  // Adds run one after another: each asks the server for a free id given the nodes already there.
  let addQueue = Promise.resolve();
  function addNode(operatorId, x, y) {
    addQueue = addQueue.then(() => addNodeNow(operatorId, x, y)).catch((e) => announce(String(e), "error"));
    return addQueue;
  }
  async function addNodeNow(operatorId, x, y) {
    const payload = await post(urls.add_node, { operator: operatorId, x: Math.round(x), y: Math.round(y), spec_ids: state.spec.nodes.map((n) => n.id).join(",") });
    if (payload.error) { announce(payload.error, "error"); return; }
    state.spec.nodes.push(payload.node);
    state.styles[payload.node.id] = payload.style || {};
    drawNode(payload.node);
    markDirty();
    record();
    announce("Added " + (payload.node.label || payload.node.id) + ".", "ok");
    selectNode(payload.node.id);
  }
  const EDGE_GAP = 24;  // a node never sits at the canvas' edge, where its input handle would be hidden
  function canvasPoint(clientX, clientY) {
    const rect = editor.precanvas.getBoundingClientRect();
    return { x: (clientX - rect.x) / editor.zoom, y: (clientY - rect.y) / editor.zoom };
  }
  if (canEdit) {
    document.querySelectorAll(".palette-item[draggable]").forEach((item) => {
      item.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("text/plain", item.dataset.operator);
        event.dataTransfer.effectAllowed = "copy";
      });
    });
    container.addEventListener("dragover", (event) => { event.preventDefault(); event.dataTransfer.dropEffect = "copy"; });
    container.addEventListener("drop", (event) => {
      event.preventDefault();
      const operatorId = event.dataTransfer.getData("text/plain");
      if (!operatorId) return;
      const p = canvasPoint(event.clientX, event.clientY);
      addNode(operatorId, Math.max(EDGE_GAP, p.x - 80), Math.max(EDGE_GAP, p.y - 25));
    });
    // Keyboard and touch: the palette's "Add" buttons place the node below the others.
    document.querySelectorAll(".palette-add").forEach((button) => {
      button.addEventListener("click", () => {
        const maxY = state.spec.nodes.reduce((m, n) => Math.max(m, (n.position && n.position.y) || 0), -120);
        addNode(button.dataset.operator, 60, maxY + 120);
      });
    });
  }

  // --- moving, connecting, deleting -----------------------------------------------------------
  editor.on("nodeMoved", (flowId) => {
    const n = node(state.nodeByFlowId[flowId]);
    const data = editor.getNodeFromId(flowId);
    if (n && data) { n.position = { x: Math.round(data.pos_x), y: Math.round(data.pos_y) }; markDirty(); record(); }
  });
  editor.on("connectionCreated", async (c) => {
    if (state.loading) return;
    const source = state.nodeByFlowId[c.output_id], target = state.nodeByFlowId[c.input_id];
    const payload = await post(urls.connect, { spec: specJSON(), source, target });
    if (payload.error) {
      state.loading = true;
      editor.removeSingleConnection(c.output_id, c.input_id, c.output_class, c.input_class);
      state.loading = false;
      announce(payload.error, "error");
      return;
    }
    if (!node(source) || !node(target)) return;  // a node was deleted (or undone) while the server answered
    state.spec.edges.push({ source, target });
    markDirty();
    record();
    announce("Connected " + source + " → " + target + ".", "ok");
    if (state.selected === target) selectNode(target);  // new upstream fields to offer
  });
  editor.on("connectionRemoved", (c) => {
    if (state.loading) return;
    const source = state.nodeByFlowId[c.output_id], target = state.nodeByFlowId[c.input_id];
    state.spec.edges = state.spec.edges.filter((e) => !(e.source === source && e.target === target));
    markDirty();
    record();
  });
  editor.on("nodeRemoved", (flowId) => {
    const id = state.nodeByFlowId[flowId];
    if (!id) return;
    state.spec.nodes = state.spec.nodes.filter((n) => n.id !== id);
    state.spec.edges = state.spec.edges.filter((e) => e.source !== id && e.target !== id);
    // Bindings to the removed node would point nowhere: drop them (the user sees the field go back to a value).
    state.spec.nodes.forEach((n) => Object.keys(n.inputs || {}).forEach((k) => {
      if (n.inputs[k] && n.inputs[k].from === id) delete n.inputs[k];
    }));
    delete state.nodeByFlowId[flowId];
    delete state.flowIdByNode[id];
    if (state.errors.nodes) delete state.errors.nodes[id];
    if (state.selected === id) selectNode(null);
    markDirty();
    record();
    announce("Removed " + id + ". Ctrl+Z brings it back.", "ok");
  });
  function deleteSelected() {
    if (!state.selected || !canEdit) return;
    editor.removeNodeId("node-" + state.flowIdByNode[state.selected]);
  }
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-action=delete-node]")) deleteSelected();
  });
  container.addEventListener("keydown", (event) => {
    const el = event.target.closest && event.target.closest(".drawflow-node");
    if (!el) return;
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); selectNode(el.dataset.nodeId); }
  });

  // --- layout, zoom -------------------------------------------------------------------------
  // Zoom and pan so a graph of this size (in canvas units, from the origin) fits the visible canvas.
  function fitView(width, height) {
    const box = container.getBoundingClientRect();
    const zoom = Math.max(editor.zoom_min, Math.min(1, (box.width - 20) / (width || 1), (box.height - 20) / (height || 1)));
    editor.zoom = zoom;
    editor.zoom_last_value = zoom;
    editor.canvas_x = 0;
    editor.canvas_y = 0;
    editor.precanvas.style.transform = "translate(0px, 0px) scale(" + zoom + ")";
    editor.dispatch("zoom", zoom);
  }
  function autoLayout() {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 90, marginx: 30, marginy: 30 });
    g.setDefaultEdgeLabel(() => ({}));
    state.spec.nodes.forEach((n) => {
      const el = document.getElementById("node-" + state.flowIdByNode[n.id]);
      g.setNode(n.id, { width: el ? el.offsetWidth : 180, height: el ? el.offsetHeight : 60 });
    });
    state.spec.edges.forEach((e) => g.setEdge(e.source, e.target));
    dagre.layout(g);
    const data = editor.drawflow.drawflow[editor.module].data;
    state.spec.nodes.forEach((n) => {
      const p = g.node(n.id);
      const flowId = state.flowIdByNode[n.id];
      const x = Math.round(p.x - p.width / 2), y = Math.round(p.y - p.height / 2);
      n.position = { x, y };
      data[flowId].pos_x = x;
      data[flowId].pos_y = y;
      const el = document.getElementById("node-" + flowId);
      el.style.left = x + "px";
      el.style.top = y + "px";
    });
    state.spec.nodes.forEach((n) => editor.updateConnectionNodes("node-" + state.flowIdByNode[n.id]));
    fitView(g.graph().width, g.graph().height);
    markDirty();
    record();
    announce("Laid out " + state.spec.nodes.length + " nodes.", "ok");
  }
  document.querySelectorAll("[data-action]").forEach((button) => {
    const action = button.dataset.action;
    const handlers = {
      "zoom-in": () => editor.zoom_in(), "zoom-out": () => editor.zoom_out(), "zoom-reset": () => editor.zoom_reset(),
      "layout": autoLayout, "save": save,
    };
    if (handlers[action]) button.addEventListener("click", handlers[action]);
  });

  // --- saving -------------------------------------------------------------------------------
  async function save() {
    const message = document.getElementById("save-message");
    announce("Saving…");
    const payload = await post(urls.save, { spec: specJSON(), base_version: state.baseVersion ?? "", message: message ? message.value : "" });
    if (payload.conflict) {
      announce(payload.error, "error");
      document.getElementById("conflict").hidden = false;
      return false;
    }
    if (payload.error && !payload.version) { announce(payload.error, "error"); if (payload.errors) { state.errors = payload.errors; highlightErrors(); } return false; }
    state.baseVersion = payload.version;
    markDirty(false);
    if (message) message.value = "";
    document.querySelectorAll("[data-version]").forEach((el) => { el.textContent = payload.version; });
    announce("Saved version " + payload.version + ". Checking…", "ok");
    document.body.dispatchEvent(new CustomEvent("flowui:saved", { detail: payload }));
    const checked = await post(urls.validate, { spec: specJSON() });
    state.errors = checked.errors || { nodes: {}, workflow: [] };
    highlightErrors();
    const problems = Object.keys(state.errors.nodes || {}).length + (state.errors.workflow || []).length;
    announce("Saved version " + payload.version + "." + (problems ? " Fix the highlighted problems before deploying." : " Ready to deploy."), problems ? "warn" : "ok");
    if (state.selected) selectNode(state.selected);
    return problems === 0;
  }
  // Deploy and Run act on saved versions: ask for a save first rather than deploy something older.
  document.addEventListener("htmx:confirm", (event) => {
    if (state.dirty && event.target.closest && event.target.closest("form[action$='/deploy/']")) {
      event.preventDefault();
      announce("Save your changes before deploying: Deploy uses the last saved version.", "warn");
    }
  });
  window.addEventListener("beforeunload", (event) => { if (state.dirty) { event.preventDefault(); event.returnValue = ""; } });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s" && canEdit) { event.preventDefault(); save(); }
  });

  // Palette search: filter by name, label or repository.
  const search = document.getElementById("palette-search");
  if (search) search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    document.querySelectorAll(".palette-item").forEach((item) => { item.hidden = !!q && !item.dataset.search.includes(q); });
    document.querySelectorAll(".palette-group").forEach((group) => {
      group.hidden = !group.querySelector(".palette-item:not([hidden])");
    });
  });

  state.styles = JSON.parse(document.getElementById("node-styles").textContent) || {};
  drawAll();
  if (state.spec.nodes.length && state.spec.nodes.every((n) => !n.position || (!n.position.x && !n.position.y))) autoLayout();
  markDirty(false);
  window.FlowEditor = {
    state, editor, container, canEdit, urls, csrf, EDGE_GAP,
    specJSON, save, autoLayout, selectNode, drawAll, drawNode, markDirty, record, announce, post, node,
  };
})();
