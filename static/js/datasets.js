/* The Data page's upload with a progress bar (XMLHttpRequest upload progress; no library but htmx, which
   the page already loads). Without JavaScript the form posts normally. The answer (the folder's listing with
   a message, also for refusals) replaces #data-browser. */
(function () {
  "use strict";

  function formatMb(bytes) { return (bytes / (1024 * 1024)).toFixed(1) + " MB"; }

  function setStatus(form, text, isError) {
    var status = form.querySelector(".upload-status");
    if (status) { status.textContent = text; status.classList.toggle("error", !!isError); }
  }

  function replaceBrowser(html) {
    var target = document.getElementById("data-browser");
    if (!target) { return; }
    target.innerHTML = html;
    if (window.htmx) { window.htmx.process(target); }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.id !== "data-upload" || !window.XMLHttpRequest || !window.FormData) { return; }
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (!file) { return; }  // the browser's own "required" message
    event.preventDefault();
    var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    if (limit && file.size > limit) {
      setStatus(form, file.name + " is " + formatMb(file.size) + ": larger than the upload limit of " +
        form.getAttribute("data-max-mb") + " MB.", true);
      return;
    }
    var box = form.querySelector(".upload-progress");
    var bar = box && box.querySelector("progress");
    var percent = box && box.querySelector(".upload-percent");
    var button = form.querySelector("button[type=submit]");
    if (box) { box.hidden = false; }
    if (button) { button.disabled = true; }
    setStatus(form, "Uploading " + file.name + "…", false);

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    xhr.setRequestHeader("HX-Request", "true");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) { xhr.setRequestHeader("X-CSRFToken", token.value); }
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      var value = Math.round((e.loaded / e.total) * 100);
      if (bar) { bar.value = value; }
      if (percent) { percent.textContent = value + "%"; }
    });
    xhr.addEventListener("load", function () {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (xhr.status >= 200 && xhr.status < 300 && type.indexOf("text/html") === 0) {
        replaceBrowser(xhr.responseText);  // the listing, with the upload's message (also a refusal)
      } else {
        if (button) { button.disabled = false; }
        if (box) { box.hidden = true; }
        var text = type.indexOf("text/plain") === 0 ? xhr.responseText : "";
        setStatus(form, text || ("Upload refused (HTTP " + xhr.status + ")."), true);
      }
    });
    xhr.addEventListener("error", function () {
      if (button) { button.disabled = false; }
      if (box) { box.hidden = true; }
      setStatus(form, "The upload failed (network error or refused by the server).", true);
    });
    xhr.send(new FormData(form));
  });
})();
