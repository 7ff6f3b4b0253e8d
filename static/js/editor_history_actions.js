/* The editor's actions on top of editor.js (window.FlowEditor): undo/redo (buttons, Ctrl+Z, Ctrl+Shift+Z or
   Ctrl+Y), copy/paste/duplicate of nodes (Ctrl+C, Ctrl+V, Ctrl+D, the node form's Duplicate button), fit to view. */
(function () {
  "use strict";
  const E = window.FlowEditor;
  if (!E) return;
  const { state, editor, container } = E;

  function restore(snapshot) {
    state.spec = JSON.parse(snapshot);
    E.drawAll();
    E.markDirty();
    if (state.selected && !E.node(state.selected)) E.selectNode(null);
    else if (state.selected) E.selectNode(state.selected);
  }
  function showHistory(undoCount, redoCount) {
    const u = document.querySelector("[data-action=undo]"), r = document.querySelector("[data-action=redo]");
    if (u) u.disabled = !undoCount;
    if (r) r.disabled = !redoCount;
  }
  const history = window.FlowHistory(E.specJSON(), restore, showHistory);
  E.history = history;
  showHistory(0, 0);
  function undo() { E.announce(history.undo() ? "Undone." : "Nothing to undo.", "ok"); }
  function redo() { E.announce(history.redo() ? "Redone." : "Nothing to redo.", "ok"); }

  function freeId(id) {
    const taken = new Set(state.spec.nodes.map((n) => n.id));
    const base = id.replace(/_\d+$/, "").slice(0, 56) || "node";
    let number = 1;
    while (taken.has(base + "_" + number)) number += 1;
    return base + "_" + number;
  }
  function copySelected() {
    const n = state.selected && E.node(state.selected);
    if (!n) return;
    state.clipboard = JSON.stringify(n);
    E.announce("Copied " + n.id + ". Ctrl+V pastes it.", "ok");
  }
  // A copy gets a free id, sits below-right of the original and keeps its values; bindings to upstream nodes
  // are dropped (the copy has no incoming connection yet).
  function pasteNode(text) {
    const copy = JSON.parse(text), originalId = copy.id;
    const origin = E.node(originalId) || copy;
    copy.id = freeId(originalId);
    const at = origin.position || { x: 0, y: 0 };
    copy.position = { x: Math.max(E.EDGE_GAP, (at.x || 0) + 40), y: Math.max(E.EDGE_GAP, (at.y || 0) + 90) };
    Object.keys(copy.inputs || {}).forEach((k) => { if (copy.inputs[k] && copy.inputs[k].from) delete copy.inputs[k]; });
    if (state.styles[originalId]) state.styles[copy.id] = state.styles[originalId];
    state.spec.nodes.push(copy);
    E.drawNode(copy);
    E.markDirty();
    E.record();
    E.announce("Added " + copy.id + ", a copy of " + originalId + ".", "ok");
    E.selectNode(copy.id);
  }
  function paste() { if (E.canEdit && state.clipboard) pasteNode(state.clipboard); }
  function duplicateSelected() {
    const n = state.selected && E.node(state.selected);
    if (n && E.canEdit) pasteNode(JSON.stringify(n));
  }

  // Zoom and pan so that every node is visible.
  function fitAll() {
    if (!state.spec.nodes.length) return;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    state.spec.nodes.forEach((n) => {
      const el = document.getElementById("node-" + state.flowIdByNode[n.id]);
      const x = (n.position && n.position.x) || 0, y = (n.position && n.position.y) || 0;
      minX = Math.min(minX, x); minY = Math.min(minY, y);
      maxX = Math.max(maxX, x + (el ? el.offsetWidth : 180)); maxY = Math.max(maxY, y + (el ? el.offsetHeight : 60));
    });
    const box = container.getBoundingClientRect(), pad = 30;
    const zoom = Math.max(editor.zoom_min, Math.min(1, (box.width - 2 * pad) / (maxX - minX || 1),
      (box.height - 2 * pad) / (maxY - minY || 1)));
    editor.zoom = zoom;
    editor.zoom_last_value = zoom;
    editor.canvas_x = Math.round(pad - minX * zoom);
    editor.canvas_y = Math.round(pad - minY * zoom);
    editor.precanvas.style.transform = "translate(" + editor.canvas_x + "px, " + editor.canvas_y + "px) scale(" + zoom + ")";
    editor.dispatch("zoom", zoom);
  }

  const actions = { undo, redo, fit: fitAll, "duplicate-node": duplicateSelected, "copy-node": copySelected, paste };
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-action]");
    if (button && actions[button.dataset.action]) { event.preventDefault(); actions[button.dataset.action](); }
  });
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const t = event.target;  // in a text field the browser's own undo, copy and paste apply
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    const key = event.key.toLowerCase();
    const byKey = E.canEdit ? { z: event.shiftKey ? redo : undo, y: redo, c: copySelected, v: paste, d: duplicateSelected } : {};
    if (byKey[key]) { event.preventDefault(); byKey[key](); }
  });
  Object.assign(E, { undo, redo, fitAll, copySelected, paste, duplicateSelected });
})();
