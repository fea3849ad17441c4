/* docexchange pages: small progressive enhancements. Everything works without this file. */
"use strict";

// Switchers (role, agency) submit on change; their buttons remain for keyboard and no-script use.
document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
  sel.addEventListener("change", function () { sel.form.submit(); });
});

// Live filter of a checkbox list (recipients): matches agency name or code, case- and accent-insensitive.
function fold(s) {
  return s.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");
}
document.querySelectorAll("input[data-filter]").forEach(function (input) {
  var items = document.querySelectorAll(input.getAttribute("data-filter"));
  input.addEventListener("input", function () {
    var q = fold(input.value.trim());
    items.forEach(function (li) {
      var hit = !q || fold(li.getAttribute("data-search") || li.textContent).indexOf(q) !== -1;
      li.hidden = !hit;
    });
  });
});

// Upload with a progress bar (XMLHttpRequest reports upload progress; fetch does not).
document.querySelectorAll("form[data-upload]").forEach(function (form) {
  var box = form.querySelector("[data-upload-status]");
  var bar = form.querySelector("progress");
  var text = form.querySelector("[data-upload-text]");
  var err = form.querySelector("[data-upload-error]");
  var button = form.querySelector("button[type=submit]");
  var msgProcessing = form.querySelector("[data-msg-processing]").textContent;
  var msgFailed = form.querySelector("[data-msg-failed]").textContent;
  form.addEventListener("submit", function (ev) {
    if (!window.FormData || !form.checkValidity()) { return; }
    ev.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "fetch");
    xhr.setRequestHeader("Accept", "application/json");
    box.hidden = false;
    err.hidden = true;
    button.disabled = true;
    bar.value = 0;
    bar.removeAttribute("data-done");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        var pct = Math.round((e.loaded / e.total) * 100);
        bar.value = pct;
        text.textContent = pct + " %";
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      bar.setAttribute("data-done", "1");
      text.textContent = msgProcessing;
      bar.removeAttribute("value"); // indeterminate while the server converts and checks
    });
    xhr.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status < 400 && body && body.redirect) {
        window.location.assign(body.redirect);
        return;
      }
      button.disabled = false;
      box.hidden = true;
      err.textContent = (body && body.error) || msgFailed;
      err.hidden = false;
      err.focus();
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      box.hidden = true;
      err.textContent = msgFailed;
      err.hidden = false;
    });
    xhr.send(new FormData(form));
  });
});
