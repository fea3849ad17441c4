/* Auditor's verification form: drop a PDF on the zone to fill the normal file input (which stays usable with
   the keyboard and without this script). */
"use strict";
document.querySelectorAll("form[data-dropzone]").forEach(function (form) {
  var zone = form.querySelector("[data-drop-target]");
  var input = form.querySelector("input[type=file]");
  var name = form.querySelector("[data-drop-name]");
  function show() { name.textContent = input.files.length ? input.files[0].name : ""; }
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach(function (t) {
    zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    zone.addEventListener(t, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (ev) {
    ev.preventDefault();
    if (ev.dataTransfer && ev.dataTransfer.files.length) {
      input.files = ev.dataTransfer.files;
      show();
    }
  });
});
