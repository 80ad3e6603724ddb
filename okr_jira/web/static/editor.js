// The mapping editor's live preview: after each change (debounced), POST the form's source to
// the API's preview endpoint with the page's CSRF token and show which issues it selects and how
// progress would move. Without JavaScript the Preview button does the same on the server.
(function () {
  "use strict";
  var form = document.getElementById("mapping-form");
  if (!form) return;
  var url = form.getAttribute("data-preview");
  var body = document.getElementById("preview-body");
  var jqlError = document.getElementById("source-jql-error");
  var lists = ["projects", "epics", "issues", "labels", "components", "issue_types",
               "fix_versions", "include", "exclude"];
  var timer = null, seq = 0;

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }
  function pct(v) { return Math.round(v * 100) + " %"; }
  function source() {
    var out = {};
    lists.forEach(function (name) {
      var items = form.elements[name].value.split(/[,\n]/).map(function (s) { return s.trim(); })
        .filter(function (s) { return s.length > 0; });
      if (items.length) out[name] = items;
    });
    var jql = form.elements["jql"].value.trim();
    if (jql) out.jql = jql;
    return out;
  }
  function show(data) {
    body.replaceChildren();
    var p = document.createElement("p");
    p.append("Selects ", text("strong", String(data.issues.length)), " issues (" + data.answered_by +
      " answered). Progress ", text("strong", pct(data.progress_now)), " now → ");
    var after = text("strong", pct(data.progress_after));
    after.id = "preview-after";
    p.append(after, " after saving.");
    p.firstElementChild.id = "preview-count";
    var jql = document.createElement("p");
    jql.append(text("code", data.jql, "jql"));
    body.append(p, jql);
    (data.warnings || []).forEach(function (w) { body.append(text("p", w, "warning")); });
    if (data.added.length) body.append(text("p", "Joining: " + data.added.join(", ")));
    if (data.removed.length) body.append(text("p", "Leaving: " + data.removed.join(", ")));
    var ul = document.createElement("ul");
    ul.className = "issues";
    data.details.forEach(function (i) {
      var li = text("li", i.key + " " + i.summary + " ");
      li.append(text("span", i.status, "cat " + i.status_category));
      ul.append(li);
    });
    body.append(ul);
  }
  function problems(data) {
    body.replaceChildren(text("p", "This mapping cannot be previewed:", "error"));
    var ul = document.createElement("ul");
    (data.problems && data.problems.length ? data.problems : [{field: "", message: data.message}])
      .forEach(function (pr) {
        ul.append(text("li", (pr.field ? pr.field + ": " : "") + pr.message));
        if (pr.field === "source.jql" || pr.field === "jql") jqlError.textContent = pr.message;
      });
    body.append(ul);
  }
  function run() {
    var mine = ++seq;
    jqlError.textContent = "";
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json",
                "X-CSRFToken": form.elements["csrf_token"].value},
      body: JSON.stringify({source: source()})
    }).then(function (r) { return r.json().then(function (d) { return [r.status, d]; }); })
      .then(function (res) {
        if (mine !== seq) return;  // a newer edit is on its way
        if (res[0] === 200) show(res[1]); else problems(res[1]);
      })
      .catch(function () { if (mine === seq) body.replaceChildren(text("p", "Preview unavailable.", "error")); });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 400);
  });
})();
