/* FlowUI editor: undo/redo over the session's edits, as snapshots of the working spec (JSON text).
   editor.js calls record() after each edit (add, delete, move, connect, disconnect, form apply, layout, paste);
   undo()/redo() hand a snapshot back to restore(). Bounded to LIMIT steps; no build step. */
(function () {
  "use strict";
  const LIMIT = 200;
  window.FlowHistory = function (initial, restore, onChange) {
    let current = initial;
    const undoStack = [], redoStack = [];
    const changed = () => onChange && onChange(undoStack.length, redoStack.length);
    return {
      record(snapshot) {
        if (snapshot === current) return;
        undoStack.push(current);
        if (undoStack.length > LIMIT) undoStack.shift();
        redoStack.length = 0;
        current = snapshot;
        changed();
      },
      reset(snapshot) { current = snapshot; changed(); },
      undo() {
        if (!undoStack.length) return false;
        redoStack.push(current);
        current = undoStack.pop();
        restore(current);
        changed();
        return true;
      },
      redo() {
        if (!redoStack.length) return false;
        undoStack.push(current);
        current = redoStack.pop();
        restore(current);
        changed();
        return true;
      },
      sizes() { return [undoStack.length, redoStack.length]; },
    };
  };
})();
